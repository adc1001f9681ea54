"""Calls as ElevenLabs reports them, built from a short description: the quality suite's raw material.

A ``Call`` says what happened on one call (who, when, what was said, what ElevenLabs' analysis made of
it); ``webhook`` turns it into the ``post_call_transcription`` body ElevenLabs signs and sends, starting
from a payload of the corpus (tests/corpus/post_call/fields_2026.json, which the SDK's
``GetConversationResponseModel`` validates strictly), so every field keeps the SDK's shape
(elevenlabs 2.78; DESIGN.md 3.3). ``Machine`` is Twilio's answering-machine verdict, delivered as its own
``answering_machine_detection`` event (platform-notes/refresh-2026-12.md E1: its payload is not in the
SDK; we assume ``{"agent_id", "conversation_id", "answered_by"}`` with Twilio's ``AnsweredBy`` values).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TEMPLATE = json.loads((CORPUS / "post_call" / "fields_2026.json").read_text())
AGENT = "agent_4801kqualityreception000"
OUR_NUMBER = "+15550100001"  # tests/corpus/expected.json's settings: one of our numbers
DURATION = 180


def start_of(day: str) -> int:
    """Unix seconds of ``day`` (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``) in UTC; a bare day means 09:00."""
    text = day if "T" in day else f"{day}T09:00"
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@dataclass
class Call:
    """One call. ``said``: the turns, ``("agent" | "user", text)``; ``collected``: data collection results
    (id -> value: string, number, boolean); ``call_result``: ``metadata.phone_call.call_result`` (``None``:
    an older payload without it); ``counts``: send ``user_message_count`` / ``agent_message_count``
    counted from ``said`` (``False``: null, as on older conversations); ``exclude_transcript``: the
    webhook option that sends no turns (E2); ``source``: ``metadata.conversation_initiation_source``."""

    caller: str
    day: str
    said: list[tuple[str, str]]
    summary: str = ""
    title: str = ""
    collected: dict[str, Any] = field(default_factory=dict)
    agent: str = AGENT
    direction: str = "inbound"
    call_result: str | None = "answered"
    counts: bool = True
    exclude_transcript: bool = False
    termination_reason: str = "Client disconnected"
    source: str = "twilio"
    conversation_id: str = ""


@dataclass
class Machine:
    """Twilio's answering-machine verdict for the call ``conversation_id`` (E1)."""

    conversation_id: str
    answered_by: str = "machine_end_beep"
    agent: str = AGENT


def _turn(role: str, text: str, second: int) -> dict[str, Any]:
    base = TEMPLATE["data"]["transcript"][0 if role == "agent" else 1]
    turn = copy.deepcopy(base)
    turn.update(message=text, time_in_call_secs=second)
    if role == "agent":
        turn["agent_metadata"]["agent_id"] = AGENT
    return turn


def _collected(values: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    for key, value in values.items():
        kind = "boolean" if isinstance(value, bool) else "number" if isinstance(value, int | float) else "string"
        results.append(
            {
                "data_collection_id": key,
                "value": value,
                "json_schema": {
                    "type": kind,
                    "description": f"{key} as the caller said it",
                    "enum": None,
                    "dynamic_variable": "",
                    "constant_value": "",
                },
                "rationale": "Stated during the call.",
            }
        )
    return results


def webhook(call: Call, event_timestamp: int | None = None) -> dict[str, Any]:
    """The signed webhook's body for ``call``: ``{"type": "post_call_transcription", "event_timestamp", "data"}``."""
    payload = copy.deepcopy(TEMPLATE)
    data = payload["data"]
    started = start_of(call.day)
    turns = [_turn(role, text, 5 * index) for index, (role, text) in enumerate(call.said)]
    data["agent_id"] = call.agent
    data["conversation_id"] = call.conversation_id
    data["transcript"] = [] if call.exclude_transcript else turns
    users = sum(1 for role, text in call.said if role == "user" and text.strip())
    agents = sum(1 for role, text in call.said if role == "agent" and text.strip())
    data["user_message_count"] = users if call.counts else None
    data["agent_message_count"] = agents if call.counts else None
    data["visited_agents"] = [{"agent_id": call.agent, "branch_id": data["branch_id"]}]
    metadata = data["metadata"]
    metadata.update(
        start_time_unix_secs=started,
        accepted_time_unix_secs=started,
        call_duration_secs=DURATION,
        termination_reason=call.termination_reason,
        conversation_initiation_source=call.source,
    )
    metadata["deletion_settings"]["deletion_time_unix_secs"] = None
    phone = metadata["phone_call"]
    phone.update(direction=call.direction, external_number=call.caller, agent_number=OUR_NUMBER)
    if call.call_result is not None:
        phone["call_result"] = call.call_result
    analysis = data["analysis"]
    results = _collected(call.collected)
    analysis["data_collection_results"] = {item["data_collection_id"]: item for item in results}
    analysis["data_collection_results_list"] = results
    analysis["transcript_summary"] = call.summary
    analysis["call_summary_title"] = call.title
    client_data = data["conversation_initiation_client_data"]
    variables = client_data["dynamic_variables"]
    variables.update(
        system__agent_id=call.agent,
        system__current_agent_id=call.agent,
        system__caller_id=call.caller if call.direction == "inbound" else OUR_NUMBER,
        system__called_number=OUR_NUMBER if call.direction == "inbound" else call.caller,
        system__conversation_id=call.conversation_id,
        system__call_duration_secs=DURATION,
        caller_id=call.caller,
    )
    payload["event_timestamp"] = event_timestamp or started + DURATION + 30
    return payload


def machine_event(verdict: Machine, event_timestamp: int) -> dict[str, Any]:
    """The ``answering_machine_detection`` webhook's body as we assume it (E1; see the module's docstring)."""
    return {
        "type": "answering_machine_detection",
        "event_timestamp": event_timestamp,
        "data": {
            "agent_id": verdict.agent,
            "conversation_id": verdict.conversation_id,
            "answered_by": verdict.answered_by,
        },
    }
