"""One benchmark run: the servers started, the environments made, the chosen parts measured, the verdicts
judged, the figures written as JSON and the table printed. ``scripts/bench.py`` parses the command line."""

from __future__ import annotations

import argparse
import compileall
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmark import redaction, servers
from benchmark.arms import FLOOR_PARTS, HANDLERS, LIBRARY_WORK, SECRETS_ARMS
from benchmark.caller_profile import profile_part
from benchmark.cold import cold
from benchmark.environments import ROOT, SCRIPTS, SRC, base_env, checkout_src, lambda_like_site, naive_site
from benchmark.report import machine, table
from benchmark.retention import retention_part, retention_verdicts
from benchmark.servers import Mem0Admin
from benchmark.verdicts import passed, profile_verdicts, redaction_verdicts, verdicts
from benchmark.warm import warm_and_worker
from benchmark.worker import worker_part


def run(args: argparse.Namespace) -> int:
    """Measure what ``args`` asks for (bench.py's options, parsed); 0 when no judged check failed, 1 when
    one did, 2 when the run could not start (an unknown ``--baseline`` revision)."""
    if args.quick:
        args.rounds, args.calls = min(args.rounds, 5), min(args.calls, 5)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    if args.baseline and not args.only & {"cold", "worker"}:
        args.baseline = None  # the cold start and the worker compare revisions
    args.concurrency = [int(part) for part in str(args.concurrency).split(",") if part.strip()]
    sys.path[:0] = [str(ROOT), str(SRC), str(SCRIPTS)]

    report: dict[str, Any] = {"machine": machine()}
    report["config"] = {
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "calls_per_caller": args.calls,
        "delay_ms": round(args.delay * 1000),
        "site": args.site,
        "baseline": args.baseline,
        "redaction_baseline": args.redaction_baseline,
    }
    with tempfile.TemporaryDirectory(prefix="agentic-bench-") as scratch:
        tmp = Path(scratch)
        with servers.mem0_server() as mem0_url, servers.lambda_stub() as stub_url:
            admin = Mem0Admin(mem0_url)
            env = base_env(tmp, mem0_url)
            # Bytecode is cached (in a scratch tree) for every arm, as pip leaves it in a layer.
            child_env = {**env, "AWS_ENDPOINT_URL_LAMBDA": stub_url, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
            if args.site == "layer":
                site, naive = lambda_like_site(tmp / "site"), naive_site(tmp / "naive")
                for folder in (site, naive):
                    compileall.compile_dir(str(folder), maxlevels=0, quiet=1)
                # Lambda's order: the function's code (/var/task), the layer (/opt/python), the runtime.
                child_env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(site)])
                naive_env = {**child_env, "PYTHONPATH": str(naive)}
                flags = ["-S"]
            else:
                child_env["PYTHONPATH"] = str(SRC)
                naive_env = child_env
                flags = []
            if args.baseline:
                try:
                    args.baseline_src = checkout_src(args.baseline, tmp / "baseline")
                except RuntimeError as exc:
                    print(f"bench: --baseline: {exc}", file=sys.stderr)
                    return 2
            if "cold" in args.only:
                arms = 4 + len(LIBRARY_WORK) + len(SECRETS_ARMS) + (len(FLOOR_PARTS) if args.floor_parts else 0)
                arms += len(HANDLERS) if args.baseline else 0
                print(f"cold start: {args.rounds} rounds x {arms} arms, interleaved ...", file=sys.stderr, flush=True)
                with servers.dynamodb() as aws_url:  # moto's server: its Secrets Manager for the +secrets arms
                    secrets_env = servers.secrets_environment(child_env, aws_url)
                    report["cold"] = cold(args, child_env, naive_env, admin, flags, secrets_env)
            if "redaction" in args.only:
                print(f"redaction: 120 KB transcripts, this tree and {args.redaction_baseline} ...", file=sys.stderr)
                try:
                    baseline = checkout_src(args.redaction_baseline, tmp / "redaction-baseline")
                except RuntimeError as exc:
                    print(f"bench: --redaction-baseline: {exc}", file=sys.stderr)
                    return 2
                report["redaction"] = {"cost": redaction.cost(args, base_env(tmp, mem0_url), baseline)}
            if "worker" in args.only:
                print("worker: Mem0 requests per call ...", file=sys.stderr, flush=True)
                report["worker"] = worker_part(args, env, admin, stub_url)
            if args.only & {"warm", "redaction"}:
                print("warm latency, long-call acknowledgement ...", file=sys.stderr, flush=True)
                report |= warm_and_worker(args, env, admin, stub_url)
                if "redaction_ack" in report:
                    report["redaction"]["ack"] = report.pop("redaction_ack")
            if "profile" in args.only:
                print("caller profile: cold start and warm latency ...", file=sys.stderr, flush=True)
                report["profile"] = profile_part(args, env, child_env, naive_env, admin, flags, tmp)
            if "retention" in args.only:
                print("retention: the ledger's cost to a job, the sweep's requests ...", file=sys.stderr, flush=True)
                report["retention"] = retention_part(args, env, admin)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = (
        verdicts(report) + profile_verdicts(report) + redaction_verdicts(report) + retention_verdicts(report)
    )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    if args.docs:
        (ROOT / "docs" / "performance.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    load = f"load average {m['load_average_before'][0]} -> {m['load_average_after'][0]}"
    print(f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {load}")
    print(table(report))
    print(f"\nfigures written to {output}")
    return 0 if passed(report["targets"]) else 1
