"""The load script itself: a small run against its own dev stack must count zero errors, lost or duplicated;
and a burst five times Mem0's quota (issue 23) must be remembered whole, nothing parked or written twice,
Mem0 never asked faster than its quota."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support import ROOT

VERDICT = re.compile(
    r"calls=(?P<calls>\d+) remembered=(?P<remembered>\d+) parked=(?P<parked>\d+) duplicated=(?P<duplicated>\d+)"
    r" lost=(?P<lost>\d+) errors=(?P<errors>\d+)"
    r"(?: peak_adds=(?P<peak>\d+)/(?P<quota>\d+) per (?P<window>[\d.]+)s last_wait=(?P<wait>[\d.]+)s"
    r" ack_p95_ratio=(?P<ratio>[\d.]+))?$"
)


def run_load_test(*args: str, timeout: float) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    match = VERDICT.fullmatch(last)
    assert match, result.stdout + result.stderr
    return result, match.groupdict()


@pytest.mark.slow
def test_a_small_load_run_proves_exactly_once():
    # Given 12 concurrent callers, every 3rd webhook delivered twice
    result, verdict = run_load_test("--calls", "12", "--duplicate-every", "3", timeout=240)
    # Then the run ends on the verdict line, all zero
    assert {key: verdict[key] for key in ("calls", "remembered", "parked", "duplicated", "lost", "errors")} == {
        "calls": "12",
        "remembered": "12",
        "parked": "0",
        "duplicated": "0",
        "lost": "0",
        "errors": "0",
    }
    assert result.returncode == 0
    assert "post-call ack      16" in result.stdout  # 12 calls + 4 repeated deliveries acknowledged


@pytest.mark.slow
def test_a_burst_five_times_mem0s_quota_is_remembered_whole_at_mem0s_pace():
    # Given a campaign of 100 calls ending at once, 200 adds, against a Mem0 stand-in that allows 40 adds a
    # minute (a minute compressed to 3 s: the quota's window and Lambda's retry delays scaled alike), every
    # 5th webhook delivered twice, and the local Lambda's real retry semantics (two retries, then parked)
    result, verdict = run_load_test(
        "--calls", "100", "--mem0-add-limit", "40/min", "--minute-seconds", "3", "--idle-calls", "20", timeout=240
    )
    # Then every call is remembered, none parked, none written twice, none lost, no request failed
    assert verdict["calls"] == verdict["remembered"] == "100", result.stdout
    assert (verdict["parked"], verdict["duplicated"], verdict["lost"], verdict["errors"]) == ("0", "0", "0", "0")
    # And no window of the quota's length saw more adds asked of Mem0 than it allows (429s included)
    assert verdict["quota"] == "40"
    assert float(verdict["window"]) == 3.0
    assert 0 < int(verdict["peak"]) <= 40, result.stdout
    assert "0 answered 429" in result.stdout
    # And no job spent a Lambda retry on throttling: each waited for its turn instead
    assert "Lambda retries spent: 0" in result.stdout
    # And the burst needed about five quota windows to drain, so the calls really waited (not let through)
    assert float(verdict["wait"]) >= 3 * 3.0, result.stdout
    assert result.returncode == 0
