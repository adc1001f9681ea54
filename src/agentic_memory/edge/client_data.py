"""``client_data``: ElevenLabs' conversation-initiation webhook, answered with what we remember of the caller.

DESIGN.md 3.1. The caller waits while this runs, so every read is bounded and any failure only makes the
caller look new: 200 with the full set of dynamic variables once the request is authenticated and
well-formed. The caller profile (one DynamoDB read, ``stores.profile_reader``) answers first; Mem0 only
when there is no profile, within what is left of ``MEM0_INTERACTIVE_TIMEOUT``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import dynamic_variables, identity
from agentic_memory.domain.profile import remembered as remembered_from_profile
from agentic_memory.domain.remembered import Remembered, from_records
from agentic_memory.domain.scope import app_id_for
from agentic_memory.edge.auth import authorized_json
from agentic_memory.edge.http import json_response, respond
from agentic_memory.edge.requests import InitiationRequest, parse
from agentic_memory.edge.requests import prepare as prepare_model
from agentic_memory.errors import Unavailable
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import deadline, mem0, profile_reader, snapstart  # noqa: F401  (snapstart: the hook)

MEMORY_SOURCE_HEADER = "x-memory-source"


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

    ``caller``: the caller (resolved again when the first read found one of our numbers); ``remembered``:
    from the profile, or ``None`` when there is none and Mem0 must be asked; ``source``: ``profile``,
    ``absent``, ``unavailable`` (DynamoDB failed) or ``disabled``; ``reads``; ``seconds`` spent.
    """

    caller: str | None
    remembered: Remembered | None
    source: str
    reads: int = 0
    seconds: float = 0.0


def lookup_profile(request: InitiationRequest, caller: str, app_id: str | None, settings: Settings) -> ProfileLookup:
    """The profile of the caller of ``request``, whose identity ``caller`` ``identity.for_initiation`` gave.
    One read; a second only when the first found one of our numbers (an outbound call whose number is not
    in ``AGENT_PHONE_NUMBERS``): the caller is then resolved again with that number as ours. Never raises."""
    if not settings.profile_table:
        return ProfileLookup(caller, None, "disabled")
    started = time.perf_counter()
    reads = 0
    try:
        reads += 1
        found = profile_reader.read(caller, app_id, settings=settings)
        if found is not None and found.own_number:
            other = identity.for_initiation(request, settings, seen_own=[caller])
            if not other or other == caller:
                return ProfileLookup(None, None, "absent", reads, time.perf_counter() - started)
            caller = other
            reads += 1
            found = profile_reader.read(caller, app_id, settings=settings)
        if found is None or found.doc is None:
            return ProfileLookup(caller, None, "absent", reads, time.perf_counter() - started)
        answer = remembered_from_profile(found.doc)
    except profile_reader.ProfileUnavailable as exc:
        logger.warning("caller profile unavailable; asking Mem0", extra={"reason": str(exc)[:200]})
        return ProfileLookup(caller, None, "unavailable", reads, time.perf_counter() - started)
    except Exception as exc:  # a profile this code cannot read must not fail the call either
        logger.warning("caller profile unreadable; asking Mem0", extra={"error": type(exc).__name__})
        return ProfileLookup(caller, None, "unavailable", reads, time.perf_counter() - started)
    return ProfileLookup(caller, answer, "profile", reads, time.perf_counter() - started)


def handle(event: Any) -> dict[str, Any]:
    """One conversation-initiation request (an API Gateway HTTP API event) -> the Lambda proxy answer:
    ``{"type": "conversation_initiation_client_data", "dynamic_variables": {...}}`` with every variable of
    ``dynamic_variables.VARIABLES`` (and ``user_id``, the caller's identity, with ``SEND_USER_ID``), and the
    ``x-memory-source`` header (``profile``, ``mem0`` or ``none``).
    Always 200 once authenticated and well-formed; 400/401/405/413 JSON errors otherwise."""

    def work() -> dict[str, Any]:
        settings = get_settings()
        request = parse(InitiationRequest, authorized_json(event), "conversation initiation request")
        caller = identity.for_initiation(request, settings)
        remembered = Remembered()
        source, kept = "none", "-"
        if caller:
            app_id = app_id_for(request.agent_id, settings)
            # The caller profile first: one DynamoDB read; with a profile the answer never waits on Mem0.
            found = lookup_profile(request, caller, app_id, settings)
            caller, kept = found.caller, found.source
            if found.remembered is not None:
                remembered, source = found.remembered, "profile"
            elif caller:  # no profile (memories older than it, DynamoDB failing): Mem0, within what is left
                source = "mem0"
                budget = max(0.1, settings.interactive_timeout - found.seconds)
                known = caller
                try:
                    total, records = deadline.within(budget, lambda: mem0.get_store().recent(known, app_id=app_id))
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
