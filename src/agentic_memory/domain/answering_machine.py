"""Twilio's answering-machine verdict, delivered by ElevenLabs as its own webhook event.

Source: platform-notes/refresh-2026-12.md E1 and field case 2 (SDK 2.78: ``WebhookEventType``
``answering_machine_detection``; ``TelephonyCallConfigInput.twilio_machine_detection``; ``TwilioAnsweredBy``).
Twilio's answering-machine detection runs on outbound Twilio calls only; "the resulting verdict is
delivered as its own ``answering_machine_detection`` webhook event ... not part of the conversation or
the post-call webhook", and it "can arrive at any point during the call -- with ``detect_message_end``,
even after it has ended": before or after the call's ``post_call_transcription``.

**The payload's shape is not in the SDK.** What this module assumes, and nothing more: the envelope is the
post-call webhook's (``{"type", "event_timestamp", "data"}``, signed the same way); ``data`` names the
conversation (``conversation_id``, as every post-call event's ``data`` does) and carries the verdict as
one of Twilio's ``AnsweredBy`` values (``human``, ``fax``, ``unknown``, ``machine_start``,
``machine_end_beep``, ``machine_end_silence``, ``machine_end_other``) under ``answered_by`` (ElevenLabs'
snake case) or Twilio's own ``AnsweredBy``, at the top of ``data`` or in one nested object. Anything else
(no conversation, no verdict we know) is answered 200 and ignored: a verdict we cannot read never fails a
delivery.

A machine or fax verdict means nobody took part in the call: its memories must not be kept, whichever
order the verdict and the transcription arrive in (``worker.machine_verdict`` keeps that promise).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from agentic_memory.domain.text import CONVERSATION_ID

EVENT_TYPE = "answering_machine_detection"
VERDICT_KIND = "machine_verdict"
# Twilio AnsweredBy values (SDK ``TwilioAnsweredBy``) that mean no person took the call.
MACHINE = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})
KNOWN = MACHINE | {"human", "unknown"}
_VERDICT_KEYS = ("answered_by", "AnsweredBy", "answeredBy")


class MachineVerdict(BaseModel):
    """The worker's job for a machine verdict: forget (or never keep) the call ``conversation_id``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["machine_verdict"] = VERDICT_KIND
    conversation_id: StrictStr = Field(min_length=1, max_length=200, pattern=CONVERSATION_ID.pattern)
    answered_by: StrictStr = Field(max_length=40)
    agent_id: str | None = Field(default=None, max_length=200)


def is_verdict_job(event: Any) -> bool:
    return isinstance(event, dict) and event.get("kind") == VERDICT_KIND


def _verdict(data: dict[str, Any]) -> str | None:
    holders = [data, *(value for value in data.values() if isinstance(value, dict))]
    for holder in holders:
        for key in _VERDICT_KEYS:
            value = holder.get(key)
            if isinstance(value, str) and value.strip().lower() in KNOWN:
                return value.strip().lower()
    return None


def read(data: Any) -> tuple[str | None, str | None]:
    """``(conversation id, verdict)`` from an ``answering_machine_detection`` event's ``data`` (see the
    module's docstring for what is assumed); either is ``None`` when the payload does not say it."""
    if not isinstance(data, dict):
        return None, None
    raw = data.get("conversation_id")
    conversation = raw.strip() if isinstance(raw, str) and CONVERSATION_ID.fullmatch(raw.strip()) else None
    return conversation, _verdict(data)


def is_machine(verdict: str | None) -> bool:
    """Whether Twilio's verdict says no person answered (a machine's greeting, a beep, a fax)."""
    return verdict in MACHINE
