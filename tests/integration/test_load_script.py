"""The load script itself: a small run against its own dev stack must count zero errors, lost or duplicated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT


@pytest.mark.slow
def test_a_small_load_run_proves_exactly_once():
    # Given 12 concurrent callers, every 3rd webhook delivered twice
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), "--calls", "12", "--duplicate-every", "3"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    # Then the run ends on the verdict line, all zero
    last = result.stdout.strip().splitlines()[-1]
    assert last == "calls=12 errors=0 lost=0 duplicated=0", result.stdout + result.stderr
    assert result.returncode == 0
    assert "post-call ack      16" in result.stdout  # 12 calls + 4 repeated deliveries acknowledged
