"""The three endpoints and the post-call worker: each handler calls exactly one function here."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agentic_memory import auth, aws, idempotency, ingest, memory, personalize
from agentic_memory.config import get_settings
from agentic_memory.elevenlabs import (
    TRANSCRIPTION,
    InitiationRequest,
    PostCallEnvelope,
    RetrieveRequest,
    TranscriptionData,
    normalize_caller,
    parse,
    resolve_caller,
)
from agentic_memory.errors import BadRequest, DispatchFailed, MemoryUnavailable, Unauthorized
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.web import json_response, parse_json_object, parse_request, respond

RECENT_MEMORIES = 50
MAX_QUERY_CHARS = 500
NOTE_NO_CALLER = "No caller id on this call, so there is nothing remembered to search."
NOTE_NOTHING_FOUND = "Nothing relevant is remembered about this caller."
NOTE_UNAVAILABLE = "Memory is unavailable right now; carry on without it."


def _authorized_json(event: Any) -> dict[str, Any]:
    """Size, workspace key, then JSON: the order that leaks least to an unauthenticated caller."""
    settings = get_settings()
    request = parse_request(event, max_body_bytes=settings.max_body_bytes)
    try:
        auth.check_workspace_key(request.header(auth.WORKSPACE_KEY_HEADER), settings.workspace_keys)
    except Unauthorized:
        count(Metric.AUTH_REJECTED)
        raise
    return parse_json_object(request)


def client_data(event: Any) -> dict[str, Any]:
    """Conversation initiation: what we remember of the caller, as dynamic variables. Always 200
    once authenticated and well-formed; Mem0 being slow or down only makes the caller look new."""

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse(InitiationRequest, _authorized_json(event), "conversation initiation request")
        caller = normalize_caller(request.caller_id, default_country_code=settings.default_country_code)
        total, records = 0, []
        if caller:
            try:
                total, records = memory.within(
                    settings.interactive_timeout,
                    lambda: memory.get_store().recent(caller, RECENT_MEMORIES),
                )
            except MemoryUnavailable as exc:
                count(Metric.DEGRADED_ANSWER)
                logger.warning("answering as a new caller", extra={"reason": str(exc)})
        try:
            dynamic = personalize.variables(caller, total, records, settings)
        except Exception:  # a bug here must not fail the call: fall back to the new-caller answer
            logger.exception("personalisation failed; answering as a new caller")
            count(Metric.DEGRADED_ANSWER)
            dynamic = personalize.variables(caller, 0, [], settings)
        returning = dynamic["returning_caller"] == "yes"
        count(Metric.CALLER_RETURNING if returning else Metric.CALLER_NEW)
        count(Metric.MEMORIES_FOUND, len(records))
        logger.info(
            "client data answered",
            extra={"caller": mask_caller(caller), "returning": returning, "memories": len(records)},
        )
        return json_response(200, personalize.client_data_response(dynamic, settings))

    return respond(work)


def retrieve(event: Any) -> dict[str, Any]:
    """The agent's memory search tool: plain sentences for the LLM, never ids or scores."""

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse(RetrieveRequest, _authorized_json(event), "retrieve request")
        caller = normalize_caller(request.user_id, default_country_code=settings.default_country_code)
        if not caller:
            return json_response(200, {"memories": [], "note": NOTE_NO_CALLER})
        query = request.query[:MAX_QUERY_CHARS]
        try:
            records = memory.within(
                settings.interactive_timeout,
                lambda: memory.get_store().search(caller, query, settings.search_limit),
            )
        except MemoryUnavailable as exc:
            count(Metric.DEGRADED_ANSWER)
            logger.warning("memory search unavailable", extra={"reason": str(exc)})
            return json_response(200, {"memories": [], "note": NOTE_UNAVAILABLE})
        count(Metric.MEMORIES_FOUND, len(records))
        logger.info("memories searched", extra={"caller": mask_caller(caller), "found": len(records)})
        body: dict[str, Any] = {"memories": [record.text for record in records]}
        if not records:
            body["note"] = NOTE_NOTHING_FOUND
        return json_response(200, body)

    return respond(work)


def post_call(event: Any, context: Any) -> dict[str, Any]:
    """The signed post-call webhook: verify, hand a compact job to the worker, answer at once."""

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse_request(event, max_body_bytes=settings.max_post_call_body_bytes)
        try:
            auth.verify_signature(
                request.header(auth.SIGNATURE_HEADER),
                request.body,
                settings.hmac_keys,
                tolerance_seconds=settings.signature_tolerance_seconds,
            )
        except Unauthorized:
            count(Metric.SIGNATURE_REJECTED)
            raise
        envelope = parse(PostCallEnvelope, parse_json_object(request), "post-call webhook")
        if envelope.type != TRANSCRIPTION:
            return _ignored(f"event type {envelope.type[:60]!r} is not used")
        data = parse(TranscriptionData, envelope.data, "post_call_transcription data")
        if not data.conversation_id:
            raise BadRequest("data.conversation_id is missing.", code="invalid_payload")
        logger.set_correlation_id(data.conversation_id)
        caller = resolve_caller(data, default_country_code=settings.default_country_code)
        if not caller:
            return _ignored("no caller to remember (withheld or missing caller id)")
        try:
            job = ingest.build_job(
                data,
                caller_id=caller,
                event_timestamp=envelope.event_timestamp,
                caller_name_field=settings.caller_name_field,
            )
        except ValidationError:  # a field the job bounds (an over-long conversation id): the sender's error
            raise BadRequest("The post-call payload has a field out of bounds.", code="invalid_payload") from None
        try:
            aws.invoke_async(context.function_name, job.model_dump_json().encode())
        except Exception as exc:
            logger.exception("could not hand the job to the worker")
            raise DispatchFailed("The call could not be queued; please retry.") from exc
        count(Metric.JOB_ACCEPTED)
        logger.info(
            "post-call job queued",
            extra={"caller": mask_caller(caller), "turns": len(job.turns), "facts": len(job.data_collection)},
        )
        return json_response(200, {"status": "accepted", "conversation_id": data.conversation_id})

    return respond(work)


def _ignored(reason: str) -> dict[str, Any]:
    count(Metric.JOB_IGNORED)
    logger.info("post-call event ignored", extra={"reason": reason})
    return json_response(200, {"status": "ignored", "reason": reason})


def run_job(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The asynchronous worker. Errors propagate: Lambda retries twice, then parks the job in the
    dead-letter queue. Every write is idempotent, so a retry never writes twice."""
    try:
        job = ingest.Job.model_validate(event)
    except Exception:
        # A malformed job cannot get better with retries; say so and drop it.
        logger.error("malformed post-call job dropped", extra={"keys": sorted(map(str, event))[:20]})
        count(Metric.JOB_IGNORED)
        return {"status": "invalid"}
    logger.set_correlation_id(job.conversation_id)
    settings = get_settings()
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    performed: list[int] = []
    writes = ingest.plan_writes(job, caller_name_field=settings.caller_name_field)
    for planned in writes:
        payload = {
            "key": f"{job.conversation_id}#{planned.metadata['kind']}",
            "user_id": job.caller_id,
            "agent_id": job.agent_id,
            **planned.model_dump(),
        }

        def write_memories(write: dict[str, Any]) -> dict[str, Any]:
            memory.with_retries(
                lambda: memory.get_store("worker").add(
                    write["user_id"],
                    write["messages"],
                    agent_id=write["agent_id"],
                    metadata=write["metadata"],
                    infer=write["infer"],
                ),
                time_left=time_left,
            )
            performed.append(len(write["messages"]))
            return {"written": len(write["messages"])}

        idempotency.once(write_memories, payload, context=context)
    if writes and not performed:
        count(Metric.JOB_DUPLICATE)
        logger.info("post-call job already written", extra={"writes": len(writes)})
        return {"status": "duplicate", "writes": 0}
    count(Metric.MEMORIES_WRITTEN, sum(performed))
    logger.info(
        "post-call job written",
        extra={"caller": mask_caller(job.caller_id), "writes": len(performed), "messages": sum(performed)},
    )
    return {"status": "written", "writes": len(performed)}
