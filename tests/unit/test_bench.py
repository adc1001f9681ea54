"""The benchmark (scripts/bench.py, the package scripts/benchmark): its cold-start verdicts (what decides
its exit status, what is only reported), the revision it compares against with ``--baseline``, and how
it takes and compares samples.

The figures themselves come from ``make bench`` (docs/performance.md); here, fed made-up cold-start
reports, the judging of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmark import arms, environments, timing
from benchmark.report import table
from benchmark.verdicts import passed, verdicts


def cold_report(
    *, ours: float, libraries: float, naive_ratio: float, post_call: float = 0.24, rounds: int = 8
) -> dict[str, Any]:
    """A cold-start report shaped as ``benchmark.cold.cold`` returns it: ``ours`` and ``libraries`` are wall
    times over the naive arm's for client_data and retrieve and for their libraries arms, the same in every
    round (``per_round``, ms, the naive arm at 1000 ms)."""

    def arm(ratio: float) -> dict[str, Any]:
        return {"heavy_loaded": [], "loaded": [], "ratio_wall": ratio, "per_round": [ratio * 1000] * rounds}

    report: dict[str, Any] = {"naive": arm(1.0)}
    for name in arms.LIBRARY_WORK:
        report[name] = {**arm(ours), "ratio_libraries": round(ours / libraries, 3)}
        report[f"{arms.LIBRARIES}{name}"] = arm(libraries)
    report["post_call"] = arm(post_call)
    return {"cold": report}


def judged(report: dict[str, Any], words: str) -> list[bool | None]:
    return [check["ok"] for check in verdicts(report) if words in check["target"]]


def test_the_handlers_are_judged_against_the_libraries_they_cannot_do_without():
    # Given a run where client_data and retrieve take 10 % more than their libraries alone
    fine = cold_report(ours=0.22, libraries=0.20, naive_ratio=0.22)
    # Then that verdict passes; and at 30 % more it fails
    assert judged(fine, "x the libraries alone") == [True, True]
    slow = cold_report(ours=0.26, libraries=0.20, naive_ratio=0.26)
    assert judged(slow, "x the libraries alone") == [False, False]


def test_a_busy_machine_spreading_the_rounds_both_ways_does_not_fail_the_run():
    # Given issue 24's run: client_data's median over its libraries 1.202 against the 1.2 gate, the rounds'
    # ratios spread both ways by a machine busy with other work (one arm of a round caught a burst, the other not)
    report = cold_report(ours=0.22, libraries=0.20, naive_ratio=0.22)
    spread = [1.10, 1.14, 1.17, 1.19, 1.202, 1.21, 1.26, 1.31, 1.37]
    for name in arms.LIBRARY_WORK:
        report["cold"][f"{arms.LIBRARIES}{name}"]["per_round"] = [200.0] * len(spread)
        report["cold"][name]["per_round"] = [200.0 * ratio for ratio in spread]
    # When it is judged, Then the verdict passes (fewer than three rounds in four over 1.2) and shows the spread
    checks = [c for c in verdicts(report) if "x the libraries alone" in c["target"]]
    assert [c["ok"] for c in checks] == [True, True]
    assert checks[0]["value"] == "median 1.202, rounds 1.170-1.260 (Q1-Q3)"
    # And when every round is over by as much (a real regression), it fails
    for name in arms.LIBRARY_WORK:
        report["cold"][name]["per_round"] = [200.0 * (ratio + 0.1) for ratio in spread]
    assert judged(report, "x the libraries alone") == [False, False]


def test_rounds_are_compared_pairwise_and_judged_by_their_lower_quartile():
    assert timing.round_ratios([110.0, 240.0], [100.0, 200.0]) == pytest.approx([1.1, 1.2])
    with pytest.raises(ValueError, match="shorter"):
        timing.round_ratios([1.0, 2.0], [1.0])
    assert timing.judged([1.0, 1.1, 1.3, 1.3], 1.2) == ("median 1.200, rounds 1.075-1.300 (Q1-Q3)", True)
    assert timing.judged([1.25, 1.3, 1.3, 1.1], 1.2)[1] is False  # three rounds in four over: a FAIL
    assert timing.judged([1.3], 1.2) == ("median 1.300 (one round)", False)


def test_the_secret_store_arm_is_judged_against_the_environment_arm_of_the_same_run():
    # Given a run with client_data and post_call also measured with their keys in Secrets Manager
    report = cold_report(ours=0.22, libraries=0.20, naive_ratio=0.22)
    cold = report["cold"]
    cold["client_data"]["per_round"] = [220.0] * 8
    for name, extra in (("client_data", 1.05), ("post_call", 1.30)):
        cold[f"{name}{arms.SECRETS}"] = {
            "heavy_loaded": [],
            "loaded": [],
            "per_round": [value * extra for value in cold[name]["per_round"]],
            "over_env_ms": 11.0,
        }
    # When it is judged, Then 5 % more passes, 30 % more fails, and boto3 staying out is its own check
    checks = {c["target"].split(",")[0]: c for c in verdicts(report) if "Secrets Manager: wall" in c["target"]}
    assert [(name, c["ok"]) for name, c in sorted(checks.items())] == [
        ("cold client_data", True),
        ("cold post_call", False),
    ]
    assert judged(report, "Secrets Manager: boto3 not loaded") == [True, True]


def test_the_first_target_of_0_2_x_naive_is_reported_with_the_floor_but_not_judged():
    # Given a run above 0.2 x naive, with the libraries alone at 0.205 x
    report = cold_report(ours=0.215, libraries=0.205, naive_ratio=0.215)
    checks = [check for check in verdicts(report) if "<= 0.2 x naive" in check["target"]]
    # Then both ratios are in the report, the floor named in the target's text, and neither is a FAIL
    assert [check["value"] for check in checks] == [0.215, 0.215]
    assert all("not judged: the libraries alone take 0.205" in check["target"] for check in checks)
    assert [check["ok"] for check in checks] == [None, None]
    # And the run's exit status follows the judged verdicts alone
    assert passed(verdicts(report))
    assert not passed(verdicts(cold_report(ours=0.3, libraries=0.205, naive_ratio=0.3)))


@pytest.mark.parametrize(("post_call", "ok"), [(0.29, True), (0.31, False)])
def test_the_acknowledgement_keeps_its_ratio_to_naive(post_call, ok):
    report = cold_report(ours=0.22, libraries=0.20, naive_ratio=0.22, post_call=post_call)
    assert judged(report, "cold post_call: wall time") == [ok]


def test_a_baseline_revision_brings_its_own_src(tmp_path):
    # Given the repository's current commit
    # When its src/ is checked out for a baseline arm
    src = environments.checkout_src("HEAD", tmp_path)
    # Then the handlers and the shared package are there, as the commit holds them
    assert (src / "client_data" / "handler.py").is_file()
    assert (src / "agentic_memory" / "edge" / "client_data.py").is_file()


def test_an_unknown_baseline_revision_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="no-such-revision"):
        environments.checkout_src("no-such-revision", tmp_path)


def test_an_arm_is_compared_to_another_by_median_wall_time():
    # Given our arm's samples and the libraries arm's, from one run (seconds)
    ours = [{"wall": 0.180}, {"wall": 0.190}, {"wall": 0.400}]  # one slow outlier: the median ignores it
    libraries = [{"wall": 0.170}, {"wall": 0.160}, {"wall": 0.175}]
    # When they are compared
    figures = timing.compared(ours, libraries, "libraries")
    # Then ours is over theirs, never the other way round, with the difference in ms
    assert figures == {"ratio_libraries": round(0.190 / 0.170, 3), "over_libraries_ms": 20.0}


def test_the_report_marks_judged_and_reported_checks_apart():
    checks = [
        {"target": "judged and met", "value": 1.1, "ok": True},
        {"target": "judged and missed", "value": 1.4, "ok": False},
        {"target": "reported only", "value": 0.21, "ok": None},
    ]
    lines = table({"targets": checks}).splitlines()
    assert [line.split()[0] for line in lines] == ["PASS", "FAIL", "info"]


def test_arms_are_sampled_in_rotating_rounds_after_one_discarded_warm_up_each():
    # Given three arms whose sampler records every call
    calls = []

    def sample(name):
        calls.append(name)
        return {"arm": name, "n": len(calls)}

    # When two rounds are taken
    samples = timing.interleaved(["a", "b", "c"], 2, sample)
    # Then each arm was sampled once to warm up, then once per round, each round starting one arm further on
    assert calls == ["a", "b", "c", "a", "b", "c", "b", "c", "a"]
    # And the warm-up samples are not among the results
    assert {name: [s["n"] for s in runs] for name, runs in samples.items()} == {"a": [4, 9], "b": [5, 7], "c": [6, 8]}


def redaction_report(ack_ratio: float) -> dict[str, Any]:
    """A redaction part shaped as ``benchmark.redaction`` returns it, with made-up figures."""
    figures = {"plain talk": {"median_ms": 15.0, "redacted": 0}}
    return {
        "config": {"redaction_baseline": "main"},
        "redaction": {
            "cost": {
                "transcript_chars": 120_000,
                "rounds": 5,
                "this tree": figures,
                "main": figures,
                "ratio": {"plain talk": 1.0},
            },
            "ack": {
                "body_bytes": 185_000,
                "turns": 1881,
                "accepted": True,
                "on": {"requests": 20, "p50_ms": 50.0, "p95_ms": 20.0 * ack_ratio},
                "off": {"requests": 20, "p50_ms": 15.0, "p95_ms": 20.0},
                "ratio_p95": ack_ratio,
            },
        },
        "targets": [],
    }


@pytest.mark.parametrize(("ratio", "ok"), [(3.4, True), (4.5, False)])
def test_the_long_call_acknowledgement_is_judged_with_redaction_against_without(ratio, ok):
    from benchmark.report import redaction_lines
    from benchmark.verdicts import redaction_verdicts

    # Given a run whose long-call ack p95 with redaction is ``ratio`` times the one without
    checks = redaction_verdicts(redaction_report(ratio))
    # Then the cost against the baseline revision is reported, never judged, and the ack's ratio is judged
    assert [check["ok"] for check in checks if "CPU time over main's" in check["target"]] == [None]
    assert [check["ok"] for check in checks if "post_call ack of a 185 KB call" in check["target"]] == [ok]
    assert passed(checks) is ok
    # And the table shows both arms' figures and the ack's percentiles
    lines = "\n".join(redaction_lines(redaction_report(ratio)))
    assert "plain talk" in lines
    assert f"p95 {20.0 * ratio}" in lines


def profile_report(*, over: float, p50: float, p95: float, not_from_profile: int = 0) -> dict[str, Any]:
    """Part d's warm figures as ``benchmark.caller_profile`` reports them, the same for both Mem0 conditions."""
    figures = {
        "dynamodb_p50_ms": p50,
        "dynamodb_p95_ms": p95,
        "p95_over_dynamodb_ms": over,
        "not_from_profile": not_from_profile,
    }
    return {"profile": {"warm": {"concurrency": 10, "mem0_800ms": figures, "mem0_hanging": dict(figures)}}}


@pytest.mark.parametrize(
    ("over", "p50", "p95", "not_from_profile", "ok"),
    [
        (25.0, 30.0, 33.0, 0, True),  # a quiet machine: within 30 ms (+0.75)
        (35.0, 30.0, 33.0, 0, False),  # the same tail, 35 ms over: a regression
        (35.6, 30.6, 181.5, 0, True),  # issue 24's busy run: GetItem's own tail stretched by 151 ms
        (400.0, 30.6, 181.5, 0, False),  # waiting on Mem0 shows hundreds of ms over, whatever the tail
        (5.0, 30.0, 33.0, 1, False),  # a caller not greeted from the profile fails outright
    ],
)
def test_the_warm_profile_margin_grows_with_the_getitems_own_tail(over, p50, p95, not_from_profile, ok):
    from benchmark.verdicts import profile_verdicts

    checks = profile_verdicts(profile_report(over=over, p50=p50, p95=p95, not_from_profile=not_from_profile))
    assert [check["ok"] for check in checks] == [ok, ok]
