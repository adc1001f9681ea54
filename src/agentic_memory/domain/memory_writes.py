"""What a job becomes in Mem0: at most two ``add`` requests, planned here and made by the worker.

The conversation (``infer=True``: Mem0 extracts the facts), and the call's notes (``infer=False``):
ElevenLabs' summary verbatim and the collected data as explicit facts, in one request, since Mem0's
limit counts adds (1,000 a minute per project: DESIGN.md section 4) and a direct import stores each
message as a memory of its own (direct-import docs). The one ``metadata`` of that add is attached to each
of its memories, so it names the summary by digest (``memory_labels.record_kind`` tells them apart). No
``agent_id``: with ``infer=True`` Mem0 would store what the agent said under the agent alone (DESIGN.md
section 4); the agent and the conversation travel in ``metadata``, which also lets the worker find a
write that reached Mem0 before a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentic_memory.domain.job import Job
from agentic_memory.domain.memory_labels import (
    KIND_CONVERSATION,
    KIND_NOTES,
    SUMMARY_DIGEST,
    fact_sentence,
    text_digest,
)


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
    """The job as Mem0 requests: the conversation (Mem0 infers the facts), then the notes: the summary and
    the collected data as explicit facts, verbatim, in one request. At most two, however long the call.
    No ``agent_id``: the agent and the conversation travel in ``metadata`` (DESIGN.md section 6)."""
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
    notes: list[str] = []
    metadata: dict[str, Any] = {**base, "kind": KIND_NOTES}
    summary = job.summary or job.title
    if summary:
        notes.append(summary)
        metadata |= {
            SUMMARY_DIGEST: text_digest(summary),
            "title": job.title or "",
            "outcome": job.call_successful or "unknown",
            "duration_secs": job.call_duration_secs or 0,
        }
    sentences = [fact_sentence(key, value) for key, value in job.data_collection.items()]
    if job.caller_name:
        sentences.insert(0, f"Caller's name is {job.caller_name}.")
        metadata["caller_name"] = job.caller_name
    if sentences:
        metadata["fields"] = sorted(job.data_collection)
    # A fact worded exactly as the summary would be taken for it: the summary is stored once, as itself.
    notes += [sentence for sentence in sentences if not summary or text_digest(sentence) != text_digest(summary)]
    if notes:
        writes.append(
            Write(
                kind=KIND_NOTES,
                messages=[{"role": "user", "content": text} for text in notes],
                metadata=metadata,
                infer=False,
            )
        )
    return writes


def verbatim_memories(writes: Iterable[Write]) -> int:
    """How many memories ``writes`` store as sent (``infer=False``: one per message), as opposed to what
    Mem0 will extract from the conversation later."""
    return sum(len(write.messages) for write in writes if not write.infer)
