"""The worker's pace at Mem0 (domain.pacing): the shared schedule's arithmetic (GCRA's virtual scheduling),
the delay queue's whole-second delays, and what a job does with its turn."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from agentic_memory.config import _limit
from agentic_memory.domain.pacing import (
    EARLY_SECONDS,
    INLINE_WAIT_SECONDS,
    MAX_DELAY_SECONDS,
    Pacing,
    delay_seconds,
    interval,
    job_cost,
    next_step,
    reserve,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()
TODAY = date(2026, 12, 7)


def steps(slot: float, **overrides):
    options = {
        "since": None,
        "max_wait": 24 * 3600,
        "expires_on": None,
        "time_left": 30.0,
        "can_defer": True,
        "work_seconds": 15.0,
    }
    return next_step(slot, NOW, **(options | overrides))


class TestCost:
    def test_an_add_costs_the_limits_interval_stretched_by_the_share(self):
        # Given Mem0's published 1,000 adds a minute, paced at 90 %
        add = interval((1000, 60.0), 0.9)
        # Then one add takes 60 / 900 s of the schedule, and a call's two adds twice that
        assert add == pytest.approx(60 / 900)
        assert job_cost(2, 0, (1000, 60.0), None, 0.9) == pytest.approx(2 * 60 / 900)

    def test_reads_cost_nothing_without_a_read_limit_and_their_interval_with_one(self):
        assert job_cost(2, 1, (1000, 60.0), None, 0.9) == job_cost(2, 0, (1000, 60.0), None, 0.9)
        with_reads = job_cost(2, 1, (1000, 60.0), (600, 60.0), 0.9)
        assert with_reads == pytest.approx(2 * 60 / 900 + 60 / 540)

    def test_without_any_limit_nothing_is_paced(self):
        assert job_cost(2, 1, None, None, 0.9) == 0.0


class TestReserve:
    def test_an_idle_schedule_serves_now_and_a_busy_one_after_what_it_holds(self):
        # Given an unused schedule, When a job of 0.5 s reserves at NOW, Then it goes now
        assert reserve(None, NOW, 0.5) == (NOW, NOW + 0.5)
        # And a schedule last busy in the past is idle
        assert reserve(NOW - 10, NOW, 0.5) == (NOW, NOW + 0.5)
        # And one booked until NOW + 3 serves the next job then
        assert reserve(NOW + 3, NOW, 0.5) == (NOW + 3, NOW + 3.5)

    @pytest.mark.parametrize(
        ("limit", "share", "adds"), [((1000, 60.0), 0.9, 2), ((40, 3.0), 0.9, 2), ((200, 60.0), 0.95, 1)]
    )
    def test_a_burst_never_asks_more_than_the_limit_in_any_window(self, limit, share, adds):
        # Given a burst of calls all arriving at once, each reserving its adds on the schedule
        cost = job_cost(adds, 0, limit, None, share)
        tat, slots = None, []
        for _ in range(5 * limit[0]):
            slot, tat = reserve(tat, NOW, cost)
            slots.append(slot)
        # Then in every window of the limit's length, starting at any slot, the adds started stay within the
        # limit (each job's adds go together at its slot)
        window = limit[1]
        checked = 0
        for start in slots:
            within = sum(adds for slot in slots if start <= slot < start + window)
            assert within <= limit[0]
            checked += 1
        assert checked == len(slots) > 0
        # And the burst is spread at the pace: the last call waits about burst / (share x limit) windows
        assert slots[-1] - NOW == pytest.approx((len(slots) - 1) * cost)


class TestDelay:
    @pytest.mark.parametrize("wait", [2.01, 2.5, 3.0, 7.9, 59.2, 899.5, 900.0, 901.0, 5000.0])
    def test_a_delay_brings_the_job_back_before_its_turn_never_after(self, wait):
        delay = delay_seconds(wait)
        # SendMessage allows 0 to 900 s; at least one second, or the queue would not be worth it
        assert 1 <= delay <= MAX_DELAY_SECONDS
        assert isinstance(delay, int)
        if wait <= MAX_DELAY_SECONDS:
            # Back between EARLY_SECONDS and a second before the turn, so a second of polling is never late
            assert wait - EARLY_SECONDS <= delay <= wait - 1 + 1e-9 or delay == 1
            assert delay + 1 <= math.ceil(wait)

    def test_a_wait_over_900_s_takes_several_hops(self):
        assert delay_seconds(3600) == MAX_DELAY_SECONDS


class TestNextStep:
    def test_a_turn_that_is_now_runs(self):
        assert steps(NOW).action == "run"
        assert steps(NOW - 5).action == "run"

    def test_a_turn_a_moment_away_is_slept_for_in_the_invocation(self):
        step = steps(NOW + INLINE_WAIT_SECONDS - 0.5)
        assert step.action == "sleep"
        assert step.seconds == pytest.approx(INLINE_WAIT_SECONDS - 0.5)

    def test_a_later_turn_waits_in_the_delay_queue(self):
        step = steps(NOW + 30)
        assert step.action == "defer"
        assert step.seconds == delay_seconds(30)

    def test_without_a_queue_a_wait_the_invocation_can_hold_is_slept_and_a_longer_one_fails_for_lambda_to_retry(self):
        assert steps(NOW + 10, can_defer=False).action == "sleep"
        assert steps(NOW + 20, can_defer=False).action == "retry"

    def test_a_waiting_job_whose_memories_would_already_be_gone_is_dropped(self):
        # Mem0 shows a memory through its expiration date (inclusive): yesterday's is gone, today's is not
        assert steps(NOW + 30, expires_on=date(2026, 12, 6)).action == "expire"
        assert steps(NOW + 30, expires_on=TODAY).action == "defer"
        # A job whose turn is now is written as before, whatever its date
        assert steps(NOW, expires_on=date(2026, 12, 6)).action == "run"

    def test_a_job_gives_up_only_past_the_maximum_wait_counted_from_its_first(self):
        # Given a job waiting for 24 h less 20 s, Then a turn 30 s away is beyond 24 h: it gives up
        assert steps(NOW + 30, since=NOW - 24 * 3600 + 20, max_wait=24 * 3600).action == "give_up"
        # And one waiting for an hour keeps waiting
        assert steps(NOW + 30, since=NOW - 3600, max_wait=24 * 3600).action == "defer"


class TestPacingEnvelope:
    def test_a_waiting_jobs_pacing_round_trips_and_a_bad_one_is_a_fresh_start(self):
        carried = Pacing(slot=NOW + 5, since=NOW, deferrals=2)
        assert Pacing.of({"pacing": carried.model_dump()}) == carried
        for event in ({}, {"pacing": "x"}, {"pacing": {"slot": -1}}, {"pacing": {"deferrals": "many"}}, None):
            assert Pacing.of(event) == Pacing()


class TestLimitSetting:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1000/min", (1000, 60.0)),
            ("200/6s", (200, 6.0)),
            ("5/s", (5, 1.0)),
            ("off", None),
            ("0/min", None),
            ("", "default"),
            ("nonsense", "default"),
        ],
    )
    def test_limits_read_as_requests_per_seconds(self, text, expected):
        assert _limit(text, "default") == expected
