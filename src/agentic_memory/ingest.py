"""Post-call payload -> compact job -> at most three Mem0 writes.

The webhook handler turns ElevenLabs' (possibly large) payload into a small job and hands it to the
asynchronous worker; the worker writes it. Everything the worker cannot use is settled here, at the
webhook, so that no valid webhook yields a job that can never succeed (DESIGN.md section 8):
timestamps in milliseconds are brought back to seconds, values out of range are dropped, and the
job's whole JSON is bounded in bytes under Lambda's asynchronous invocation limit (256 KB), however
long or strange the call. Calls that must not be remembered (voicemail, failed, the caller never
spoke: DESIGN.md section 6) yield no job at all.
"""

from __future__ import annotations

import json
import math
import re
import time
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from agentic_memory.config import Settings
from agentic_memory.identity import is_identity
from agentic_memory.kinds import KIND_CONVERSATION, KIND_FACT, KIND_SUMMARY, UNKNOWN_AGENT, fact_sentence
from agentic_memory.names import clean_name, said_name
from agentic_memory.transcription import TranscriptionData

JOB_KIND = "post_call_job"
MAX_TURN_CHARS = 2_000
MAX_RAW_TURN_CHARS = 20_000  # read before redaction, cut to MAX_TURN_CHARS after
MAX_FIELD_CHARS = 500
MAX_FIELDS = 50
# Lambda's asynchronous invocation payload limit is 256 KB (262,144 bytes; Lambda quotas page). The
# job is kept well under it: the transcript gets what the rest of the job leaves of this budget.
MAX_JOB_BYTES = 200_000
TURN_OVERHEAD_BYTES = len('{"role":"assistant","content":""},')
# 2000-01-01 .. 2100-01-01: a call start outside this is no time in seconds.
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
VOICEMAIL_MARKERS = ("voicemail", "answering machine", "answering_machine", "machine_detected")


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
    redacted: dict[str, int] = Field(default_factory=dict)  # counts per kind, never values

    @field_validator("caller_id")
    @classmethod
    def _identity(cls, value: str) -> str:
        if not is_identity(value):
            raise ValueError("caller_id is not a caller identity")
        return value

    @property
    def started(self) -> int | None:
        """The call's start, unix seconds (the event time when the start is unknown)."""
        return self.start_time_unix_secs or self.event_timestamp


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


def _text(value: Any, limit: int) -> str | None:
    """A single-line text of at most ``limit`` characters from a string, number or boolean; control and
    bidirectional-override characters become spaces (they carry no meaning and inflate the job)."""
    if isinstance(value, bool) or value is None:
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str):
        text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", str(value))).split())
        return text[:limit] if text else None
    return None


def not_remembered(data: TranscriptionData) -> str | None:
    """Why this call must not be remembered, or ``None`` when it should be.

    Voicemail (``metadata.termination_reason`` says voicemail was detected, e.g.
    ``webhook_detected_voicemail``: post-call webhook docs), a failed conversation (``status`` "failed"),
    and a call where the caller never said anything (no user turn with text): the machine's greeting or
    the agent talking alone would otherwise become the caller's memory.
    """
    reason = (data.metadata.termination_reason or "").lower()
    if any(marker in reason for marker in VOICEMAIL_MARKERS):
        return "voicemail"
    if (data.status or "").lower() == "failed":
        return "failed"
    if not any(turn.role == "user" and _text(turn.message, 10) for turn in data.transcript):
        return "caller_silent"
    return None


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


def _expires_on(started: int | None, data: TranscriptionData, settings: Settings) -> date | None:
    """The day the memories of this call expire: ``MEMORY_RETENTION_DAYS`` after the call, or the
    workspace's deletion time for this call (``metadata.deletion_settings.deletion_time_unix_secs``),
    whichever comes first; ``None`` keeps them."""
    candidates = []
    if settings.retention_days:
        base = started or int(time.time())
        candidates.append(datetime.fromtimestamp(base, UTC).date() + timedelta(days=settings.retention_days))
    deletion = unix_seconds((data.metadata.deletion_settings or {}).get("deletion_time_unix_secs"))
    if deletion:
        candidates.append(datetime.fromtimestamp(deletion, UTC).date())
    return min(candidates) if candidates else None


def build_job(
    data: TranscriptionData,
    *,
    caller_id: str,
    event_timestamp: Any,
    settings: Settings,
) -> Job:
    """The compact job for a finished call (``data``) of ``caller_id``.

    With ``REDACT_PII`` on, every text that leaves the webhook is redacted first (``redact``): the
    turns as one call (the agent's "what's the security code?" gives the caller's "737" its meaning),
    before any turn is cut to ``MAX_TURN_CHARS`` (a cut could leave half a card that no longer looks
    like one), the summary, the title, and each collected value with its field name as context.
    Raises ``pydantic.ValidationError`` for a field out of bounds (the webhook answers 400).
    """
    spoken = []
    for turn in data.transcript:
        # An interrupted turn's ``message`` is what was actually said (``original_message`` was not).
        text = _text(turn.message, MAX_RAW_TURN_CHARS)
        if text and turn.role in ("user", "agent"):
            spoken.append(("user" if turn.role == "user" else "assistant", text))
    collected = {}
    for key, result in data.analysis.data_collection_results.items():
        value = _text(result.value, MAX_FIELD_CHARS)
        label = _text(key, 64)
        if value and label and len(collected) < MAX_FIELDS:
            collected[label] = value
    summary = _text(data.analysis.transcript_summary, 4_000)
    title = _text(data.analysis.call_summary_title, 200)
    counts: Counter[str] = Counter()
    if settings.redact_pii:
        from agentic_memory import redact

        texts, found = redact.redact_turns([text for _, text in spoken])
        spoken = [(role, text) for (role, _), text in zip(spoken, texts, strict=True)]
        counts += found
        for key, value in list(collected.items()):
            collected[key], found = redact.redact_text(value, hint=key)
            counts += found
        if summary:
            summary, found = redact.redact_text(summary)
            counts += found
        if title:
            title, found = redact.redact_text(title, hint=summary or "")
            counts += found
    turns = [JobTurn(role=role, content=text[:MAX_TURN_CHARS]) for role, text in spoken]  # type: ignore[arg-type]
    name_field = settings.caller_name_field
    name = clean_name(collected.get(name_field)) or said_name(t.content for t in turns if t.role == "user")
    collected.pop(name_field, None)  # the checked name travels as caller_name, a placeholder not at all
    started = unix_seconds(data.metadata.start_time_unix_secs)
    event_time = unix_seconds(event_timestamp)
    phone_call = data.metadata.phone_call
    fields = {
        "conversation_id": (data.conversation_id or "").strip(),
        "agent_id": _text(data.agent_id, 200),
        "agent_number": _text(phone_call.agent_number, 32) if phone_call else None,
        "caller_id": caller_id,
        "event_timestamp": event_time,
        "start_time_unix_secs": started,
        "call_duration_secs": _duration(data.metadata.call_duration_secs),
        "summary": summary,
        "title": title,
        "call_successful": _text(data.analysis.call_successful, 40),
        "data_collection": collected,
        "caller_name": name or None,
        # The same scope client_data and retrieve read (endpoints._scope): a call without an agent id
        # is kept apart from every agent's callers rather than shared.
        "app_id": (_text(data.agent_id, 200) or UNKNOWN_AGENT) if settings.memory_scope == "agent" else None,
        "expires_on": _expires_on(started or event_time, data, settings),
        "redacted": dict(counts),
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


class Write(BaseModel):
    """One Mem0 ``add`` request."""

    model_config = ConfigDict(frozen=True)
    kind: str
    messages: list[dict[str, str]]
    metadata: dict[str, Any]
    infer: bool


def _call_date(job: Job) -> str:
    return datetime.fromtimestamp(job.started, UTC).date().isoformat() if job.started else ""


def plan_writes(job: Job) -> list[Write]:
    """The job as Mem0 requests: the conversation (Mem0 infers the facts), the summary verbatim, the
    collected data as explicit facts. At most three, however long the call. No ``agent_id``: the agent
    and the conversation travel in ``metadata`` (DESIGN.md section 6)."""
    base = {
        "conversation_id": job.conversation_id,
        "agent_id": job.agent_id or "",
        "date": _call_date(job),
        "started": job.started or 0,
    }
    writes = []
    if job.turns:
        writes.append(
            Write(
                kind=KIND_CONVERSATION,
                messages=[turn.model_dump() for turn in job.turns],
                metadata={**base, "kind": KIND_CONVERSATION},
                infer=True,
            )
        )
    summary = job.summary or job.title
    if summary:
        writes.append(
            Write(
                kind=KIND_SUMMARY,
                messages=[{"role": "user", "content": summary}],
                metadata={
                    **base,
                    "kind": KIND_SUMMARY,
                    "title": job.title or "",
                    "outcome": job.call_successful or "unknown",
                    "duration_secs": job.call_duration_secs or 0,
                },
                infer=False,
            )
        )
    sentences = [fact_sentence(key, value) for key, value in job.data_collection.items()]
    if job.caller_name:
        sentences.insert(0, f"Caller's name is {job.caller_name}.")
    if sentences:
        metadata = {**base, "kind": KIND_FACT, "fields": sorted(job.data_collection)}
        if job.caller_name:
            metadata["caller_name"] = job.caller_name
        writes.append(
            Write(
                kind=KIND_FACT,
                messages=[{"role": "user", "content": sentence} for sentence in sentences],
                metadata=metadata,
                infer=False,
            )
        )
    return writes
