"""What a job becomes in Mem0: at most three ``add`` requests, planned here and made by the worker.

The conversation (``infer=True``: Mem0 extracts the facts), ElevenLabs' summary verbatim and the
collected data as explicit facts (``infer=False``). No ``agent_id``: with ``infer=True`` Mem0 would store
what the agent said under the agent alone (DESIGN.md section 4); the agent and the conversation travel
in ``metadata``, which also lets the worker find a write that reached Mem0 before a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentic_memory.domain.job import Job
from agentic_memory.domain.memory_labels import KIND_CONVERSATION, KIND_FACT, KIND_SUMMARY, fact_sentence


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


def verbatim_memories(writes: Iterable[Write]) -> int:
    """How many memories ``writes`` store as sent (``infer=False``: one per message), as opposed to what
    Mem0 will extract from the conversation later."""
    return sum(len(write.messages) for write in writes if not write.infer)
