"""``client_data``: ElevenLabs' conversation-initiation webhook, answered with what we remember of the caller.

DESIGN.md 3.1. The caller waits while this runs, so every read shares one overall deadline
(``MEM0_INTERACTIVE_TIMEOUT`` from the request's start, each read bounded by ``stores.deadline.within``)
and any failure only makes the caller look new: 200 with the full set of dynamic variables once the
request is authenticated and well-formed. An agent without memory (``domain.agents``) gets the new-caller
answer and nothing is read. The caller profile and the own-line marks of the call's numbers (one DynamoDB
request, ``stores.profile_reader.read_for_call``) answer first: the marks say whether ``caller_id`` is one
of our lines (an outbound call: ``domain.own_lines``); Mem0 only when there is no profile, within what is
left of the deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import agents, dynamic_variables, identity
from agentic_memory.domain.own_lines import OwnLines
from agentic_memory.domain.profile import remembered as remembered_from_profile
from agentic_memory.domain.remembered import Remembered, from_records
from agentic_memory.domain.scope import app_id_for
from agentic_memory.edge import health
from agentic_memory.edge.auth import authorized_json
from agentic_memory.edge.http import json_response, respond
from agentic_memory.edge.requests import InitiationRequest, parse
from agentic_memory.edge.requests import prepare as prepare_model
from agentic_memory.errors import Unavailable
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import deadline, mem0, profile_reader, snapstart  # noqa: F401  (snapstart: the hook)

MEMORY_SOURCE_HEADER = "x-memory-source"
# Of the one deadline, what the DynamoDB read may use at most, so that Mem0 still has time when DynamoDB
# hangs (it answers in milliseconds when well: DynamoDB developer guide).
PROFILE_SHARE = 0.6
MIN_READ_SECONDS = 0.05  # less than this left: the read is not started, the caller is answered as new


def prepare() -> None:
    """Init-phase work, so the first request does not wait on it: the request model's validator, mem0's
    client (its constructor pings Mem0 unless the org and project ids are set) and the caller profile's
    reader. Never raises: a missing setting or an unreachable Mem0 shows on requests."""
    prepare_model(InitiationRequest)
    mem0.preload()
    profile_reader.preload()


@dataclass(frozen=True, slots=True)
class ProfileLookup:
    """What the profile table gave for a connecting call.

    ``caller``: the customer, decided with our configured numbers and the marks read (``domain.own_lines``);
    ``remembered``: from the profile, or ``None`` when there is none and Mem0 must be asked; ``source``:
    ``profile``, ``absent``, ``unavailable`` (DynamoDB failed or missed the deadline) or ``disabled``;
    ``reads`` (DynamoDB requests); ``seconds`` spent.
    """

    caller: str | None
    remembered: Remembered | None
    source: str
    reads: int = 0
    seconds: float = 0.0


def lookup_profile(
    request: InitiationRequest, app_id: str | None, settings: Settings, *, seconds: float
) -> ProfileLookup:
    """Who the customer of ``request`` is and their profile: one ``BatchGetItem`` for the profiles the
    customer could have (the calling party, or on an outbound call the called one) and the own-line marks of
    both numbers, within ``seconds``. Never raises: without the table, or when DynamoDB fails or is too slow,
    the customer is decided with the configured numbers alone."""
    started = time.perf_counter()
    configured = identity.configured_lines(settings, now=time.time())
    if not settings.profile_table:
        return ProfileLookup(identity.for_initiation(request, settings, lines=configured), None, "disabled")
    first = identity.for_initiation(request, settings, lines=configured)
    if first is None and identity.phone(request.caller_id, settings) is None:
        return ProfileLookup(None, None, "absent")  # a withheld or missing caller: nothing is read
    numbers = identity.numbers_named(settings, request.caller_id, request.called_number)
    candidates = [candidate for candidate in dict.fromkeys([first, *numbers]) if candidate]
    if not candidates:
        return ProfileLookup(None, None, "absent", 0, time.perf_counter() - started)
    try:
        if seconds < MIN_READ_SECONDS:
            raise Unavailable("no time left for the profile read")
        found = deadline.within(
            seconds,
            lambda: profile_reader.read_for_call(candidates, numbers, app_id, settings=settings),
            service="DynamoDB",
        )
        lines = OwnLines.of(configured.configured, found.marks, now=time.time())
        caller = identity.for_initiation(request, settings, lines=lines)
        item = found.profiles.get(caller) if caller else None
        if item is None or item.doc is None:
            return ProfileLookup(caller, None, "absent", 1, time.perf_counter() - started)
        answer = remembered_from_profile(item.doc)
    except Unavailable as exc:
        logger.warning("caller profile unavailable; asking Mem0", extra={"reason": str(exc)[:200]})
        return ProfileLookup(first, None, "unavailable", 1, time.perf_counter() - started)
    except Exception as exc:  # a profile this code cannot read must not fail the call either
        logger.warning("caller profile unreadable; asking Mem0", extra={"error": type(exc).__name__})
        return ProfileLookup(first, None, "unavailable", 1, time.perf_counter() - started)
    return ProfileLookup(caller, answer, "profile", 1, time.perf_counter() - started)


def handle(event: Any) -> dict[str, Any]:
    """One conversation-initiation request (an API Gateway HTTP API event) -> the Lambda proxy answer:
    ``{"type": "conversation_initiation_client_data", "dynamic_variables": {...}}`` with every variable of
    ``dynamic_variables.VARIABLES`` (and ``user_id``, the caller's identity, with ``SEND_USER_ID``), and the
    ``x-memory-source`` header (``profile``, ``mem0`` or ``none``).
    Always 200 once authenticated and well-formed; 400/401/405/413 JSON errors otherwise."""
    if health.is_health_check(event):  # GET /: no key, no store (edge/health.py)
        return health.answer("client-data")

    def work() -> dict[str, Any]:
        started = time.monotonic()
        settings = get_settings()
        request = parse(InitiationRequest, authorized_json(event), "conversation initiation request")
        until = started + settings.interactive_timeout  # one deadline for every read below
        caller: str | None = None
        remembered = Remembered()
        source, kept = "none", "-"
        if not agents.memory_enabled(request.agent_id, settings):
            kept = "agent_not_enabled"
            count(Metric.AGENT_NOT_ENABLED)
            logger.info(
                "agent without memory: answered as a new caller",
                extra={"reason": agents.not_enabled_reason(request.agent_id)},
            )
        else:
            app_id = app_id_for(request.agent_id, settings)
            # The caller profile and our lines' marks first: one DynamoDB request; with a profile the answer
            # never waits on Mem0.
            share = min(until - time.monotonic(), settings.interactive_timeout * PROFILE_SHARE)
            found = lookup_profile(request, app_id, settings, seconds=share)
            caller, kept = found.caller, found.source
            if found.remembered is not None:
                remembered, source = found.remembered, "profile"
            elif caller:  # no profile (memories older than it, DynamoDB failing): Mem0, within what is left
                source = "mem0"
                left = until - time.monotonic()
                known = caller
                try:
                    if left < MIN_READ_SECONDS:
                        raise Unavailable("no time left for Mem0")
                    total, records = deadline.within(left, lambda: mem0.get_store().recent(known, app_id=app_id))
                    remembered = from_records(total, records)
                except Unavailable as exc:
                    count(Metric.DEGRADED_ANSWER)
                    logger.warning("answering as a new caller", extra={"reason": str(exc)})
        try:
            dynamic = dynamic_variables.variables(caller, remembered, settings)
        except Exception:  # a bug here must not fail the call: fall back to the new-caller answer
            logger.exception("personalisation failed; answering as a new caller")
            count(Metric.DEGRADED_ANSWER)
            dynamic = dynamic_variables.variables(caller, Remembered(), settings)
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
        # user_id: the caller's identity when one resolved (withheld and unknown callers send none).
        user_id = caller if settings.send_user_id and caller else None
        response = json_response(200, dynamic_variables.client_data_response(dynamic, settings, user_id=user_id))
        response["headers"][MEMORY_SOURCE_HEADER] = source  # profile, mem0 or none: for operators and scripts
        return response

    return respond(work)
