"""The retention sweep: what retention or a call's deletion settings say must go is deleted, not hidden.

Mem0's ``expiration_date`` only hides a memory (``domain.retention``), so the promise rests here. The worker
writes a ledger line for each call that has a due time before it writes the call's memories
(``record_due``); EventBridge invokes the post-call function every 15 minutes with ``{"kind": "retention_sweep"}``
(template.yaml ``RetentionSweepSchedule``, always on: a workspace's deletion settings can make a call due
even when ``MEMORY_RETENTION_DAYS`` is 0), and ``handle`` then, for each line due (``stores.retention_ledger``,
earliest first):

1. finds the memories of that call (or note) in Mem0 by their metadata (``conversation_id`` / ``note_id``:
   the ids of an ``infer=True`` add are not known when it is written) and deletes each by id (four at a
   time); a memory
   already gone (404) counts as deleted, so a run can stop anywhere and the next one repeats nothing harmful;
2. trims the caller profile (``domain.profile_edits.without``, the Mem0 part read again after the deletes),
   or deletes it when nothing of the caller is left;
3. records the deletion in the audit trail (``stores.audit_log``), ids and counts only;
4. removes the line, or, when it was written less than an hour ago (Mem0 may still be extracting that
   call's memories), moves it an hour on to look once more.

Bounded in time: a run stops while it has ``reserve`` seconds left and leaves the rest to the next run; lines
are removed only once done, so it resumes where it stopped. Mem0's rate limit: a 429's ``Retry-After`` is
waited for while time allows (``stores.mem0.with_retries``), else the run stops and the next one resumes.
Other failures are counted per line; after ``MAX_ERRORS`` the run stops (Mem0 is probably down). Nothing not
due is touched: only lines due now are read, and only memories carrying that line's call or note id.

Metrics: ``MemoriesExpired`` (memories deleted) and ``RetentionSweepFailed`` (a run that failed, a line that
could not be swept, an audit record that could not be written, or a line overdue by more than 12 hours:
template.yaml's ``RetentionSweepFailedAlarm``). Log lines carry counts, ids and masked callers only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import profile_edits
from agentic_memory.domain.job import Job
from agentic_memory.domain.profile import snapshot
from agentic_memory.domain.retention import CALL, OVERDUE_SECONDS, SETTLE_SECONDS, DueEntry
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import audit_log, mem0, profile_table, retention_ledger

SWEEPER = "retention-sweep"
MIN_RESERVE_SECONDS = 5.0
MAX_ERRORS = 5
MAX_LISTED_FAILURES = 20
DELETE_WORKERS = 4


def record_due(job: Job, *, now: int | None = None, settings: Settings | None = None) -> bool:
    """Write the ledger line of ``job``'s call when it has a due time (``Job.due_at``); ``True`` when written.
    Called by the worker before any of the call's memories are written. DynamoDB errors propagate."""
    due = job.due_at
    if due is None:
        return False
    entry = DueEntry(
        caller=job.caller_id,
        kind=CALL,
        ref=job.conversation_id,
        due_at=int(due),
        recorded_at=int(time.time()) if now is None else now,
        app_id=job.app_id,
    )
    return retention_ledger.record(entry, settings=settings)


@dataclass
class Outcome:
    """What a run did. ``status``: ``done`` (nothing due is left), ``partial`` (out of time), ``throttled``
    (Mem0 asked to wait ``retry_after`` seconds), ``failed``, ``disabled`` (no profile table, so no ledger)."""

    status: str = "done"
    swept: int = 0
    postponed: int = 0
    memories_deleted: int = 0
    profiles_trimmed: int = 0
    profiles_deleted: int = 0
    errors: int = 0
    overdue: bool = False
    retry_after: float | None = None
    reason: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("Mem0 asked to slow down")
        self.retry_after = retry_after


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The post-call function's entry for the sweep's event; returns ``Outcome.as_dict()``. Never raises: a
    failed run is logged and counted (``RetentionSweepFailed``), and the next run tries again."""
    settings = get_settings()
    if not settings.profile_table:
        logger.info("retention sweep skipped: PROFILE_TABLE is not set (no ledger)")
        return Outcome(status="disabled").as_dict()
    try:
        outcome = run(time_left=_time_left(context), settings=settings, now=int(time.time()))
    except Exception:
        logger.exception("retention sweep failed")
        count(Metric.RETENTION_SWEEP_FAILED)
        return Outcome(status="failed", reason="unexpected error").as_dict()
    return outcome.as_dict()


def run(
    *,
    time_left: Callable[[], float],
    settings: Settings,
    now: int,
    sleep: Callable[[float], None] | None = None,
) -> Outcome:
    """Sweep every ledger line due at ``now`` (unix seconds) while ``time_left()`` seconds allow."""
    outcome = Outcome()
    remaining = time_left()
    reserve = min(
        max(MIN_RESERVE_SECONDS, settings.worker_timeout * 2 + 2),
        max(MIN_RESERVE_SECONDS, remaining * 0.6) if math.isfinite(remaining) else math.inf,
    )
    try:
        for entry in retention_ledger.due(now, settings=settings):
            if time_left() < reserve:
                outcome.status, outcome.reason = "partial", "out of time"
                break
            try:
                _sweep(entry, outcome, now=now, settings=settings, time_left=time_left, sleep=sleep)
            except _Throttled as throttled:
                outcome.status, outcome.reason = "throttled", str(throttled)
                outcome.retry_after = throttled.retry_after
                break
            except Exception as exc:
                outcome.errors += 1
                if len(outcome.failures) < MAX_LISTED_FAILURES:
                    outcome.failures.append({"caller": mask_caller(entry.caller), "kind": entry.kind, "ref": entry.ref})
                logger.warning(
                    "retention sweep could not sweep a ledger line",
                    extra={"caller": mask_caller(entry.caller), "ref": entry.ref, "error": type(exc).__name__},
                )
                if outcome.errors > MAX_ERRORS:
                    outcome.status, outcome.reason = "failed", f"{outcome.errors} ledger lines failed in this run"
                    break
    except Exception as exc:  # the ledger itself could not be read
        outcome.status, outcome.reason = "failed", f"the ledger could not be read: {type(exc).__name__}"
        logger.error("retention sweep could not read the ledger", extra={"error": type(exc).__name__})
    try:
        oldest = retention_ledger.oldest_due(settings=settings)
        outcome.overdue = oldest is not None and oldest < now - OVERDUE_SECONDS
    except Exception:
        outcome.overdue = False
    if outcome.memories_deleted:
        count(Metric.MEMORIES_EXPIRED, outcome.memories_deleted)
    if outcome.status == "failed" or outcome.errors or outcome.overdue:
        count(Metric.RETENTION_SWEEP_FAILED)
    logger.info("retention sweep finished", extra={k: v for k, v in outcome.as_dict().items() if k != "failures"})
    return outcome


def _patient[T](work: Callable[[], T], time_left: Callable[[], float], sleep: Callable[[float], None] | None) -> T:
    """``work()`` with the worker's retries (429's Retry-After honoured while time allows); Mem0's rate limit
    that outlasts them stops the run (``_Throttled``)."""
    try:
        return mem0.with_retries(work, time_left=time_left, sleep=sleep)
    except Exception as exc:
        wait = mem0.throttled_for(exc)
        if wait is not None:
            raise _Throttled(wait) from None
        raise


def _sweep(
    entry: DueEntry,
    outcome: Outcome,
    *,
    now: int,
    settings: Settings,
    time_left: Callable[[], float],
    sleep: Callable[[float], None] | None,
) -> None:
    store = mem0.get_store("worker")
    records = _patient(lambda: store.records_where(entry.caller, entry.reference_key, entry.ref), time_left, sleep)
    ids = [str(record["id"]) for record in records if record.get("id")]
    # A few deletes at once: each is one round trip to Mem0, and a call leaves a dozen memories or so.
    with ThreadPoolExecutor(max_workers=DELETE_WORKERS, thread_name_prefix="sweep") as pool:
        done = list(pool.map(lambda memory_id: _patient(lambda: store.delete(memory_id), time_left, sleep), ids))
    deleted = sum(1 for gone in done if gone)
    outcome.memories_deleted += deleted

    def trimmed(state: Any) -> tuple[str, Any]:
        if state is None:
            return profile_edits.KEEP, None
        total, remaining = _patient(lambda: store.recent(entry.caller, app_id=entry.app_id), time_left, sleep)
        fresh = snapshot(total, remaining, time.time())
        calls, notes = ((entry.ref,), ()) if entry.kind == CALL else ((), (entry.ref,))
        return profile_edits.without(state, calls=calls, notes=notes, snapshot=fresh, remaining=remaining)

    profile = profile_table.rewrite(entry.caller, entry.app_id, trimmed, drop_expired=True, settings=settings)
    if profile == profile_edits.WRITE:
        outcome.profiles_trimmed += 1
    elif profile == profile_edits.DELETE:
        outcome.profiles_deleted += 1
    try:
        audit_log.record(
            who=SWEEPER,
            action="retention_delete",
            source="sweep",
            caller_masked=mask_caller(entry.caller),
            detail={
                "deletes": entry.kind,
                "ref": entry.ref,
                "memories_deleted": deleted,
                "profile": profile,
                "due_at": entry.due_at,
            },
            outcome="done",
            settings=settings,
        )
    except audit_log.AuditUnavailable:  # the data goes regardless: deleting on time matters more
        outcome.errors += 1
        logger.error("retention sweep deleted without an audit record", extra={"ref": entry.ref})
    if entry.settled(now):
        retention_ledger.finish(entry, settings=settings)
        outcome.swept += 1
    else:
        retention_ledger.postpone(entry, entry.recorded_at + SETTLE_SECONDS, settings=settings)
        outcome.postponed += 1
    logger.info(
        "retention sweep deleted a call's memories" if entry.kind == CALL else "retention sweep deleted a note",
        extra={"caller": mask_caller(entry.caller), "ref": entry.ref, "memories": deleted, "profile": profile},
    )


def _time_left(context: Any) -> Callable[[], float]:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return lambda: math.inf
    return lambda: context.get_remaining_time_in_millis() / 1000
