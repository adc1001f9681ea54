"""The three endpoints and the post-call worker: each handler calls exactly one function here.

The post-call code (``ingest`` and the webhook's models in ``transcription``) is imported by the
functions that use it, not here: ``client_data`` and ``retrieve`` never run it, and loading it (the
job's and the webhook's pydantic models, the job code) cost them about 6 ms of every cold start
(docs/performance.md). The post-call handler imports ``ingest`` at init, so its functions find it loaded.
The caller profile (``profile``) is imported the same way: ``retrieve`` never reads it, and
``prepare_client_data`` loads it in ``client_data``'s init."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentic_memory import auth, aws, idempotency, identity, memory, personalize
from agentic_memory.config import Settings, get_settings
from agentic_memory.elevenlabs import InitiationRequest, RetrieveRequest, parse, prepare
from agentic_memory.errors import BadRequest, DispatchFailed, MemoryUnavailable, Unauthorized
from agentic_memory.kinds import UNKNOWN_AGENT
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.web import json_response, parse_json_object, parse_request, respond

if TYPE_CHECKING:
    from agentic_memory import ingest
    from agentic_memory.transcription import TranscriptionData

MAX_QUERY_CHARS = 500
MEMORY_SOURCE_HEADER = "x-memory-source"
NOTE_NO_CALLER = "No caller id on this call, so there is nothing remembered to search."
NOTE_WEB_NO_ID = "This web conversation has no user id that memory can use, so there is nothing remembered to search."
NOTE_NOTHING_FOUND = "Nothing relevant is remembered about this caller."
NOTE_UNAVAILABLE = "Memory is unavailable right now; carry on without it."
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:]{0,199}")


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


def _scope(agent_id: str | None, settings: Settings) -> str | None:
    """Mem0 ``app_id`` for ``MEMORY_SCOPE=agent`` (the agent's id), ``None`` for the shared scope."""
    if settings.memory_scope != "agent":
        return None
    return agent_id.strip()[:200] if isinstance(agent_id, str) and agent_id.strip() else UNKNOWN_AGENT


def prepare_client_data() -> None:
    """``client_data``'s init-phase work, so its first request does not wait on it: the request model's
    validator, mem0's client (its constructor pings Mem0 unless the org and project ids are set) and the
    caller profile's reader. Never raises: a missing setting or an unreachable Mem0 shows on requests."""
    from agentic_memory import profile

    prepare(InitiationRequest)
    memory.preload()
    profile.preload()


def prepare_retrieve() -> None:
    """``retrieve``'s init-phase work: the request model's validator and mem0's client. Never raises."""
    prepare(RetrieveRequest)
    memory.preload()


def client_data(event: Any) -> dict[str, Any]:
    """Conversation initiation: what we remember of the caller, as dynamic variables. Always 200
    once authenticated and well-formed; Mem0 being slow or down only makes the caller look new."""

    from agentic_memory import profile  # loaded at init by prepare_client_data

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse(InitiationRequest, _authorized_json(event), "conversation initiation request")
        caller = identity.for_initiation(request, settings)
        remembered = personalize.Remembered()
        source, kept = "none", "-"
        if caller:
            app_id = _scope(request.agent_id, settings)
            # The caller profile first: one DynamoDB read; with a profile the answer never waits on Mem0.
            found = profile.lookup(request, caller, app_id, settings=settings)
            caller, kept = found.caller, found.source
            if found.remembered is not None:
                remembered, source = found.remembered, "profile"
            elif caller:  # no profile (memories older than it, DynamoDB failing): Mem0, within what is left
                source = "mem0"
                budget = max(0.1, settings.interactive_timeout - found.seconds)
                try:
                    total, records = memory.within(budget, lambda: memory.get_store().recent(caller, app_id=app_id))
                    remembered = personalize.from_records(total, records)
                except MemoryUnavailable as exc:
                    count(Metric.DEGRADED_ANSWER)
                    logger.warning("answering as a new caller", extra={"reason": str(exc)})
        try:
            dynamic = personalize.variables(caller, remembered, settings)
        except Exception:  # a bug here must not fail the call: fall back to the new-caller answer
            logger.exception("personalisation failed; answering as a new caller")
            count(Metric.DEGRADED_ANSWER)
            dynamic = personalize.variables(caller, personalize.Remembered(), settings)
        returning = dynamic["returning_caller"] == "yes"
        count(Metric.CALLER_RETURNING if returning else Metric.CALLER_NEW)
        count(Metric.MEMORIES_FOUND, remembered.count)
        logger.info(
            "client data answered",
            extra={
                "caller": mask_caller(caller),
                "returning": returning,
                "memories": remembered.count,
                "source": source,
                "profile": kept,
            },
        )
        response = json_response(200, personalize.client_data_response(dynamic, settings))
        response["headers"][MEMORY_SOURCE_HEADER] = source  # profile, mem0 or none: for operators and scripts
        return response

    return respond(work)


_web_callers: dict[str, str | None] = {}


def _web_caller(conversation_id: str | None, settings: Settings) -> str | None:
    """The ``web:<user_id>`` of a web conversation, asked of ElevenLabs' conversations API (a web call's
    system variables are null, and a tool parameter bound to a custom variable that a call lacks ends
    that call: DESIGN.md 3.2). Needs ``ELEVENLABS_API_KEY``; cached per conversation in the container."""
    if not conversation_id or not settings.elevenlabs_api_key or not _CONVERSATION_ID.fullmatch(conversation_id):
        return None
    if conversation_id in _web_callers:
        return _web_callers[conversation_id]
    from agentic_memory import conversations

    data = memory.within(
        settings.interactive_timeout,
        lambda: conversations.get_conversation(conversation_id, attempts=1, timeout=settings.interactive_timeout),
    )
    found = None
    if isinstance(data, dict):
        found = identity.namespaced(identity.WEB, data.get("user_id"))
    if len(_web_callers) > 1000:
        _web_callers.clear()
    _web_callers[conversation_id] = found
    return found


def retrieve(event: Any) -> dict[str, Any]:
    """The agent's memory search tool: plain sentences for the LLM, never ids or scores. Always 200 with
    a short note when it cannot search (no caller, a web call without an id, Mem0 down)."""

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse(RetrieveRequest, _authorized_json(event), "retrieve request")
        caller = identity.for_tool(request, settings)
        web_call = request.caller_id is None and request.user_id is None and request.called_number is None
        if not caller and web_call:
            try:
                caller = _web_caller(request.conversation_id, settings)
            except MemoryUnavailable as exc:
                logger.warning("web caller lookup failed", extra={"reason": str(exc)})
        if not caller:
            return json_response(200, {"memories": [], "note": NOTE_WEB_NO_ID if web_call else NOTE_NO_CALLER})
        query = request.query[:MAX_QUERY_CHARS]
        app_id = _scope(request.agent_id, settings)
        try:
            records = memory.within(
                settings.interactive_timeout,
                lambda: memory.get_store().search(caller, query, settings.search_limit, app_id=app_id),
            )
        except MemoryUnavailable as exc:
            count(Metric.DEGRADED_ANSWER)
            logger.warning("memory search unavailable", extra={"reason": str(exc)})
            return json_response(200, {"memories": [], "note": NOTE_UNAVAILABLE})
        count(Metric.MEMORIES_FOUND, len(records))
        logger.info("memories searched", extra={"caller": mask_caller(caller), "found": len(records)})
        body: dict[str, Any] = {"memories": [personalize.quote(record.text, 300) for record in records]}
        if not records:
            body["note"] = NOTE_NOTHING_FOUND
        return json_response(200, body)

    return respond(work)


def job_from_webhook(data: TranscriptionData, event_timestamp: Any, settings: Settings) -> ingest.Job | str:
    """The job for a finished conversation, or the reason it is not remembered (a string).

    The one path from a conversation to a job: the post-call webhook and reconcile both use it, so
    identity, redaction, skip rules and bounds are the same. Raises ``BadRequest`` for a conversation
    id that is blank, invisible or malformed, and for fields out of bounds.
    """
    conversation_id = (data.conversation_id or "").strip()
    if not _CONVERSATION_ID.fullmatch(conversation_id):
        raise BadRequest("data.conversation_id is missing or malformed.", code="invalid_payload")
    from agentic_memory import ingest

    caller = identity.for_finished_call(data, settings)
    if not caller:
        return "no caller to remember (withheld or missing caller id)"
    reason = ingest.not_remembered(data)
    if reason:
        count(Metric.CALL_NOT_REMEMBERED)
        return f"call not remembered: {reason}"
    try:
        job = ingest.build_job(data, caller_id=caller, event_timestamp=event_timestamp, settings=settings)
    except ValidationError:  # a field the job bounds: the sender's error
        raise BadRequest("The post-call payload has a field out of bounds.", code="invalid_payload") from None
    if job.redacted:
        count(Metric.PII_REDACTED, sum(job.redacted.values()))
        logger.info("personal data redacted before storage", extra={"redacted": job.redacted})
    return job


def post_call(event: Any, context: Any) -> dict[str, Any]:
    """The signed post-call webhook: verify, hand a compact job to the worker, answer at once."""

    from agentic_memory.transcription import TRANSCRIPTION, PostCallEnvelope, TranscriptionData

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
        if isinstance(data.conversation_id, str) and data.conversation_id.strip():
            logger.set_correlation_id(data.conversation_id.strip()[:200])
        job = job_from_webhook(data, envelope.event_timestamp, settings)
        if isinstance(job, str):
            return _ignored(job)
        caller = job.caller_id
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
        return json_response(200, {"status": "accepted", "conversation_id": job.conversation_id})

    return respond(work)


def _ignored(reason: str) -> dict[str, Any]:
    count(Metric.JOB_IGNORED)
    logger.info("post-call event ignored", extra={"reason": reason})
    return json_response(200, {"status": "ignored", "reason": reason})


def run_job(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The asynchronous worker. Errors propagate: Lambda retries twice, then parks the job in the
    dead-letter queue. Every write is idempotent (idempotency key: caller, conversation, write kind),
    so a retry never writes twice; and a write that reached Mem0 before the worker died, leaving no
    completed idempotency record, is found in Mem0 by its metadata and not written again."""
    from agentic_memory import ingest, profile

    try:
        job = ingest.Job.model_validate(event)
    except Exception:
        # A malformed job cannot get better with retries; say so and drop it.
        logger.error("malformed post-call job dropped", extra={"keys": sorted(map(str, event))[:20]})
        count(Metric.JOB_IGNORED)
        return {"status": "invalid"}
    logger.set_correlation_id(job.conversation_id)
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    performed: list[int] = []
    writes = ingest.plan_writes(job)
    already: set[str] | None = None
    expiration = job.expires_on.isoformat() if job.expires_on else None
    refresh = profile.start_refresh(job)  # the caller's Mem0 facts for the profile, read while the writes run

    def store() -> memory.MemoryStore:
        return memory.get_store("worker")

    for planned in writes:
        payload = {"key": f"{job.caller_id}#{job.conversation_id}#{planned.kind}", "write": planned.model_dump()}

        def write_memories(write: dict[str, Any]) -> dict[str, Any]:
            nonlocal already
            planned_write = ingest.Write.model_validate(write["write"])
            if already is None:  # the crash window: what reached Mem0 before an earlier attempt died
                already = memory.with_retries(
                    lambda: store().written_for(job.caller_id, job.conversation_id, app_id=job.app_id),
                    time_left=time_left,
                )
            if planned_write.kind in already:
                logger.info("write found in Mem0 already", extra={"kind": planned_write.kind})
                return {"written": 0, "found": True}
            memory.with_retries(
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
    profile.keep(job, refresh, time_left=time_left)
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
