"""How fast the worker asks Mem0, and what a job does when its turn comes later: the rules, no I/O.

Mem0 limits requests per project and answers 429 beyond the limit (DESIGN.md section 4: 1,000 adds a
minute is the one published number; other requests have a limit with no published number). The worker
keeps below it by *reserving* time on one schedule shared by every worker of the project (the ledger:
``stores.pace_ledger``), the virtual-scheduling form of the generic cell rate algorithm (GCRA, ITU-T
Recommendation I.371, also what "leaky bucket as a meter" rate limiters implement): the ledger holds one
number, the theoretical arrival time ``tat`` (unix seconds) at which the schedule is next free. A job that
costs ``c`` seconds of schedule gets the slot ``max(tat, now)`` and moves ``tat`` to ``slot + c``. Its cost
is its adds times the add limit's interval plus its reads times the read limit's interval, each interval
stretched by ``1 / share`` so the worker keeps a margin under the quota:

* the slots never come closer than the cost of what they hold, so over any window the requests the
  worker starts are at most ``share`` x the limit, plus one job's worth (a job's two adds go together);
* adds and reads share one schedule: each limit is kept, at the price of idling one while the other is
  the bottleneck (reads are rare: at most one a call);
* a job never starts before its slot: one that comes back from the delay queue early sleeps to it, so
  the margin ``1 - share`` only has to absorb the noise of starting (milliseconds), not the queue's
  whole-second delays and polling.

A job whose slot is now runs; one whose slot is a moment away sleeps until it (``INLINE_WAIT_SECONDS``);
any other waits in the SQS delay queue (at most ``MAX_DELAY_SECONDS`` per hop, SQS's limit) and comes back
with its slot, so it never queues twice. The delay is set to bring it back up to ``EARLY_SECONDS`` before
its slot (SQS delays are whole seconds and the event source mapping's polling adds up to about a second),
and it sleeps the rest. A 429 despite the schedule (another client on the project, a
lower limit than configured) pushes the schedule past Mem0's ``Retry-After`` for everyone and the job
takes a new slot. A job keeps waiting for ``throttle_max_wait_seconds`` (24 h by default: see
docs/architecture.md) and never beyond the day its memories expire.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# SQS SendMessage: "DelaySeconds ... Valid values: 0 to 900" (Amazon SQS API Reference, SendMessage).
MAX_DELAY_SECONDS = 900
# A turn this close is waited for in the running invocation rather than through the queue: sleeping a
# second or two costs less than a queue round trip, and keeps the slot's timing (SQS delays are whole seconds).
INLINE_WAIT_SECONDS = 2.0
# A slot this close counts as now.
ON_TIME_SECONDS = 0.05
# A job in the delay queue is brought back this much before its slot at most, and sleeps the rest: the queue's
# delay is whole seconds, and the mapping's polling takes it up within about a second (long polling returns
# as soon as a message is visible: Amazon SQS Developer Guide, "Amazon SQS short and long polling").
EARLY_SECONDS = 2
PACING_KEY = "pacing"


class Pacing(BaseModel):
    """What a waiting job carries between runs, beside the job itself (the event's ``pacing`` object):
    ``slot``, its reserved turn (unix seconds; ``None``: none yet); ``since``, when it first had to wait
    (unix seconds); ``deferrals``, how often it went through the delay queue."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    slot: float | None = Field(default=None, ge=0)
    since: float | None = Field(default=None, ge=0)
    deferrals: int = Field(default=0, ge=0)

    @classmethod
    def of(cls, event: Any) -> Pacing:
        """The ``pacing`` object of a job event; a fresh one when there is none or it is malformed (the worst
        a malformed one costs is a new reservation)."""
        raw = event.get(PACING_KEY) if isinstance(event, dict) else None
        try:
            return cls.model_validate(raw) if isinstance(raw, dict) else cls()
        except ValueError:
            return cls()


def interval(limit: tuple[int, float] | None, share: float) -> float:
    """Seconds of schedule one request costs under ``limit`` (requests, seconds) kept at ``share`` of it;
    0 without a limit."""
    if limit is None:
        return 0.0
    requests, seconds = limit
    return seconds / (requests * share)


def job_cost(
    adds: int, reads: int, add_limit: tuple[int, float] | None, read_limit: tuple[int, float] | None, share: float
) -> float:
    """Seconds of schedule a job of ``adds`` adds and ``reads`` other requests reserves."""
    return adds * interval(add_limit, share) + reads * interval(read_limit, share)


def reserve(tat: float | None, now: float, cost: float) -> tuple[float, float]:
    """GCRA's virtual scheduling: ``(slot, new tat)`` for a job of ``cost`` seconds arriving at ``now`` when
    the schedule is free from ``tat`` (``None``: never used)."""
    slot = now if tat is None or tat < now else tat
    return slot, slot + cost


def delay_seconds(wait: float) -> int:
    """SQS ``DelaySeconds`` for a wait of ``wait`` seconds (more than ``INLINE_WAIT_SECONDS``): whole seconds
    that bring the job back between ``EARLY_SECONDS`` and one second before its turn, never after it, even
    with a second of polling; 1 to 900, a longer wait taking several hops."""
    return min(MAX_DELAY_SECONDS, max(1, math.ceil(wait) - EARLY_SECONDS))


@dataclass(frozen=True, slots=True)
class Step:
    """What a job does now: ``run`` it, ``sleep`` ``seconds`` then run, ``defer`` it through the delay
    queue for ``seconds`` (whole, at most 900), ``expire`` (a waiting job whose memories would already be
    gone: nothing to write; a job whose turn is now is written whatever its date, as before), ``give_up``
    (it would wait beyond ``throttle_max_wait_seconds``: it fails and is parked) or ``retry`` (no delay
    queue, and more wait than the invocation has: it fails, and Lambda retries it)."""

    action: Literal["run", "sleep", "defer", "expire", "give_up", "retry"]
    seconds: float = 0.0


def next_step(
    slot: float,
    now: float,
    *,
    since: float | None,
    max_wait: float,
    expires_on: date | None,
    time_left: float | None,
    can_defer: bool,
    work_seconds: float,
) -> Step:
    """The step for a job whose turn is ``slot`` (unix seconds) at ``now``.

    ``since``: when it first waited; ``max_wait``: how long it may wait in all; ``expires_on``: the last
    UTC day its memories are shown (``Job.expires_on``, Mem0's ``expiration_date``); ``time_left``: seconds
    this invocation has left (``None``: unbounded); ``can_defer``: a delay queue is configured;
    ``work_seconds``: what the job's own work needs of the invocation after a sleep.
    """
    wait = slot - now
    if wait <= ON_TIME_SECONDS:
        return Step("run")
    # Mem0 shows a memory through its expiration date, inclusive (memory-expiration docs): past it, a waiting
    # job has nothing left to keep.
    if expires_on is not None and expires_on < datetime.fromtimestamp(now, UTC).date():
        return Step("expire")
    if now + wait - (since if since is not None else now) > max_wait:
        return Step("give_up", wait)
    fits = time_left is None or time_left - wait >= work_seconds
    if fits and (wait <= INLINE_WAIT_SECONDS or not can_defer):
        return Step("sleep", wait)
    if can_defer:
        return Step("defer", delay_seconds(wait))
    return Step("retry", wait)
