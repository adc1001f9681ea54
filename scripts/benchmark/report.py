"""The report: the machine it ran on, and the table printed at the end of a run."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

from benchmark.arms import HANDLERS, LIBRARIES, SECRETS
from benchmark.caller_profile import PROFILE_ARMS


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mem0ai": importlib.metadata.version("mem0ai"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def table(report: dict[str, Any]) -> str:
    lines = []
    if "cold" in report:
        cold = report["cold"]
        lines.append(
            f"Cold start + first request, fresh process each ({cold['naive']['samples']} interleaved rounds, medians)"
        )
        names = (
            "naive",
            *HANDLERS,
            *(n for n in cold if n.endswith(SECRETS)),
            *(n for n in cold if "@" in n),
            *(n for n in cold if n.startswith(LIBRARIES)),
        )
        width = max(map(len, names)) + 2
        lines.append(
            f"  {'arm':<{width}}{'wall ms':>8}{'IQR':>6}{'wall/naive':>11}{'in-proc ms':>12}{'in-proc/naive':>14}"
            f"{'wall/libraries':>15}  Mem0 requests"
        )
        for name in names:
            arm = cold[name]
            made = ", ".join(f"{k} x{v}" for k, v in arm["mem0_requests"].items()) or "-"
            over = f"{arm['ratio_libraries']:.3f}" if "ratio_libraries" in arm else "-"
            lines.append(
                f"  {name:<{width}}{arm['wall_ms']:>8.0f}{arm['wall_iqr_ms']:>6.0f}{arm['ratio_wall']:>11.3f}"
                f"{arm['in_process_ms']:>12.0f}{arm['ratio_in_process']:>14.3f}{over:>15}  {made}"
            )
        against = [(n, cold[n]) for n in HANDLERS if "ratio_baseline" in cold[n]]
        if against:
            rev = report["config"]["baseline"]
            lines.append(
                f"  against {rev}: "
                + "; ".join(f"{n} {a['over_baseline_ms']:+.1f} ms ({a['ratio_baseline']:.3f} x)" for n, a in against)
            )
        stored = [(n, cold[n]) for n in cold if n.endswith(SECRETS) and "over_env_ms" in cold[n]]
        if stored:
            lines.append(
                "  keys from Secrets Manager instead of the environment: "
                + "; ".join(f"{n} {a['over_env_ms']:+.1f} ms ({a['ratio_env']:.3f} x)" for n, a in stored)
            )
        ping = cold["ping"]
        lines.append(
            f"  client_data with Mem0 answering in {ping['delay_ms']} ms: {ping['client_data']['wall_ms']:.0f} ms;"
            f" with MEM0_ORG_ID + MEM0_PROJECT_ID set (no ping): {ping['client_data+ids']['wall_ms']:.0f} ms"
        )
        lines.append("")
    if "warm" in report:
        lines.append(f"Warm, Mem0 answering in {report['config']['delay_ms']} ms; ms per request")
        lines.append(
            f"  {'callers':<9}{'endpoint':<15}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'degraded':>10}"
            f"  {'reference (same threads)':<25}{'p50':>7}{'p95':>7}{'p95 ratio':>10}"
        )
        for level, figures in report["warm"].items():
            for name in ("client_data", "retrieve", "post_call"):
                f = figures[name]
                label = "post_call ack" if name == "post_call" else name
                lines.append(
                    f"  {level:<9}{label:<15}{f['requests']:>6}{f['p50_ms']:>8.1f}{f['p95_ms']:>8.1f}"
                    f"{f['p99_ms']:>8.1f}{f['max_ms']:>8.1f}{f['degraded']:>10}"
                    f"  {f['reference']:<25}{f['reference_p50_ms']:>7.1f}{f['reference_p95_ms']:>7.1f}"
                    f"{f['ratio_p95']:>10.2f}"
                )
        lines.append("")
    if "worker" in report:
        w = report["worker"]
        lines.append(f"Worker, {w['turns']}-turn call, Mem0 answering in {w['delay_ms']} ms: Mem0 requests per call")
        for arm, runs in w["arms"].items():
            lines.append(f"  {arm}")
            for label, run in runs.items():
                made = ", ".join(f"{k} x{v}" for k, v in run["by_path"].items())
                lines.append(f"    {label:<26}{run['mem0_requests']:>2} ({made}), {run['wall_ms']:.0f} ms")
        lines.append("")
    lines += profile_lines(report)
    lines += redaction_lines(report)
    for check in report["targets"]:
        status = {True: "PASS", False: "FAIL", None: "info"}[check["ok"]]
        lines.append(f"  {status:<4}  {check['target']}  ({check['value']})")
    return "\n".join(lines)


def profile_lines(report: dict[str, Any]) -> list[str]:
    part = report.get("profile")
    if not part:
        return []
    lines = []
    if "cold" in part:
        cold = part["cold"]
        rounds = cold["naive"]["samples"]
        lines.append(f"Caller profile: cold start + first request, returning caller ({rounds} rounds, medians)")
        lines.append(f"  {'arm':<40}{'wall ms':>8}{'IQR':>6}{'x naive':>9}  boto3  Mem0 reads")
        for name in PROFILE_ARMS:
            arm = cold[name]
            boto3 = "yes" if "boto3" in arm["loaded"] else "no"
            lines.append(
                f"  {name:<40}{arm['wall_ms']:>8.0f}{arm['wall_iqr_ms']:>6.0f}{arm['ratio_wall']:>9.2f}"
                f"  {boto3:<5}  {arm['mem0_memory_requests']}"
            )
        lines.append("")
    warm = part["warm"]
    lines.append(
        f"Caller profile: warm client_data, {warm['concurrency']} callers x {warm['calls_per_caller']} calls;"
        " ms; each call paired with the same DynamoDB read (BatchGetItem: profiles and own-line marks)"
    )
    lines.append(f"  {'Mem0':<14}{'read p50':>12}{'p95':>7}{'client_data p50':>17}{'p95':>7}{'over':>7}  Mem0 reads")
    for label in ("mem0_800ms", "mem0_hanging"):
        f = warm[label]
        lines.append(
            f"  {label.removeprefix('mem0_'):<14}{f['dynamodb_p50_ms']:>12.1f}{f['dynamodb_p95_ms']:>7.1f}"
            f"{f['client_data_p50_ms']:>17.1f}{f['client_data_p95_ms']:>7.1f}{f['p95_over_dynamodb_ms']:>7.1f}"
            f"  {f['mem0_memory_requests']}"
        )
    marks = warm.get("retrieve_marks")
    if marks:
        lines.append(
            f"  retrieve, own-line marks read (issue 20): p95 {marks['retrieve_p95_without_ms']:.1f} ms without,"
            f" {marks['retrieve_p95_with_ms']:.1f} ms with ({marks['added_p95_ms']:+.1f} ms; the read alone"
            f" {marks['marks_read_p95_ms']:.1f} ms), {marks['requests']} calls"
        )
    lines.append("")
    return lines


def redaction_lines(report: dict[str, Any]) -> list[str]:
    part = report.get("redaction")
    if not part:
        return []
    cost = part["cost"]
    trees = [name for name in cost if isinstance(cost[name], dict) and name != "ratio"]
    lines = [
        f"Redaction of a {cost['transcript_chars'] // 1000} KB transcript, CPU ms (median of {cost['rounds']} rounds)"
    ]
    lines.append(f"  {'transcript':<36}" + "".join(f"{tree:>14}" for tree in trees) + f"{'ratio':>8}  numbers redacted")
    for name in cost[trees[0]]:
        ratio = f"{cost['ratio'][name]:.2f}" if "ratio" in cost else "-"
        figures = "".join(f"{cost[tree][name]['median_ms']:>14.1f}" for tree in trees)
        redacted = " / ".join(str(cost[tree][name]["redacted"]) for tree in trees)
        lines.append(f"  {name:<36}{figures}{ratio:>8}  {redacted}")
    ack = part.get("ack")
    if ack:
        lines.append(
            f"  post_call ack of a {ack['body_bytes'] // 1000} KB, {ack['turns']}-turn call"
            f" ({ack['on']['requests']} each): redaction on p50 {ack['on']['p50_ms']} / p95 {ack['on']['p95_ms']} ms,"
            f" off p50 {ack['off']['p50_ms']} / p95 {ack['off']['p95_ms']} ms"
        )
    lines.append("")
    return lines
