"""Post-call payload -> compact job -> at most three Mem0 writes.

The webhook handler turns ElevenLabs' (possibly large) payload into a small job and hands it to
the asynchronous worker; the worker writes it. The job carries only what the writes need, bounded
so it always fits an asynchronous Lambda invocation (256 KB).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from agentic_memory.elevenlabs import TranscriptionData
from agentic_memory.personalize import KIND_FACT, KIND_SUMMARY, clean_name

JOB_KIND = "post_call_job"
KIND_CONVERSATION = "conversation"
MAX_TURN_CHARS = 2_000
MAX_TRANSCRIPT_BYTES = 120_000
MAX_FIELD_CHARS = 500

# What a caller says when giving their name. Only these explicit phrasings count.
_SAID_NAME = re.compile(
    r"\b(?i:my name is|my name's|you can call me|please call me)\s+([A-Za-z][A-Za-z'\-]{1,29})"
    r"(?:\s+([A-Z][A-Za-z'\-]{1,29}))?",  # a second word only when capitalised: "Maria and" is not a name
)
_NOT_NAMES = frozenset({"not", "just", "actually", "calling", "still", "also", "the", "a", "an", "really"})


class JobTurn(BaseModel):
    model_config = ConfigDict(frozen=True)
    role: Literal["user", "assistant"]
    content: str


class Job(BaseModel):
    """What the worker needs to write one call's memories; a self-invocation's whole payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["post_call_job"] = JOB_KIND
    version: Literal[1] = 1
    conversation_id: StrictStr = Field(min_length=1, max_length=200)
    agent_id: str | None = None
    caller_id: StrictStr = Field(min_length=1, max_length=200)
    event_timestamp: int | None = None
    start_time_unix_secs: int | None = None
    call_duration_secs: float | None = None
    turns: list[JobTurn] = Field(default_factory=list)
    summary: str | None = None
    title: str | None = None
    call_successful: str | None = None
    data_collection: dict[str, str] = Field(default_factory=dict)
    caller_name: str | None = None


def is_job(event: Any) -> bool:
    return isinstance(event, dict) and event.get("kind") == JOB_KIND


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, int | float | str):
        text = " ".join(str(value).split())
        return text[:limit] if text else None
    return None


def _size(turn: JobTurn) -> int:
    return len(turn.content.encode("utf-8"))  # bytes, not characters: the invoke limit is in bytes


def _bounded(turns: list[JobTurn], budget: int) -> list[JobTurn]:
    """All turns if they fit in ``budget`` UTF-8 bytes; else the opening and the end of the call."""
    if sum(_size(t) for t in turns) <= budget:
        return turns
    head: list[JobTurn] = []
    used = 0
    for turn in turns:
        if used + _size(turn) > budget // 2:
            break
        head.append(turn)
        used += _size(turn)
    tail: list[JobTurn] = []
    for turn in reversed(turns[len(head) :]):
        if used + _size(turn) > budget:
            break
        tail.append(turn)
        used += _size(turn)
    return head + tail[::-1]


def said_name(turns: list[JobTurn]) -> str | None:
    """The name the caller gave ("my name is ..."), from their own turns only."""
    for turn in turns:
        if turn.role != "user":
            continue
        for match in _SAID_NAME.finditer(turn.content):
            first = match.group(1)
            if first.lower() in _NOT_NAMES:
                continue
            return clean_name(" ".join(part for part in match.groups() if part)) or None
    return None


def build_job(
    data: TranscriptionData,
    *,
    caller_id: str,
    event_timestamp: int | None,
    caller_name_field: str,
) -> Job:
    turns = []
    for turn in data.transcript:
        text = _text(turn.message, MAX_TURN_CHARS)
        if text and turn.role in ("user", "agent"):
            turns.append(JobTurn(role="user" if turn.role == "user" else "assistant", content=text))
    collected = {}
    for key, result in data.analysis.data_collection_results.items():
        value = _text(result.value, MAX_FIELD_CHARS)
        if value and len(collected) < 50:
            collected[str(key)[:64]] = value
    name = clean_name(collected.get(caller_name_field)) or said_name(turns)
    return Job(
        conversation_id=data.conversation_id or "",
        agent_id=data.agent_id,
        caller_id=caller_id,
        event_timestamp=event_timestamp,
        start_time_unix_secs=data.metadata.start_time_unix_secs,
        call_duration_secs=data.metadata.call_duration_secs,
        turns=_bounded(turns, MAX_TRANSCRIPT_BYTES),
        summary=_text(data.analysis.transcript_summary, 4_000),
        title=_text(data.analysis.call_summary_title, 200),
        call_successful=_text(data.analysis.call_successful, 40),
        data_collection=collected,
        caller_name=name,
    )


class Write(BaseModel):
    """One Mem0 ``add`` request."""

    model_config = ConfigDict(frozen=True)
    messages: list[dict[str, str]]
    metadata: dict[str, Any]
    infer: bool


def _call_date(job: Job) -> str:
    when = job.start_time_unix_secs or job.event_timestamp
    return datetime.fromtimestamp(when, UTC).date().isoformat() if when else ""


def _fact_sentence(key: str, value: str, caller_name_field: str) -> str:
    if key == caller_name_field:
        return f"Caller's name is {value}."
    label = key.replace("_", " ").replace("-", " ").strip().capitalize()
    return f"{label}: {value}"


def plan_writes(job: Job, *, caller_name_field: str = "caller_name") -> list[Write]:
    """The job as Mem0 requests: the conversation (Mem0 infers the facts), the summary verbatim, the
    collected data as explicit facts. At most three, however long the call."""
    base = {"conversation_id": job.conversation_id, "agent_id": job.agent_id or "", "date": _call_date(job)}
    writes = []
    if job.turns:
        writes.append(
            Write(
                messages=[turn.model_dump() for turn in job.turns],
                metadata={**base, "kind": KIND_CONVERSATION},
                infer=True,
            )
        )
    summary = job.summary or job.title
    if summary:
        writes.append(
            Write(
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
    facts = {**job.data_collection}
    if job.caller_name:
        facts[caller_name_field] = job.caller_name
    if facts:
        metadata = {**base, "kind": KIND_FACT, "fields": sorted(facts)}
        if job.caller_name:
            metadata["caller_name"] = job.caller_name
        writes.append(
            Write(
                messages=[
                    {"role": "user", "content": _fact_sentence(key, value, caller_name_field)}
                    for key, value in facts.items()
                ],
                metadata=metadata,
                infer=False,
            )
        )
    return writes
