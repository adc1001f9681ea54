"""A finished conversation -> the compact job the worker writes (``memory_writes`` turns it into Mem0 writes).

The webhook handler turns ElevenLabs' (possibly large) payload into a small job and hands it to the
asynchronous worker; the worker writes it. Reconcile turns a conversation fetched from ElevenLabs'
history into a job the same way (``job_for_conversation``), so both paths share identity, skip rules,
redaction and bounds. Everything the worker cannot use is settled here, at the
webhook, so that no valid webhook yields a job that can never succeed (DESIGN.md section 8):
timestamps in milliseconds are brought back to seconds, values out of range are dropped, and the
job's whole JSON is bounded in bytes under Lambda's asynchronous invocation limit (256 KB), however
long or strange the call. Calls that must not be remembered (voicemail, failed, the caller never
spoke: DESIGN.md section 6; ``worth_remembering``) yield no job at all.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

from agentic_memory.config import Settings
from agentic_memory.domain import agents, brief, identity, retention
from agentic_memory.domain.conversation import TranscriptionData
from agentic_memory.domain.names import clean_name, said_name
from agentic_memory.domain.scope import app_id_for
from agentic_memory.domain.text import CONVERSATION_ID, single_line
from agentic_memory.domain.worth_remembering import reason_not_remembered
from agentic_memory.errors import BadRequest

JOB_KIND = "post_call_job"
MAX_TURN_CHARS = 2_000
MAX_RAW_TURN_CHARS = 20_000  # read before redaction, cut to MAX_TURN_CHARS after
MAX_FIELD_CHARS = 500
MAX_RAW_FIELD_CHARS = 20_000  # read before redaction, cut to MAX_FIELD_CHARS after
MAX_SUMMARY_CHARS = 4_000
MAX_TITLE_CHARS = 200
MAX_FIELDS = 50
# Lambda's asynchronous invocation payload limit is 256 KB (262,144 bytes; Lambda quotas page). The
# job is kept well under it: the transcript gets what the rest of the job leaves of this budget.
MAX_JOB_BYTES = 200_000
TURN_OVERHEAD_BYTES = len('{"role":"assistant","content":""},')
# 2000-01-01 .. 2100-01-01: a call start outside this is no time in seconds.
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800


class JobTurn(BaseModel):
    model_config = ConfigDict(frozen=True)
    role: Literal["user", "assistant"]
    content: str


class Job(BaseModel):
    """What the worker needs to write one call's memories; a self-invocation's whole payload.

    ``caller_id`` is an identity (``identity`` module); ``app_id`` scopes the memories to one agent
    (``MEMORY_SCOPE=agent``); ``expires_on`` (``YYYY-MM-DD``) is Mem0's ``expiration_date``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["post_call_job"] = JOB_KIND
    version: Literal[1] = 1
    conversation_id: StrictStr = Field(min_length=1, max_length=200)
    agent_id: str | None = Field(default=None, max_length=200)
    agent_number: str | None = Field(default=None, max_length=32)
    # metadata.phone_call.direction: an outbound call's agent_number marks one of our lines (own_lines)
    direction: Literal["inbound", "outbound"] | None = None
    caller_id: StrictStr = Field(min_length=1, max_length=200)
    event_timestamp: int | None = Field(default=None, ge=_EARLIEST, le=_LATEST)
    start_time_unix_secs: int | None = Field(default=None, ge=_EARLIEST, le=_LATEST)
    call_duration_secs: float | None = Field(default=None, ge=0, le=7 * 86400)
    turns: list[JobTurn] = Field(default_factory=list)
    summary: str | None = None
    title: str | None = None
    call_successful: str | None = None
    data_collection: dict[str, str] = Field(default_factory=dict)
    caller_name: str | None = None
    app_id: str | None = Field(default=None, max_length=200)
    expires_on: date | None = None
    # Unix seconds when this call's memories are due for deletion (domain.retention); the sweep deletes
    # them then. Jobs queued before it existed have only ``expires_on`` (``due_at`` covers them).
    delete_at: int | None = Field(default=None, ge=0)
    redacted: dict[str, int] = Field(default_factory=dict)  # counts per kind, never values
    # The caller brief (``brief``): the call settled an earlier follow-up (the ``follow_up_done`` item).
    follow_up_done: bool | None = None
    # A subagent's conversation is part of a phone call (``profile.call_id``): its parent, when named.
    subagent: bool = False
    parent_conversation_id: str | None = Field(default=None, max_length=200)
    # An outbound Twilio call: Twilio's answering-machine verdict may still come (``answering_machine``).
    machine_detectable: bool = False

    @field_validator("caller_id")
    @classmethod
    def _identity(cls, value: str) -> str:
        if not identity.is_identity(value):
            raise ValueError("caller_id is not a caller identity")
        return value

    @property
    def started(self) -> int | None:
        """The call's start, unix seconds (the event time when the start is unknown)."""
        return self.start_time_unix_secs or self.event_timestamp

    @property
    def due_at(self) -> int | None:
        """Unix seconds when the call's memories must be gone (``None``: kept): ``delete_at``, else the end
        of the ``expires_on`` day for a job queued before due times were kept."""
        if self.delete_at is not None:
            return self.delete_at
        return retention.due_from_day(self.expires_on) if self.expires_on else None


def is_job(event: Any) -> bool:
    return isinstance(event, dict) and event.get("kind") == JOB_KIND


def unix_seconds(value: Any) -> int | None:
    """A unix time in seconds from what a payload holds: seconds, or milliseconds / microseconds
    (brought back to seconds); ``None`` when it is no plausible time (before 2000 or after 2100)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    seconds = float(value)
    while seconds > _LATEST and seconds / 1000 >= _EARLIEST:
        seconds /= 1000
    return int(seconds) if _EARLIEST <= seconds <= _LATEST else None


def _duration(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if 0 <= value <= 7 * 86400 else None


def _turn_bytes(turn: JobTurn) -> int:
    # What the turn costs in the job's JSON: escaping included (a quote costs two bytes, a control
    # character six), plus the object around it.
    return len(json.dumps(turn.content, ensure_ascii=False).encode("utf-8")) + TURN_OVERHEAD_BYTES


def _bounded(turns: list[JobTurn], budget: int) -> list[JobTurn]:
    """All turns if they fit in ``budget`` bytes of JSON; else the opening and the end of the call."""
    if sum(_turn_bytes(t) for t in turns) <= budget:
        return turns
    head: list[JobTurn] = []
    used = 0
    for turn in turns:
        if used + _turn_bytes(turn) > budget // 2:
            break
        head.append(turn)
        used += _turn_bytes(turn)
    tail: list[JobTurn] = []
    for turn in reversed(turns[len(head) :]):
        if used + _turn_bytes(turn) > budget:
            break
        tail.append(turn)
        used += _turn_bytes(turn)
    return head + tail[::-1]


def _delete_at(started: int | None, data: TranscriptionData, settings: Settings) -> int | None:
    """When the memories of this call are due for deletion (unix seconds): ``MEMORY_RETENTION_DAYS`` after
    the call, or the workspace's deletion time for this call
    (``metadata.deletion_settings.deletion_time_unix_secs``), whichever comes first; ``None`` keeps them.
    ``domain.retention``; the day of it is Mem0's ``expiration_date`` (``expires_on``)."""
    deletion = unix_seconds((data.metadata.deletion_settings or {}).get("deletion_time_unix_secs"))
    return retention.delete_at(started, deletion, settings.retention_days, now=int(time.time()))


def _cut(text: str, limit: int) -> str:
    return text[:limit]


def build_job(
    data: TranscriptionData,
    *,
    caller_id: str,
    event_timestamp: Any,
    settings: Settings,
) -> Job:
    """The compact job for a finished call (``data``) of ``caller_id``.

    With ``REDACT_PII`` on, every text that leaves the webhook is redacted first (``redaction``): the
    turns as one call (the agent's "what's the security code?" gives the caller's "737" its meaning, and
    a card read in chunks over several turns is one card), the summary, the title, and each collected
    value with its field name as context; each is cut to its bound (``MAX_TURN_CHARS``,
    ``MAX_SUMMARY_CHARS``, ``MAX_TITLE_CHARS``, ``MAX_FIELD_CHARS``) only after it was redacted (a cut
    could leave half a card that no longer looks like one).
    Raises ``pydantic.ValidationError`` for a field out of bounds (the webhook answers 400).
    """
    spoken = []
    for turn in data.transcript:
        # An interrupted turn's ``message`` is what was actually said (``original_message`` was not).
        text = single_line(turn.message, MAX_RAW_TURN_CHARS)
        if text and turn.role in ("user", "agent"):
            spoken.append(("user" if turn.role == "user" else "assistant", text))
    collected = {}
    for key, result in data.analysis.data_collection_results.items():
        value = single_line(result.value, MAX_RAW_FIELD_CHARS)
        label = single_line(key, 64)
        if value and label and len(collected) < MAX_FIELDS:
            collected[label] = value
    # Read whole (bounded far above what is kept), cut only after redaction: a cut first could leave half a
    # card that no longer looks like one.
    summary = single_line(data.analysis.transcript_summary, MAX_RAW_TURN_CHARS)
    title = single_line(data.analysis.call_summary_title, MAX_RAW_FIELD_CHARS)
    counts: Counter[str] = Counter()
    cut = _cut
    if settings.redact_pii:
        from agentic_memory.domain import redaction  # loaded only when redaction is on

        cut = redaction.shorten  # never inside a placeholder
        texts, found = redaction.redact_turns([text for _, text in spoken])
        spoken = [(role, text) for (role, _), text in zip(spoken, texts, strict=True)]
        counts += found
        for key, value in list(collected.items()):
            collected[key], found = redaction.redact_text(value, hint=key)
            counts += found
        if summary:
            summary, found = redaction.redact_text(summary)
            counts += found
        if title:
            title, found = redaction.redact_text(title, hint=summary or "")
            counts += found
    collected = {key: cut(value, MAX_FIELD_CHARS) for key, value in collected.items()}
    summary = cut(summary, MAX_SUMMARY_CHARS) if summary else summary
    title = cut(title, MAX_TITLE_CHARS) if title else title
    turns = [JobTurn(role=role, content=cut(text, MAX_TURN_CHARS)) for role, text in spoken]  # type: ignore[arg-type]
    name_field = settings.caller_name_field
    name = clean_name(collected.get(name_field)) or said_name(t.content for t in turns if t.role == "user")
    collected.pop(name_field, None)  # the checked name travels as caller_name, a placeholder not at all
    done_item = data.analysis.data_collection_results.get(brief.FOLLOW_UP_DONE)
    follow_up_done = brief.settled(done_item.value) if done_item is not None else None
    collected.pop(brief.FOLLOW_UP_DONE, None)  # a flag for the brief, not a fact worth a memory
    started = unix_seconds(data.metadata.start_time_unix_secs)
    event_time = unix_seconds(event_timestamp)
    phone_call = data.metadata.phone_call
    due = _delete_at(started or event_time, data, settings)
    fields = {
        "conversation_id": (data.conversation_id or "").strip(),
        "agent_id": single_line(data.agent_id, 200),
        "agent_number": single_line(phone_call.agent_number, 32) if phone_call else None,
        "direction": phone_call.direction if phone_call and phone_call.direction in ("inbound", "outbound") else None,
        "caller_id": caller_id,
        "event_timestamp": event_time,
        "start_time_unix_secs": started,
        "call_duration_secs": _duration(data.metadata.call_duration_secs),
        "summary": summary,
        "title": title,
        "call_successful": single_line(data.analysis.call_successful, 40),
        "data_collection": collected,
        "caller_name": name or None,
        # The same scope client_data and retrieve read: a call without an agent id is kept apart from
        # every agent's callers rather than shared.
        "app_id": app_id_for(data.agent_id, settings),
        "expires_on": retention.expiration_day(due) if due is not None else None,
        "delete_at": due,
        "redacted": dict(counts),
        "follow_up_done": follow_up_done,
        "subagent": data.subagent,
        "parent_conversation_id": single_line(data.parent_conversation_id, 200),
        "machine_detectable": bool(
            phone_call and (phone_call.type or "").lower() == "twilio" and (phone_call.direction or "") == "outbound"
        ),
    }
    rest = len(Job(**fields).model_dump_json().encode("utf-8"))
    budget = MAX_JOB_BYTES - rest
    kept = _bounded(turns, budget)
    job = Job(**fields, turns=kept)
    while len(job.model_dump_json().encode("utf-8")) > MAX_JOB_BYTES and kept:  # never in practice
        budget = budget * 9 // 10
        kept = _bounded(turns, budget)
        job = Job(**fields, turns=kept)
    return job


AGENT_NOT_ENABLED = "agent_not_enabled"


@dataclass(frozen=True, slots=True)
class NotRemembered:
    """Why a finished conversation yields no job: ``reason`` (for the log and the webhook's answer) and
    ``rule``, the skip rule that decided it (``worth_remembering``: ``voicemail``, ``not_answered``,
    ``failed``, ``caller_silent``, ``agent_silent``, ``no_content``; ``AGENT_NOT_ENABLED`` for an agent
    without memory; ``None`` when there is simply no caller to remember)."""

    reason: str
    rule: str | None = None


def job_for_conversation(data: TranscriptionData, event_timestamp: Any, settings: Settings) -> Job | NotRemembered:
    """The job for a finished conversation, or why it is not remembered.

    The one path from a conversation to a job: the post-call webhook and reconcile both use it, so
    agent opt-in (``domain.agents``), identity, redaction, skip rules and bounds are the same.
    ``event_timestamp`` is the webhook's (unix seconds, or milliseconds). Raises ``BadRequest`` for a
    conversation id that is blank, invisible or malformed, and for fields out of bounds (the webhook
    answers 400).
    """
    conversation_id = (data.conversation_id or "").strip()
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise BadRequest("data.conversation_id is missing or malformed.", code="invalid_payload")
    if not agents.memory_enabled(data.agent_id, settings):  # before the caller is even looked at
        return NotRemembered(agents.not_enabled_reason(data.agent_id), AGENT_NOT_ENABLED)
    caller = identity.for_finished_call(data, settings)
    if not caller:
        return NotRemembered("no caller to remember (withheld or missing caller id)")
    rule = reason_not_remembered(data)
    if rule:
        return NotRemembered(f"call not remembered: {rule}", rule)
    try:
        return build_job(data, caller_id=caller, event_timestamp=event_timestamp, settings=settings)
    except ValidationError:  # a field the job bounds: the sender's error
        raise BadRequest("The post-call payload has a field out of bounds.", code="invalid_payload") from None
