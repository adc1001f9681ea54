"""``retrieve``: the agent's memory search tool (an ElevenLabs server tool), mid-call.

DESIGN.md 3.2. The answer goes whole to the LLM: plain sentences, never ids or scores. Identity comes
from the system variables the tool's parameters are bound to, never from the LLM; a web call's comes
from ElevenLabs' conversations API. On an outbound call ``system__caller_id`` is our own number: the
own-line marks of the call's numbers (one DynamoDB request, ``stores.profile_reader.read_marks``) and
``AGENT_PHONE_NUMBERS`` decide that the customer is ``called_number`` (``domain.own_lines``). Every read
shares one deadline, ``MEM0_INTERACTIVE_TIMEOUT`` from the request's start. An agent without memory
(``domain.agents``) is answered with no memories and nothing is read. Always 200 with a short note when it
cannot search (no caller, a web call without an id, Mem0 down).
"""

from __future__ import annotations

import time
from typing import Any

from agentic_memory.config import Settings
from agentic_memory.domain import agents, identity
from agentic_memory.domain.dynamic_variables import quote
from agentic_memory.domain.own_lines import OwnLines
from agentic_memory.domain.scope import app_id_for
from agentic_memory.domain.text import CONVERSATION_ID
from agentic_memory.edge import health
from agentic_memory.edge.auth import authorized_json
from agentic_memory.edge.http import json_response, respond
from agentic_memory.edge.requests import RetrieveRequest, parse
from agentic_memory.edge.requests import prepare as prepare_model
from agentic_memory.errors import Unavailable
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import deadline, mem0, profile_reader, secret_store, snapstart  # noqa: F401  (snapstart: the hook)

MAX_QUERY_CHARS = 500
MAX_MEMORY_CHARS = 300
NOTE_NO_CALLER = "No caller id on this call, so there is nothing remembered to search."
NOTE_WEB_NO_ID = "This web conversation has no user id that memory can use, so there is nothing remembered to search."
NOTE_NOTHING_FOUND = "Nothing relevant is remembered about this caller."
NOTE_UNAVAILABLE = "Memory is unavailable right now; carry on without it."
NOTE_AGENT_NOT_ENABLED = "Memory is not enabled for this agent, so there is nothing remembered to search."
MAX_CACHED_WEB_CALLERS = 1000
MARKS_SHARE = 0.4  # of the one deadline, what reading our lines' marks may use at most
MIN_READ_SECONDS = 0.05


def prepare() -> None:
    """Init-phase work: the request model's validator, mem0's client and the reader of our lines' marks.
    Never raises."""
    prepare_model(RetrieveRequest)
    mem0.preload()
    profile_reader.preload()


_web_callers: dict[str, str | None] = {}


def web_caller(conversation_id: str | None, settings: Settings, seconds: float | None = None) -> str | None:
    """The ``web:<user_id>`` of a web conversation, asked of ElevenLabs' conversations API (a web call's
    system variables are null, and a tool parameter bound to a custom variable that a call lacks ends
    that call: DESIGN.md 3.2), or ``None``. Needs ``ELEVENLABS_API_KEY``; cached per conversation in the
    container. Raises ``Unavailable`` when the API does not answer within ``seconds`` (default
    ``MEM0_INTERACTIVE_TIMEOUT``)."""
    if not conversation_id or not settings.elevenlabs_api_key or not CONVERSATION_ID.fullmatch(conversation_id):
        return None
    if conversation_id in _web_callers:
        return _web_callers[conversation_id]
    from agentic_memory.stores import conversations_api

    budget = settings.interactive_timeout if seconds is None else seconds
    if budget < MIN_READ_SECONDS:
        raise Unavailable("no time left for ElevenLabs")
    data = deadline.within(
        budget,
        lambda: conversations_api.get_conversation(conversation_id, attempts=1, timeout=budget),
        service="ElevenLabs",
    )
    found = None
    if isinstance(data, dict):
        found = identity.namespaced(identity.WEB, data.get("user_id"))
    if len(_web_callers) > MAX_CACHED_WEB_CALLERS:
        _web_callers.clear()
    _web_callers[conversation_id] = found
    return found


def reset() -> None:
    """Forget the cached web callers (tests)."""
    _web_callers.clear()


def own_lines(request: RetrieveRequest, settings: Settings, seconds: float) -> OwnLines:
    """Our lines as this call needs them: the configured numbers and the marks of the call's two numbers,
    read within ``seconds``. Without ``PROFILE_TABLE``, or when the read fails or is late, the configured
    numbers alone (logged). Never raises."""
    caller = request.caller_id if request.caller_id is not None else request.user_id
    configured = identity.configured_lines(settings, now=time.time())
    numbers = identity.numbers_named(settings, caller, request.called_number)
    if not settings.profile_table or not numbers or identity.phone(caller, settings) is None:
        return configured
    try:
        if seconds < MIN_READ_SECONDS:
            raise Unavailable("no time left for our lines' marks")
        marks = deadline.within(
            seconds, lambda: profile_reader.read_marks(numbers, settings=settings), service="DynamoDB"
        )
    except Unavailable as exc:
        logger.warning("own-line marks unavailable; configured numbers only", extra={"reason": str(exc)[:200]})
        return configured
    return OwnLines.of(configured.configured, marks, now=time.time())


def handle(event: Any) -> dict[str, Any]:
    """One tool call (an API Gateway HTTP API event) -> ``{"memories": [sentence, ...]}`` and, when there are
    none, ``"note"``: why. 200 once authenticated and well-formed; 400/401/405/413 JSON errors otherwise."""
    if health.is_health_check(event):  # GET /: no key, no store (edge/health.py)
        return health.answer("retrieve")

    def work() -> dict[str, Any]:
        started = time.monotonic()
        settings = secret_store.current()  # the ElevenLabs API key (web callers) may live in the secret store
        request = parse(RetrieveRequest, authorized_json(event), "retrieve request")
        until = started + settings.interactive_timeout  # one deadline for every read below
        if not agents.memory_enabled(request.agent_id, settings):
            count(Metric.AGENT_NOT_ENABLED)
            logger.info(
                "agent without memory: nothing searched", extra={"reason": agents.not_enabled_reason(request.agent_id)}
            )
            return json_response(200, {"memories": [], "note": NOTE_AGENT_NOT_ENABLED})
        lines = own_lines(request, settings, min(until - time.monotonic(), settings.interactive_timeout * MARKS_SHARE))
        caller = identity.for_tool(request, settings, lines=lines)
        web_call = request.caller_id is None and request.user_id is None and request.called_number is None
        if not caller and web_call:
            try:
                caller = web_caller(request.conversation_id, settings, until - time.monotonic())
            except Unavailable as exc:
                logger.warning("web caller lookup failed", extra={"reason": str(exc)})
        if not caller:
            return json_response(200, {"memories": [], "note": NOTE_WEB_NO_ID if web_call else NOTE_NO_CALLER})
        query = request.query[:MAX_QUERY_CHARS]
        app_id = app_id_for(request.agent_id, settings)
        known = caller
        try:
            left = until - time.monotonic()
            if left < MIN_READ_SECONDS:
                raise Unavailable("no time left for Mem0")
            records = deadline.within(
                left,
                lambda: mem0.get_store().search(known, query, settings.search_limit, app_id=app_id),
            )
        except Unavailable as exc:
            count(Metric.DEGRADED_ANSWER)
            logger.warning("memory search unavailable", extra={"reason": str(exc)})
            return json_response(200, {"memories": [], "note": NOTE_UNAVAILABLE})
        count(Metric.MEMORIES_FOUND, len(records))
        logger.info("memories searched", extra={"caller": mask_caller(caller), "found": len(records)})
        body: dict[str, Any] = {"memories": [quote(record.text, MAX_MEMORY_CHARS) for record in records]}
        if not records:
            body["note"] = NOTE_NOTHING_FOUND
        return json_response(200, body)

    return respond(work)
