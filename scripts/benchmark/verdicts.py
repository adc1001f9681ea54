"""The verdicts: every judged target is a ratio (or a difference) of two things measured in the same
run, so a busy machine slows both sides; a check whose ``ok`` is None is reported, never judged. The
run's exit status is ``passed`` of them all.

Cold-start ratios are judged round by round (``timing.judged``): the arms run interleaved, one sample of
each per round, so each round gives one ratio measured under one load. A target FAILs only when at least
three rounds in four are over it (the ratios' lower quartile is over the target); the median and the
quartiles are shown. A machine busy with other work spreads the rounds' ratios both ways and does not
cross that margin, while a real regression lifts every round: issue 24's false FAIL at 1.202 against 1.2
was one median over by 0.2 %, its rounds on both sides."""

from __future__ import annotations

from typing import Any

from benchmark.arms import HEAVY, LIBRARIES, LIBRARY_WORK, SECRETS, SECRETS_ARMS
from benchmark.caller_profile import PROFILE_CHOSEN
from benchmark.timing import judged, round_ratios

# Cold start + first request, over the naive arm's (median wall times). client_data's and retrieve's are the first
# target (issue 14), at about what their libraries alone take (docs/performance.md, "The floor"): reported, not judged.
TARGETS = {"client_data": 0.2, "retrieve": 0.2, "post_call": 0.3}
# client_data's and retrieve's cold start + first request may take at most this much of their libraries arm's
# (arms.LIBRARY_WORK), same run: our domain code's share (1.06-1.13 x in twelve runs on the development machine),
# with room for a shared machine's noise.
OVER_LIBRARIES = 1.2
# Warm p95 at 10 concurrent callers, over the p95 of the endpoint's one outside call made directly, in the
# same threads, interleaved (arms.REFERENCES): Mem0's get_all for client_data, its search for retrieve, the
# Lambda self-invoke for the acknowledgement. 1.3 means our overhead is at most 30 % of that call.
WARM_RATIO = {"client_data": 1.3, "retrieve": 1.3, "post_call": 3.0}
# Counts, not times (issue 23): a whole call is written in at most two adds (the conversation, and its notes:
# summary and collected facts), and reads at most once (the caller's memories for the profile); the read of
# what a crashed attempt may have written only follows an attempt that may have sent a write
# (agentic_memory.worker.job_runner.run_job).
WORKER_MAX_WRITES = 2
WORKER_MAX_READS = 1
WORKER_JUDGED = ("new caller", "returning caller")
# The caller profile (part d): the warm target, client_data p95 at most this much above the GetItem p95,
# and the cold one, client_data + profile wall time <= this x naive.
PROFILE_OVER_DYNAMODB_MS = 30.0
# ... plus this share of the GetItem's own tail (its p95 - p50, same run): a machine busy with other work
# stretches both tails, and a p95 moves with that stretch (issue 24: +35.6 ms with GetItem's p95 at 181.5 ms
# and its p50 at 30.6 ms, load 6.7). On a quiet machine the tail is a few ms and the margin stays 30 ms; a
# client_data that waited on Mem0 would be hundreds of ms over, and one not greeted from the profile fails.
PROFILE_TAIL_SHARE = 0.25
PROFILE_COLD_TARGET = 0.3
# retrieve's read of our lines' marks (issue 20): its p95 with the read at most the read's own p95 plus this.
MARKS_OVER_READ_MS = 10.0
# Secrets from Secrets Manager (issue 24): the handlers' cold start + first request with their keys read from
# the store (moto's, on this machine) over the same handler's with the keys in its environment, same run.
SECRETS_OVER_ENV = 1.15


def _rounds(cold: dict[str, Any], ours: str, theirs: str, limit: float) -> tuple[str, bool]:
    return judged(round_ratios(cold[ours]["per_round"], cold[theirs]["per_round"]), limit)


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []

    def check(target: str, value: Any, ok: bool | None) -> None:
        # ok None: a figure reported against a target that is not judged (the reason is in the target's text)
        checks.append({"target": target, "value": value, "ok": ok})

    if "cold" in report:
        for name, limit in TARGETS.items():
            arm = report["cold"][name]
            target = f"cold {name}: wall time <= {limit} x naive"
            if name in LIBRARY_WORK:
                # The project's first target (issue 14), 0.2 x, is about what the libraries alone take in the same
                # run (docs/performance.md, "The floor"), so no change to our code can meet it reliably: reported
                # next to that floor, not judged.
                floor = report["cold"][f"{LIBRARIES}{name}"]["ratio_wall"]
                check(f"{target} (first target, not judged: the libraries alone take {floor})", arm["ratio_wall"], None)
                shown, ok = _rounds(report["cold"], name, f"{LIBRARIES}{name}", OVER_LIBRARIES)
                check(f"cold {name}: wall time <= {OVER_LIBRARIES} x the libraries alone", shown, ok)
            else:
                check(target, *_rounds(report["cold"], name, "naive", limit))
            check(f"cold {name}: no {'/'.join(HEAVY)} loaded", arm["heavy_loaded"], not arm["heavy_loaded"])
        for name in SECRETS_ARMS if f"{SECRETS_ARMS[0]}{SECRETS}" in report["cold"] else ():
            over = report["cold"][f"{name}{SECRETS}"]["over_env_ms"]
            shown, ok = _rounds(report["cold"], f"{name}{SECRETS}", name, SECRETS_OVER_ENV)
            check(
                f"cold {name}, keys from Secrets Manager: wall time <= {SECRETS_OVER_ENV} x keys in the environment"
                f" ({over:+.1f} ms, medians)",
                shown,
                ok,
            )
            aws = [m for m in report["cold"][f"{name}{SECRETS}"]["loaded"] if m in ("boto3", "botocore.*")]
            check(f"cold {name}, keys from Secrets Manager: boto3 not loaded (signed httpx)", aws, not aws)
        for name in ("client_data", "retrieve"):
            # Powertools imports the bare botocore package (its user-agent hook, <1 ms); the SDK must stay out.
            aws = [m for m in report["cold"][name]["loaded"] if m in ("boto3", "botocore.*")]
            check(f"cold {name}: boto3 and botocore's SDK modules not loaded", aws, not aws)
    level = report.get("warm", {}).get("10")
    if level is not None:
        for name, limit in WARM_RATIO.items():
            figures = level[name]
            label = "post_call ack" if name == "post_call" else name
            delay = report["config"]["delay_ms"]
            check(
                f"warm x10, {delay} ms Mem0: {label} p95 <= {limit:g} x {figures['reference']} p95 (and none degraded)",
                figures["ratio_p95"],
                figures["ratio_p95"] <= limit and figures["degraded"] == 0,
            )
    if "worker" in report:
        current = report["worker"]["arms"]["current"]
        for label in WORKER_JUDGED:
            run = current[label]
            reads = run["mem0_requests"] - run["writes"]
            check(
                f"worker, {report['worker']['turns']}-turn call, {label}: Mem0 writes <= {WORKER_MAX_WRITES},"
                f" other requests <= {WORKER_MAX_READS}",
                {"writes": run["writes"], "other": reads},
                run["writes"] <= WORKER_MAX_WRITES
                and reads <= WORKER_MAX_READS
                and run["outcome"].get("status") == "written",
            )
        for label, arm in report["worker"]["arms"].items():
            if label != "current":
                before = [arm[name]["mem0_requests"] for name in WORKER_JUDGED]
                after = [current[name]["mem0_requests"] for name in WORKER_JUDGED]
                check(
                    f"worker: Mem0 requests per call (new, returning caller), {label} -> current", [before, after], None
                )
    return checks


def passed(checks: list[dict[str, Any]]) -> bool:
    """The run's exit status: no judged check failed (a check with ``ok`` None is reported, not judged)."""
    return all(check["ok"] is not False for check in checks)


def profile_verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    part = report.get("profile")
    if not part:
        return checks
    if "cold" in part:
        arm = part["cold"][PROFILE_CHOSEN]
        shown, ok = _rounds(part["cold"], PROFILE_CHOSEN, "naive", PROFILE_COLD_TARGET)
        checks.append(
            {"target": f"cold {PROFILE_CHOSEN}: wall time <= {PROFILE_COLD_TARGET} x naive", "value": shown, "ok": ok}
        )
        sdk = [m for m in arm["loaded"] if m in ("boto3", "botocore.*")]
        checks.append({"target": f"cold {PROFILE_CHOSEN}: boto3 not loaded", "value": sdk, "ok": not sdk})
    for label, title in (("mem0_800ms", "Mem0 answering in 800 ms"), ("mem0_hanging", "Mem0 hanging")):
        figures = part["warm"][label]
        over = figures["p95_over_dynamodb_ms"]
        tail = max(0.0, figures["dynamodb_p95_ms"] - figures["dynamodb_p50_ms"])
        allowed = round(PROFILE_OVER_DYNAMODB_MS + PROFILE_TAIL_SHARE * tail, 1)
        checks.append(
            {
                "target": f"warm x{part['warm']['concurrency']}, {title}: client_data p95 <= its DynamoDB read p95"
                f" + {PROFILE_OVER_DYNAMODB_MS:g} ms + {PROFILE_TAIL_SHARE:g} x its p95-p50, every caller greeted"
                " from the profile",
                "value": f"{over:+} ms (allowed {allowed:g}), {figures['not_from_profile']} not from the profile",
                "ok": over <= allowed and figures["not_from_profile"] == 0,
            }
        )
    marks = part["warm"].get("retrieve_marks")
    if marks:
        checks.append(
            {
                "target": f"warm x{part['warm']['concurrency']}: retrieve p95 with the own-line marks read <= without"
                f" + the read's p95 + {MARKS_OVER_READ_MS:g} ms, every call searched",
                "value": f"{marks['added_p95_ms']:+} ms for a {marks['marks_read_p95_ms']} ms read",
                "ok": marks["added_p95_ms"] <= marks["marks_read_p95_ms"] + MARKS_OVER_READ_MS
                and marks["searched"] == marks["requests"],
            }
        )
    return checks


# The post-call acknowledgement of a 120 KB call with redaction on, over the same acknowledgement with it off,
# p95, alternated in one warm container (benchmark.redaction.acknowledgement): what redaction adds to the ack.
# Reading a call as speech (every number across turns, the backstop) costs about three times what parsing and
# checking the 185 KB payload costs (docs/performance.md, "Redaction"); four times is the bound that catches a
# regression (a rule gone quadratic) without failing on a busy machine's noise.
REDACTION_ACK_RATIO = 4.0


def redaction_verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The redaction part: its cost against the baseline revision is reported (reading speech costs more than
    reading digits: info), the acknowledgement's ratio with redaction on over off is judged."""
    part = report.get("redaction")
    if not part:
        return []
    checks = []
    cost = part["cost"]
    for name, ratio in cost.get("ratio", {}).items():
        ms = cost["this tree"][name]["median_ms"]
        checks.append(
            {
                "target": f"redaction of a 120 KB transcript ({name}): CPU time over"
                f" {report['config']['redaction_baseline']}'s (reported, not judged)",
                "value": f"{ratio} x ({ms} ms)",
                "ok": None,
            }
        )
    ack = part.get("ack")
    if ack:
        checks.append(
            {
                "target": f"post_call ack of a {ack['body_bytes'] // 1000} KB call: p95 with redaction <="
                f" {REDACTION_ACK_RATIO:g} x p95 without (same container, alternated)",
                "value": f"{ack['ratio_p95']} ({ack['on']['p95_ms']} ms vs {ack['off']['p95_ms']} ms)",
                "ok": ack["ratio_p95"] <= REDACTION_ACK_RATIO and ack["accepted"],
            }
        )
    return checks
