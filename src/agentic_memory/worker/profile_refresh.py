"""The worker's step after a call's memories are written: the caller profile brought up to date.

The profile's Mem0 part (a bounded set of the caller's recent Mem0 facts) is read at the start of a job,
in the background while its writes run (``start_mem0_read``), so a Mem0 failure there never fails the
job; the facts the current call yields are still being extracted then, and reach the profile with the
caller's next call. ``update_profile`` then merges the call in (``stores.profile_table.update``). DESIGN.md
section 6. Our own lines are marked elsewhere (``worker.line_check``), never on a caller's item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain.job import Job
from agentic_memory.domain.profile import Mem0Snapshot, snapshot
from agentic_memory.observability import logger, mask_caller
from agentic_memory.stores import profile_table

DYNAMODB_RESERVE_SECONDS = 5.0  # what the profile's DynamoDB writes keep of the invocation's time
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="profile")
        return _pool


def start_mem0_read(job: Job, *, settings: Settings | None = None) -> Future[Mem0Snapshot] | None:
    """Start reading the caller's memories for the profile's Mem0 part, in the background (``None`` without
    ``PROFILE_TABLE``). ``MemoryStore.recent`` pages and sorts them (``get_all`` has no documented order:
    DESIGN.md section 4). Not for a call the profile already counts (a repeated delivery, a retried job: the
    profile keeps the Mem0 part it has, ``profile.merge``), where the read would change nothing (issue 23).
    A first call still reads: its caller may have memories older than the profile (a stack upgraded to
    profiles, a backfill), and a returning caller's read brings the facts Mem0 extracted from the last call."""
    settings = settings or get_settings()
    if not settings.profile_table:
        return None
    # Asked here, before the read starts: the read must go out ahead of this call's writes, since the profile
    # adds what they store to what it read (profile.merge). A DynamoDB error leaves the read to decide.
    try:
        if profile_table.counts_call(job, settings=settings):
            return None
    except Exception as exc:
        logger.warning("could not tell whether the profile counts this call", extra={"error": type(exc).__name__})
    read_at = time.time()

    def read() -> Mem0Snapshot | None:
        from agentic_memory.stores import mem0

        total, records = mem0.get_store("worker").recent(job.caller_id, app_id=job.app_id)
        return snapshot(total, records, read_at)

    return _executor().submit(read)


def finish_mem0_read(pending: Future[Mem0Snapshot] | None, wait_seconds: float) -> Mem0Snapshot | None:
    """The snapshot ``start_mem0_read`` read, or ``None`` when it failed or is still running after
    ``wait_seconds``: the profile then keeps the Mem0 facts it has. Never raises."""
    if pending is None:
        return None
    try:
        return pending.result(timeout=max(0.0, wait_seconds))
    except FutureTimeout:
        logger.warning("Mem0 read for the profile still running; keeping the profile's Mem0 facts")
    except Exception as exc:
        logger.warning("Mem0 read for the profile failed; keeping its Mem0 facts", extra={"error": type(exc).__name__})
    return None


def update_profile(
    job: Job,
    pending: Future[Mem0Snapshot] | None = None,
    *,
    verbatim: int = 0,
    time_left: Callable[[], float] | None = None,
) -> str:
    """Merge the call into the profile: ``profile_table.update``'s result
    (``written``, ``unchanged``, ``disabled``). ``verbatim``: the memories the call wrote as sent
    (``memory_writes.verbatim_memories``); ``time_left()``: seconds the invocation has left. DynamoDB errors
    propagate (the job is retried); Mem0's never do."""
    settings = get_settings()
    if not settings.profile_table:
        return "disabled"
    wait = settings.worker_timeout
    if time_left is not None:  # leave time for the DynamoDB writes
        wait = min(wait, max(0.0, time_left() - DYNAMODB_RESERVE_SECONDS))
    mem0_part = finish_mem0_read(pending, wait)
    outcome = profile_table.update(job, mem0_part, verbatim=verbatim, settings=settings)
    logger.info(
        "caller profile kept",
        extra={"caller": mask_caller(job.caller_id), "profile": outcome, "mem0": mem0_part is not None},
    )
    return outcome
