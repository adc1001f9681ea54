"""Where a memory came from, as an operator reads it, and how a note added by hand is labelled. No I/O.

Every memory the worker writes carries the call in its Mem0 ``metadata`` (``domain.memory_writes``:
``conversation_id``, ``agent_id``, ``date``, ``started``, ``kind``); a note an operator adds carries
``kind`` = ``manual_note``, its ``note_id``, its ``author`` (the AWS principal or the local user who added
it) and when. A correction made with Mem0's ``update`` adds ``corrected_by`` and ``corrected_at``. Mem0
keeps ``metadata`` on each record and returns it from ``get_all``, ``search`` and ``get`` (openapi
``memories_add_v3``: "attach to each extracted memory"; notes 2.4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentic_memory.domain.memory_labels import (
    KIND_CONVERSATION,
    KIND_FACT,
    KIND_NOTE,
    KIND_SUMMARY,
    SUMMARY_DIGEST,
    record_kind,
)

MAX_NOTE_CHARS = 500
MAX_AUTHOR_CHARS = 200
NOTE_ID = re.compile(r"note-[0-9a-f]{12}")
_KIND_WORDS = {
    KIND_CONVERSATION: "extracted from the conversation",
    KIND_SUMMARY: "the call's summary",
    KIND_FACT: "collected by the agent",
}


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one memory came from: ``source`` is ``call`` (``conversation_id``, ``date``, ``agent_id``),
    ``manual`` (``author``, ``date``) or ``unknown`` (written by something else, or before metadata was
    kept); ``kind`` is the write it came from; ``corrected_by`` names whoever changed it by hand."""

    source: str
    kind: str = ""
    conversation_id: str = ""
    agent_id: str = ""
    date: str = ""
    author: str = ""
    corrected_by: str = ""

    def describe(self) -> str:
        """One line for the tool and the console, e.g. ``call conv_1 on 2026-11-02, agent agent_7
        (collected by the agent)`` or ``added by hand by arn:aws:sts::1:assumed-role/Ops/ana on 2026-12-01``."""
        if self.source == "manual":
            text = f"added by hand by {self.author or 'someone unknown'}" + (f" on {self.date}" if self.date else "")
        elif self.source == "call":
            text = f"call {self.conversation_id}" + (f" on {self.date}" if self.date else "")
            text += f", agent {self.agent_id}" if self.agent_id else ""
            if self.kind in _KIND_WORDS:
                text += f" ({_KIND_WORDS[self.kind]})"
        else:
            text = "unknown origin (no call or author recorded)"
        return text + (f"; corrected by {self.corrected_by}" if self.corrected_by else "")

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "kind": self.kind,
            "conversation_id": self.conversation_id,
            "agent_id": self.agent_id,
            "date": self.date,
            "author": self.author,
            "corrected_by": self.corrected_by,
            "text": self.describe(),
        }


def _text(value: Any, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int | float) else ""


def of(metadata: dict[str, Any] | None, created_at: str = "", text: str = "") -> Provenance:
    """The provenance of a memory from its Mem0 ``metadata`` (and ``created_at``, ISO 8601, as Mem0 sends
    it, when the metadata has no date); ``text``, the memory's own, tells a call's summary from its facts
    when both came in one write (``memory_labels.record_kind``)."""
    meta = metadata if isinstance(metadata, dict) else {}
    kind = record_kind(text, meta) or _text(meta.get("kind"), 40)
    day = _text(meta.get("date"), 10) or _text(created_at, 10)
    corrected = _text(meta.get("corrected_by"), MAX_AUTHOR_CHARS)
    if kind == KIND_NOTE:
        return Provenance(
            "manual", kind, date=day, author=_text(meta.get("author"), MAX_AUTHOR_CHARS), corrected_by=corrected
        )
    conversation = _text(meta.get("conversation_id"))
    if conversation:
        return Provenance("call", kind, conversation, _text(meta.get("agent_id")), day, corrected_by=corrected)
    return Provenance("unknown", kind, date=day, corrected_by=corrected)


def note_text(raw: Any) -> str:
    """A note's text made one line and bounded; raises ``ValueError`` when nothing is left."""
    text = " ".join(str(raw or "").split())[:MAX_NOTE_CHARS]
    if not text:
        raise ValueError("a note needs some text")
    return text


def note_metadata(note_id: str, author: str, now: float) -> dict[str, Any]:
    """The Mem0 ``metadata`` of a note added by hand: ``kind`` ``manual_note``, ``note_id``, ``author``, when
    (``date`` ``YYYY-MM-DD`` and ``added_at`` unix seconds, UTC)."""
    if not NOTE_ID.fullmatch(note_id):
        raise ValueError("a note id is note- and 12 hex digits")
    return {
        "kind": KIND_NOTE,
        "note_id": note_id,
        "author": _text(author, MAX_AUTHOR_CHARS) or "unknown",
        "added_at": int(now),
        "date": datetime.fromtimestamp(now, UTC).date().isoformat(),
    }


def corrected_metadata(metadata: dict[str, Any] | None, author: str, now: float, text: str = "") -> dict[str, Any]:
    """A memory's ``metadata`` once ``author`` corrected its text by hand: the same, plus ``corrected_by``
    and ``corrected_at`` (unix seconds). What the memory was (``record_kind`` of its old ``text``) is written
    as its ``kind``: a summary written with the call's facts is known by its text's digest, which the new
    text no longer has."""
    meta = dict(metadata if isinstance(metadata, dict) else {})
    kind = record_kind(text, meta)
    if kind:
        meta["kind"] = kind
        meta.pop(SUMMARY_DIGEST, None)
    return {
        **meta,
        "corrected_by": _text(author, MAX_AUTHOR_CHARS) or "unknown",
        "corrected_at": int(now),
    }
