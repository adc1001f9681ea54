"""The post-call function's asynchronous run: one call's memories written to Mem0, then its caller profile.

DESIGN.md section 8. Errors propagate: Lambda retries the job twice, then parks it in the dead-letter
queue. Every write is idempotent (idempotency key: caller, conversation, write kind), so a retry never
writes twice; and a write that may have reached Mem0 before an earlier attempt died (its "sending" mark is
there but no completed idempotency record) is looked for in Mem0 by its metadata and not written again.

Mem0's quota (issue 23): before writing, the job takes its turn on the project's schedule
(``worker.throttling``); a job whose turn is later, or that meets a 429, waits (in the invocation for a
moment, else in the SQS delay queue) instead of spending Lambda's retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agentic_memory.config import get_settings
from agentic_memory.domain import agents
from agentic_memory.domain.job import Job, is_job
from agentic_memory.domain.memory_writes import Write, plan_writes, verbatim_memories
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import call_marks, idempotency, mem0
from agentic_memory.worker import line_check, machine_verdict, profile_refresh, retention_sweep

__all__ = ["is_job", "run_job"]

# A job meets Mem0's 429 at most this often in one invocation before it waits in the queue or fails.
MAX_TURNS = 3


def run_job(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Write the job ``event`` (a ``domain.job.Job`` as JSON, with the ``pacing`` object of a job that waited).
    Returns ``{"status": "written", "writes": n}``, ``{"status": "duplicate", "writes": 0}`` (everything was
    written before), ``{"status": "own_line", "writes": 0}`` (a call between our own lines:
    ``worker.line_check``), ``{"status": "machine"}`` (an answering machine took the call: nothing is kept,
    ``worker.machine_verdict``), ``{"status": "ignored", "writes": 0}`` (an agent without memory: a job queued
    before the agent left ``MEMORY_AGENT_IDS``, a replayed one), ``{"status": "deferred", "writes": 0,
    "delay_seconds": n}`` (it waits in the delay queue
    for its turn at Mem0), ``{"status": "expired", "writes": 0}`` (it waited past its memories' expiry) or
    ``{"status": "invalid"}`` (a malformed job, dropped: retries cannot mend it). Raises Mem0's and DynamoDB's
    errors after its own retries, and ``throttling.Throttled``, so that Lambda retries the job."""
    try:
        job = Job.model_validate(event)
    except Exception:
        # A malformed job cannot get better with retries; say so and drop it.
        logger.error("malformed post-call job dropped", extra={"keys": sorted(map(str, event))[:20]})
        count(Metric.JOB_IGNORED)
        return {"status": "invalid"}
    # Loaded here, not with the module: the post-call function imports this module at init, and its
    # acknowledgement's cold start need not load the pace's code (worker.throttling, domain.pacing).
    from agentic_memory.domain.pacing import Pacing
    from agentic_memory.worker import throttling

    logger.set_correlation_id(job.conversation_id)
    settings = get_settings()
    if not agents.memory_enabled(job.agent_id, settings):
        count(Metric.AGENT_NOT_ENABLED)
        logger.info("post-call job dropped", extra={"reason": agents.not_enabled_reason(job.agent_id)})
        return {"status": "ignored", "writes": 0}
    if not line_check.stored(job, settings=settings):
        idempotency.mark_ingested(job.conversation_id, None)  # nothing to write, ever: reconcile stops asking
        return {"status": "own_line", "writes": 0}
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    if job.machine_detectable:  # an outbound Twilio call: Twilio's machine verdict may come (or have come)
        if call_marks.machine_verdict(job.conversation_id):
            return _machine(job)
        call_marks.note_written(job.conversation_id, job.caller_id, job.app_id)
    writes = plan_writes(job)
    pacing = Pacing.of(event)
    for _ in range(MAX_TURNS):
        waited = throttling.take_turn(job, event, pacing, writes, time_left=time_left)
        if waited is not None:
            return waited
        try:
            return _write(job, writes, context, time_left)
        except Exception as error:
            if idempotency.in_progress(error):
                waited = throttling.after_copy_in_progress(event, pacing)
                if waited is None:
                    raise
                return waited
            retry_after = mem0.throttled_for(error)
            if retry_after is None:
                raise
            pacing = throttling.after_throttle(job, pacing, writes, retry_after)
    raise throttling.Throttled("Mem0 kept answering 429")


def _write(job: Job, writes: list[Write], context: Any, time_left: Callable[[], float] | None) -> dict[str, Any]:
    """The job's writes, each at most once, then the caller profile."""
    performed: list[int] = []
    already: set[str] | None = None
    expiration = job.expires_on.isoformat() if job.expires_on else None
    # Retention: the call's due time goes in the ledger before any of its memories exist (worker.retention_sweep).
    retention_sweep.record_due(job)
    pending = profile_refresh.start_mem0_read(job)  # the caller's Mem0 facts, read while the writes run

    def store() -> mem0.MemoryStore:
        return mem0.get_store("worker")

    for planned in writes:
        payload = {"key": f"{job.caller_id}#{job.conversation_id}#{planned.kind}", "write": planned.model_dump()}

        def write_memories(write: dict[str, Any]) -> dict[str, Any]:
            nonlocal already
            planned_write = Write.model_validate(write["write"])
            # The crash window: an earlier attempt may have sent this write and died before its record
            # completed. Only then is Mem0 asked what it already holds of the conversation.
            if idempotency.note_sending(write["key"]):
                if already is None:
                    already = mem0.with_retries(
                        lambda: store().written_for(job.caller_id, job.conversation_id, app_id=job.app_id),
                        time_left=time_left,
                        retry_throttled=False,
                    )
                if planned_write.kind in already:
                    logger.info("write found in Mem0 already", extra={"kind": planned_write.kind})
                    return {"written": 0, "found": True}
            try:
                mem0.with_retries(
                    lambda: store().add(
                        job.caller_id,
                        planned_write.messages,
                        metadata=planned_write.metadata,
                        infer=planned_write.infer,
                        app_id=job.app_id,
                        expiration_date=expiration,
                    ),
                    time_left=time_left,
                    retry_throttled=False,
                )
            except Exception as error:
                if mem0.refused(error):  # Mem0 holds nothing of it: the next attempt need not look
                    idempotency.clear_sending(write["key"])
                raise
            performed.append(len(planned_write.messages))
            return {"written": len(planned_write.messages)}

        idempotency.once(write_memories, payload, context=context)
    # The memories are written: now the caller profile (DynamoDB errors raise, so Lambda retries the job).
    profile_refresh.update_profile(job, pending, verbatim=verbatim_memories(writes), time_left=time_left)
    if job.machine_detectable and call_marks.machine_verdict(job.conversation_id):  # the verdict came meanwhile
        machine_verdict.forget_call(
            job.caller_id, job.app_id, job.conversation_id, written_at=int(time.time()), time_left=time_left
        )
        return {"status": "machine"}
    if writes and not performed:
        count(Metric.JOB_DUPLICATE)
        logger.info("post-call job already written", extra={"writes": len(writes)})
        idempotency.mark_ingested(job.conversation_id, job.caller_id)
        return {"status": "duplicate", "writes": 0}
    count(Metric.MEMORIES_WRITTEN, sum(performed))
    logger.info(
        "post-call job written",
        extra={"caller": mask_caller(job.caller_id), "writes": len(performed), "messages": sum(performed)},
    )
    idempotency.mark_ingested(job.conversation_id, job.caller_id)  # reconcile and backfill skip it from now on
    return {"status": "written", "writes": len(performed)}


def _machine(job: Job) -> dict[str, Any]:
    """A job whose call an answering machine took (the verdict came first): nothing is written."""
    count(Metric.CALL_NOT_REMEMBERED)
    logger.info("call not remembered: an answering machine took it", extra={"caller": mask_caller(job.caller_id)})
    idempotency.mark_ingested(job.conversation_id, None)
    return {"status": "machine"}
