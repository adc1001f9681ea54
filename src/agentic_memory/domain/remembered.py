"""What is remembered of a caller, as the greeting and the memory context need it.

Two sources give it: the caller profile (``profile.remembered``) and, when there is none, the caller's
Mem0 memories (``from_records``). ``MemoryRecord`` is a memory as this code sees it, whichever store
read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentic_memory.domain.brief import gist
from agentic_memory.domain.memory_labels import KIND_FACT, KIND_SUMMARY, record_kind
from agentic_memory.domain.names import clean_name, stated_name

MAX_FACTS = 6
RECENT_CALLS = 3  # the last calls the brief shows


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """A memory as the rest of the code sees it: text, metadata, when (ISO 8601, as Mem0 sends it)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class PastCall:
    """One earlier call in the brief: its date (``YYYY-MM-DD``, UTC) and a one-line gist."""

    date: str
    gist: str


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the greeting and the caller brief need, from the caller profile or from Mem0's memories.

    ``count``: memories (at least the calls); ``facts``: preferences and durable facts, newest first;
    ``calls``: calls counted (0 when unknown: Mem0 alone does not count calls); ``first_date`` /
    ``last_date``: first and newest call (``YYYY-MM-DD``); ``follow_up`` and ``follow_up_date``: what the
    newest call that left one promised or asked, while no later call settled or replaced it; ``recent``:
    the last calls, newest first."""

    count: int = 0
    name: str = ""
    facts: list[str] = field(default_factory=list)
    last_summary: str = ""
    last_date: str = ""
    calls: int = 0
    first_date: str = ""
    follow_up: str = ""
    follow_up_date: str = ""
    recent: tuple[PastCall, ...] = ()

    @property
    def returning(self) -> bool:
        return self.count > 0


def caller_name(records: Sequence[MemoryRecord]) -> str:
    """Newest explicit name (data collection, or the caller saying it), else Mem0's "Name is ..." fact."""
    for record in records:
        name = clean_name(record.metadata.get("caller_name"))
        if name:
            return name
    for record in records:
        name = stated_name(record.text)
        if name:
            return name
    return ""


def from_records(total: int, records: Sequence[MemoryRecord]) -> Remembered:
    """``Remembered`` from Mem0 records sorted newest first (``MemoryStore.recent``)."""
    if total <= 0 and not records:
        return Remembered()
    kinds = [record_kind(r.text, r.metadata) for r in records]  # a call's notes hold its summary and facts
    summaries = [r for r, kind in zip(records, kinds, strict=True) if kind == KIND_SUMMARY]
    # The name has a line of its own; "Caller's name is ..." facts would only repeat it. What the agent
    # collected on purpose (data collection) leads, so that the many facts Mem0 extracts from the newest
    # conversation, often stored after it, cannot push it out of the bounded context.
    usable = [
        (r, kind) for r, kind in zip(records, kinds, strict=True) if kind != KIND_SUMMARY and not stated_name(r.text)
    ]
    collected = [r.text for r, kind in usable if kind == KIND_FACT]
    extracted = [r.text for r, kind in usable if kind != KIND_FACT]
    facts = list(dict.fromkeys(collected[:3] + extracted + collected[3:]))
    last = summaries[0] if summaries else None
    # Each call's summary is one record (its title in the metadata): the last calls, newest first.
    recent = tuple(
        PastCall(str(r.metadata.get("date") or "")[:10], gist(str(r.metadata.get("title") or ""), r.text))
        for r in summaries[:RECENT_CALLS]
    )
    return Remembered(
        count=max(total, len(records)),
        name=caller_name(records),
        facts=facts[:MAX_FACTS],
        last_summary=last.text if last else "",
        last_date=str(last.metadata.get("date") or "")[:10] if last else "",
        recent=recent,
    )
