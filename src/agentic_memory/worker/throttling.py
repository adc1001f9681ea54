"""What the worker does about Mem0's quota: a job takes its turn on the project's shared schedule before it
writes, and when the turn is later it waits, a moment in the invocation or longer in the SQS delay queue,
instead of failing into Lambda's retries and the dead-letter queue (issue 23; the rules are
``domain.pacing``'s, the schedule ``stores.pace_ledger``, the queue ``stores.defer_queue``).

A job that waited comes back through the queue's event source mapping (``worker.deferred``) with its slot in
the event's ``pacing`` object, so it does not queue twice. A 429 despite the schedule pushes the schedule
past Mem0's ``Retry-After`` for every worker and the job takes a new turn. A job gives up (raises
``Throttled``, so Lambda retries and then parks it, with an alarm) only after ``MEM0_THROTTLE_MAX_WAIT_HOURS``
of waiting; one whose memories would already have expired is dropped, as there is nothing left to keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain.job import Job
from agentic_memory.domain.memory_writes import Write
from agentic_memory.domain.pacing import PACING_KEY, Pacing, job_cost, next_step
from agentic_memory.observability import Metric, count, logger
from agentic_memory.stores import defer_queue, idempotency, pace_ledger

# A copy of the job found writing (Powertools' record in progress) is looked at again this much later.
COPY_WAIT_SECONDS = 5


class Throttled(Exception):
    """The job cannot be written now and cannot wait for its turn here; raised so that Lambda retries it."""


def _work_seconds(settings: Settings) -> float:
    # What a job's writes and its profile need of the invocation after a sleep: two Mem0 requests at their
    # timeout, and the profile's DynamoDB time (worker.profile_refresh.DYNAMODB_RESERVE_SECONDS).
    return 2 * settings.worker_timeout + 5.0


def cost(writes: Sequence[Write], settings: Settings) -> float:
    """Seconds of the schedule a job takes: its adds, and its reads (the profile's read of the caller's
    memories) when other requests are paced too."""
    reads = 1 if settings.profile_table else 0
    return job_cost(len(writes), reads, settings.mem0_add_limit, settings.mem0_request_limit, settings.mem0_pace_share)


def take_turn(
    job: Job,
    event: dict[str, Any],
    pacing: Pacing,
    writes: Sequence[Write],
    *,
    time_left: Callable[[], float] | None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Wait for the job's turn: ``None`` when it may write now (after a short sleep, if its turn was a moment
    away), else the job's result: ``{"status": "deferred", "delay_seconds": n}`` (it waits in the delay
    queue) or ``{"status": "expired"}`` (dropped). Raises ``Throttled`` (give up, or no queue to wait in) and
    DynamoDB's and SQS's errors."""
    settings = get_settings()
    if not writes or (pacing.slot is None and not pace_ledger.enabled(settings)):
        return None
    if pacing.slot is None and idempotency.was_ingested(job.conversation_id):
        return None  # a repeated delivery of a call already written: it asks Mem0 nothing, so it takes no turn
    now = time.time()
    slot = pacing.slot if pacing.slot is not None else pace_ledger.reserve(cost(writes, settings), now=now)
    step = next_step(
        slot,
        now,
        since=pacing.since,
        max_wait=settings.throttle_max_wait_seconds,
        expires_on=job.expires_on,
        time_left=time_left() if time_left is not None else None,
        can_defer=defer_queue.configured(),
        work_seconds=_work_seconds(settings),
    )
    if step.action == "run":
        return None
    if step.action == "sleep":
        sleep(step.seconds)
        return None
    if step.action == "expire":
        count(Metric.JOB_EXPIRED)
        logger.warning("job dropped unwritten: its memories would already have expired")
        return {"status": "expired", "writes": 0}
    if step.action == "defer":
        waiting = Pacing(slot=slot, since=pacing.since or now, deferrals=pacing.deferrals + 1)
        defer_queue.send({**event, PACING_KEY: waiting.model_dump()}, int(step.seconds))
        count(Metric.JOB_DEFERRED)
        logger.info(
            "job waits for its turn at Mem0",
            extra={"delay_seconds": int(step.seconds), "turn_in": round(slot - now, 1), "deferrals": waiting.deferrals},
        )
        return {"status": "deferred", "writes": 0, "delay_seconds": int(step.seconds)}
    reason = "waited too long for Mem0" if step.action == "give_up" else "no delay queue to wait in"
    raise Throttled(f"Mem0's quota: {reason} (turn in {step.seconds:.0f} s)")


def after_copy_in_progress(event: dict[str, Any], pacing: Pacing) -> dict[str, Any] | None:
    """Another copy of this call's job (a repeated delivery) is writing right now: a moment later this one will
    find everything written, so it waits ``COPY_WAIT_SECONDS`` in the queue rather than failing into Lambda's
    retries (paced copies of one call run close together). Its turn is taken again when it comes back, should
    the other copy have failed. ``None`` without a queue: the job then fails and Lambda retries it."""
    if not defer_queue.configured():
        return None
    waiting = Pacing(slot=None, since=pacing.since or time.time(), deferrals=pacing.deferrals + 1)
    defer_queue.send({**event, PACING_KEY: waiting.model_dump()}, COPY_WAIT_SECONDS)
    count(Metric.JOB_DEFERRED)
    logger.info("another copy of this job is writing; this one waits", extra={"delay_seconds": COPY_WAIT_SECONDS})
    return {"status": "deferred", "writes": 0, "delay_seconds": COPY_WAIT_SECONDS}


def after_throttle(job: Job, pacing: Pacing, writes: Sequence[Write], retry_after: float) -> Pacing:
    """Mem0 answered 429 despite the schedule: hold every worker off for ``retry_after`` seconds and take a
    new turn after that; returns the pacing to wait with (``take_turn`` then sleeps or defers)."""
    settings = get_settings()
    count(Metric.MEM0_THROTTLED)
    now = time.time()
    until = now + max(retry_after, 0.0)
    if pace_ledger.enabled(settings):
        pace_ledger.hold_off(until)
        slot = pace_ledger.reserve(cost(writes, settings), now=now)
    else:
        slot = until
    logger.warning("Mem0 answered 429; the job takes a later turn", extra={"retry_after": retry_after})
    return Pacing(slot=max(slot, until), since=pacing.since or now, deferrals=pacing.deferrals)
