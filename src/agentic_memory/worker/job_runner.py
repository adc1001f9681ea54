"""The post-call function's asynchronous run: one call's memories written to Mem0, then its caller profile.

DESIGN.md section 8. Errors propagate: Lambda retries the job twice, then parks it in the dead-letter
queue. Every write is idempotent (idempotency key: caller, conversation, write kind), so a retry never
writes twice; and a write that reached Mem0 before the worker died, leaving no completed idempotency
record, is found in Mem0 by its metadata and not written again.
"""

from __future__ import annotations

import time
from typing import Any

from agentic_memory.domain.job import Job, is_job
from agentic_memory.domain.memory_writes import Write, plan_writes, verbatim_memories
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import call_marks, idempotency, mem0
from agentic_memory.worker import machine_verdict, profile_refresh

__all__ = ["is_job", "run_job"]


def run_job(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Write the job ``event`` (a ``domain.job.Job`` as JSON). Returns ``{"status": "written", "writes": n}``,
    ``{"status": "duplicate", "writes": 0}`` (everything was written before), ``{"status": "machine"}`` (an
    answering machine took the call: nothing is kept, ``worker.machine_verdict``) or ``{"status": "invalid"}``
    (a malformed job, dropped: retries cannot mend it). Raises Mem0's and DynamoDB's errors after its own
    retries, so that Lambda retries the job."""
    try:
        job = Job.model_validate(event)
    except Exception:
        # A malformed job cannot get better with retries; say so and drop it.
        logger.error("malformed post-call job dropped", extra={"keys": sorted(map(str, event))[:20]})
        count(Metric.JOB_IGNORED)
        return {"status": "invalid"}
    logger.set_correlation_id(job.conversation_id)
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    if job.machine_detectable:  # an outbound Twilio call: Twilio's machine verdict may come (or have come)
        if call_marks.machine_verdict(job.conversation_id):
            return _machine(job)
        call_marks.note_written(job.conversation_id, job.caller_id, job.app_id)
    performed: list[int] = []
    writes = plan_writes(job)
    already: set[str] | None = None
    expiration = job.expires_on.isoformat() if job.expires_on else None
    pending = profile_refresh.start_mem0_read(job)  # the caller's Mem0 facts, read while the writes run

    def store() -> mem0.MemoryStore:
        return mem0.get_store("worker")

    for planned in writes:
        payload = {"key": f"{job.caller_id}#{job.conversation_id}#{planned.kind}", "write": planned.model_dump()}

        def write_memories(write: dict[str, Any]) -> dict[str, Any]:
            nonlocal already
            planned_write = Write.model_validate(write["write"])
            if already is None:  # the crash window: what reached Mem0 before an earlier attempt died
                already = mem0.with_retries(
                    lambda: store().written_for(job.caller_id, job.conversation_id, app_id=job.app_id),
                    time_left=time_left,
                )
            if planned_write.kind in already:
                logger.info("write found in Mem0 already", extra={"kind": planned_write.kind})
                return {"written": 0, "found": True}
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
            )
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
