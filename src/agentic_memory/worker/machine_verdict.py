"""The post-call function's asynchronous run for Twilio's answering-machine verdict: a machine's call is
never remembered, whichever order the verdict and the call's transcription arrive in.

``domain.answering_machine`` reads the event (E1: its own webhook event, possibly after the transcription
webhook); ``edge.post_call`` hands a machine verdict here as a ``MachineVerdict`` job. Two orders:

* **verdict first**: ``run_verdict`` records the machine mark; the transcription job that comes later
  finds it and writes nothing (``job_runner``);
* **verdict after the call's job**: the job recorded who it wrote for (``stores.call_marks``), so
  ``run_verdict`` deletes what the call wrote in Mem0 (every memory whose ``metadata.conversation_id`` is
  the call's) and takes the call out of the caller profile (``profile_table.remove_call``).

A job running at the same moment as the verdict is covered too: the job records itself before writing and
looks for the mark after; the verdict records the mark before looking (``stores.call_marks``). Mem0 extracts
an ``infer=True`` conversation after answering the add (DESIGN.md section 4), so memories may still appear
after the first sweep: when the call was written less than ``EXTRACTION_WINDOW_SECONDS`` ago, Mem0 is swept
again after ``RESWEEP_SECONDS``, time allowing. An extraction later than that is the one gap left, and is
said so in docs/reliability.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agentic_memory.domain.answering_machine import MachineVerdict, is_verdict_job
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import call_marks, idempotency, mem0, profile_table

EXTRACTION_WINDOW_SECONDS = 120
RESWEEP_SECONDS = 10.0
RESERVE_SECONDS = 8.0  # what a sweep needs of the invocation's time

__all__ = ["forget_call", "is_verdict_job", "run_verdict"]


def run_verdict(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Act on a ``MachineVerdict`` job: ``{"status": "suppressed"}`` (nothing was written for the call; its
    job will write nothing), ``{"status": "removed", "memories": n}`` or ``{"status": "invalid"}`` (a
    malformed job, dropped). DynamoDB's and Mem0's errors raise, so that Lambda retries the job."""
    try:
        verdict = MachineVerdict.model_validate(event)
    except Exception:
        logger.error("malformed machine verdict job dropped", extra={"keys": sorted(map(str, event))[:20]})
        count(Metric.JOB_IGNORED)
        return {"status": "invalid"}
    logger.set_correlation_id(verdict.conversation_id)
    call_marks.note_machine(verdict.conversation_id, verdict.answered_by)  # first: see stores.call_marks
    written = call_marks.written_call(verdict.conversation_id)
    if written is None:
        logger.info("machine verdict noted before the call was remembered", extra={"verdict": verdict.answered_by})
        idempotency.mark_ingested(verdict.conversation_id, None)
        return {"status": "suppressed"}
    caller, app_id, written_at = written
    removed = forget_call(caller, app_id, verdict.conversation_id, written_at=written_at, time_left=_time_left(context))
    return {"status": "removed", "memories": removed}


def forget_call(
    caller: str,
    app_id: str | None,
    conversation_id: str,
    *,
    written_at: int | None = None,
    time_left: Callable[[], float] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Delete what the call ``conversation_id`` wrote for ``caller``: its Mem0 memories, its place in the
    profile, the written record. Returns the memories deleted. Raises Mem0's errors after the store's
    retries, and DynamoDB's."""
    store = mem0.get_store("worker")
    removed = mem0.with_retries(
        lambda: store.forget_conversation(caller, conversation_id, app_id=app_id), time_left=time_left
    )
    outcome = profile_table.remove_call(caller, app_id, conversation_id)
    recent = written_at is not None and time.time() - written_at < EXTRACTION_WINDOW_SECONDS
    if recent and (time_left is None or time_left() > RESWEEP_SECONDS + RESERVE_SECONDS):
        sleep(RESWEEP_SECONDS)  # Mem0 may still be extracting the conversation's facts
        removed += mem0.with_retries(
            lambda: store.forget_conversation(caller, conversation_id, app_id=app_id), time_left=time_left
        )
    call_marks.forget_written(conversation_id)
    idempotency.mark_ingested(conversation_id, caller)
    count(Metric.CALL_NOT_REMEMBERED)
    logger.info(
        "answering machine's call forgotten",
        extra={"caller": mask_caller(caller), "memories": removed, "profile": outcome},
    )
    return removed


def _time_left(context: Any) -> Callable[[], float] | None:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return lambda: context.get_remaining_time_in_millis() / 1000
