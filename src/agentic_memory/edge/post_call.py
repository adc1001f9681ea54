"""``post_call``'s HTTP path: ElevenLabs' signed post-call webhook, verified, turned into a compact job,
handed to this same function asynchronously, and answered at once.

DESIGN.md 3.3. Only HTTP 200 counts as delivered for ElevenLabs, so a signed payload we ignore (another
event type, a call not to remember) gets 200 too; bad input a 4xx; a failed hand-off a 500, so that
ElevenLabs may send it again. The job runs in ``worker.job_runner``.
"""

from __future__ import annotations

from typing import Any

from agentic_memory.config import get_settings
from agentic_memory.domain import answering_machine
from agentic_memory.domain.conversation import TRANSCRIPTION, PostCallEnvelope, TranscriptionData
from agentic_memory.domain.job import NotRemembered, job_for_conversation
from agentic_memory.edge import auth, health
from agentic_memory.edge.http import json_response, parse_json_object, parse_request, respond
from agentic_memory.edge.requests import parse
from agentic_memory.errors import DispatchFailed, Unauthorized
from agentic_memory.observability import Metric, count, count_intake, logger, mask_caller
from agentic_memory.stores import lambda_invoke, snapstart  # noqa: F401  (snapstart: the hook)


def prepare() -> None:
    """Init-phase work: the webhook secret read from the secret store (nothing without one). Never raises."""
    auth.prepare_webhook_secret()


def handle(event: Any, context: Any) -> dict[str, Any]:
    """One webhook delivery (an API Gateway HTTP API event) -> ``{"status": "accepted", "conversation_id"}``
    once the job is queued for ``context.function_name``, ``{"status": "ignored", "reason"}`` for a signed
    payload we do not act on (both 200); 400/401/405/413 for bad input; 500 when the job could not be queued."""
    if health.is_health_check(event):  # GET /: no key, no store (edge/health.py)
        return health.answer("post-call")

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse_request(event, max_body_bytes=settings.max_post_call_body_bytes)
        try:
            auth.verify_webhook(request, tolerance_seconds=settings.signature_tolerance_seconds)
        except Unauthorized:
            count(Metric.SIGNATURE_REJECTED)
            raise
        envelope = parse(PostCallEnvelope, parse_json_object(request), "post-call webhook")
        if envelope.type == answering_machine.EVENT_TYPE:
            return _machine_verdict(envelope.data, context)
        if envelope.type != TRANSCRIPTION:
            return _ignored(f"event type {envelope.type[:60]!r} is not used")
        data = parse(TranscriptionData, envelope.data, "post_call_transcription data")
        if isinstance(data.conversation_id, str) and data.conversation_id.strip():
            logger.set_correlation_id(data.conversation_id.strip()[:200])
        job = job_for_conversation(data, envelope.event_timestamp, settings)
        count_intake(job)
        if isinstance(job, NotRemembered):
            return _ignored(job.reason)
        try:
            lambda_invoke.invoke_async(context.function_name, job.model_dump_json().encode())
        except Exception as exc:
            logger.exception("could not hand the job to the worker")
            raise DispatchFailed("The call could not be queued; please retry.") from exc
        count(Metric.JOB_ACCEPTED)
        logger.info(
            "post-call job queued",
            extra={"caller": mask_caller(job.caller_id), "turns": len(job.turns), "facts": len(job.data_collection)},
        )
        return json_response(200, {"status": "accepted", "conversation_id": job.conversation_id})

    return respond(work)


def _machine_verdict(data: dict[str, Any], context: Any) -> dict[str, Any]:
    """An ``answering_machine_detection`` event (E1; ``domain.answering_machine`` says what is assumed of it):
    a machine verdict becomes a job for the worker, which forgets or forestalls the call's memories; any
    other verdict, or one we cannot read, is ignored. 200 either way; 500 only when the job could not be
    queued (as for a transcription)."""
    conversation_id, verdict = answering_machine.read(data)
    if conversation_id is None or verdict is None:
        return _ignored("answering machine detection without a conversation or a verdict we know")
    logger.set_correlation_id(conversation_id)
    if not answering_machine.is_machine(verdict):
        return _ignored(f"answering machine detection: {verdict}")
    agent = data.get("agent_id")
    job = answering_machine.MachineVerdict(
        conversation_id=conversation_id,
        answered_by=verdict,
        agent_id=agent.strip()[:200] if isinstance(agent, str) and agent.strip() else None,
    )
    try:
        lambda_invoke.invoke_async(context.function_name, job.model_dump_json().encode())
    except Exception as exc:
        logger.exception("could not hand the machine verdict to the worker")
        raise DispatchFailed("The verdict could not be queued; please retry.") from exc
    count(Metric.JOB_ACCEPTED)
    logger.info("machine verdict queued", extra={"verdict": verdict})
    return json_response(200, {"status": "accepted", "conversation_id": conversation_id})


def _ignored(reason: str) -> dict[str, Any]:
    count(Metric.JOB_IGNORED)
    logger.info("post-call event ignored", extra={"reason": reason})
    return json_response(200, {"status": "ignored", "reason": reason})
