"""Changes to a caller profile other than a call being merged in: what retention removes, and what an
operator changes by hand. Pure functions on ``domain.profile.ProfileState``; no I/O.

The profile is what the greeting reads (``client_data``), so whatever leaves Mem0 must leave it too, or the
next call would still be greeted with it:

* **Retention** (``without``): the calls (and notes) that are due go from the calls counted, and so do the
  collected fields and the name they gave, the last call when it is one of them (the newest remaining call
  summary in Mem0 takes its place), and the Mem0 part, which is read again after the deletes. When nothing
  of the caller is left (no call counted, no note), the whole item goes.
* **By hand**: a note (``with_note``: the greeting leads with it), the name (``renamed``), one memory deleted
  (``after_removed``) or corrected (``after_corrected``), and the Mem0 part refreshed (``with_snapshot``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from agentic_memory.domain.memory_labels import KIND_FACT, KIND_NOTE, KIND_SUMMARY, fact_sentence, record_kind
from agentic_memory.domain.names import clean_name, stated_name
from agentic_memory.domain.profile import Mem0Snapshot, ProfileState, empty_doc, without_call
from agentic_memory.domain.remembered import MemoryRecord

MAX_NOTES = 20
MANUAL = "manual"  # the conversation part of a place set by hand (``name_from``): never a call's id
KEEP, WRITE, DELETE = "unchanged", "written", "deleted"


def _copy(state: ProfileState | None) -> tuple[dict[str, Any], list[list[Any]]]:
    if state is None:
        return empty_doc(), []
    return copy.deepcopy(state.doc), [list(entry) for entry in state.seen]


def _snapshot_part(snapshot: Mem0Snapshot) -> dict[str, Any]:
    return {"facts": list(snapshot.facts), "name": snapshot.name, "total": snapshot.total, "read_at": snapshot.read_at}


def _last_from(records: Sequence[MemoryRecord], excluded: set[str]) -> dict[str, Any] | None:
    """The profile's ``last`` rebuilt from the newest call summary in Mem0 whose call is not ``excluded``."""
    summaries = [
        r
        for r in records
        if record_kind(r.text, r.metadata) == KIND_SUMMARY
        and str(r.metadata.get("conversation_id") or "") not in excluded
    ]
    if not summaries:
        return None
    newest = max(summaries, key=lambda r: (int(r.metadata.get("started") or 0), r.created_at))
    meta = newest.metadata
    return {
        "conversation_id": str(meta.get("conversation_id") or ""),
        "started": int(meta.get("started") or 0),
        "date": str(meta.get("date") or "")[:10],
        "summary": newest.text,
        "title": str(meta.get("title") or ""),
        "outcome": str(meta.get("outcome") or ""),
        "agent_id": str(meta.get("agent_id") or ""),
    }


def without(
    state: ProfileState | None,
    *,
    calls: Iterable[str] = (),
    notes: Iterable[str] = (),
    snapshot: Mem0Snapshot | None = None,
    remaining: Sequence[MemoryRecord] = (),
) -> tuple[str, ProfileState | None]:
    """``state`` with the ``calls`` (conversation ids) and ``notes`` (note ids) that retention deleted taken
    out: ``(DELETE, None)`` when nothing of the caller is left, ``(KEEP, None)`` when nothing changes, else
    ``(WRITE, new state)``. ``snapshot``: the caller's Mem0 part read after the deletes (it replaces the old
    one, which may quote what was deleted); ``remaining``: the caller's remaining memories, newest first,
    from which the last call is rebuilt when it was one of ``calls``."""
    if state is None:
        return KEEP, None
    gone_calls, gone_notes = set(calls), set(notes)
    trimmed = state
    for conversation in sorted(gone_calls):  # each call's place, brief and values leave with it
        changed = without_call(trimmed, conversation)
        if changed is not None:
            trimmed = changed
    doc, seen = _copy(trimmed)
    if not doc.get("last") and seen:  # the last call was due and the brief held no other: ask Mem0's summaries
        doc["last"] = _last_from(remaining, gone_calls)
    doc["notes"] = [note for note in doc.get("notes") or [] if note.get("id") not in gone_notes]
    if not doc["notes"]:
        doc.pop("notes", None)
    if snapshot is not None:
        doc["mem0"] = _snapshot_part(snapshot)
    if not seen and not doc.get("notes") and not doc.get("last"):
        return DELETE, None
    if doc == state.doc and seen == state.seen:
        return KEEP, None
    return WRITE, ProfileState(doc, seen)


def with_note(state: ProfileState | None, note: dict[str, Any]) -> ProfileState:
    """``state`` (or a new profile) with ``note`` (``{"id", "text", "author", "added_at"}``) first among its
    notes, at most ``MAX_NOTES`` kept (the newest)."""
    doc, seen = _copy(state)
    notes = [existing for existing in doc.get("notes") or [] if existing.get("id") != note["id"]]
    doc["notes"] = [dict(note), *notes][:MAX_NOTES]
    return ProfileState(doc, seen)


def renamed(state: ProfileState | None, name: str, now: int) -> ProfileState:
    """``state`` (or a new profile) with the caller's name set by hand. The name's place is ``[now,
    "manual"]``: a later call that gives a name still wins, as the newest call's name always does
    (``profile.merge``). Raises ``ValueError`` for a name ``names.clean_name`` refuses."""
    cleaned = clean_name(name)
    if not cleaned:
        raise ValueError("not a usable name (one to four words of letters)")
    doc, seen = _copy(state)
    doc["name"], doc["name_from"] = cleaned, [int(now), MANUAL]
    return ProfileState(doc, seen)


def with_snapshot(state: ProfileState | None, snapshot: Mem0Snapshot) -> tuple[str, ProfileState | None]:
    """``state`` with its Mem0 part read again (after an operator changed a memory); ``(KEEP, None)`` without
    a profile (the greeting then reads Mem0 itself)."""
    if state is None:
        return KEEP, None
    doc, seen = _copy(state)
    doc["mem0"] = _snapshot_part(snapshot)
    return WRITE, ProfileState(doc, seen)


def _conversation(record: MemoryRecord) -> str:
    return str(record.metadata.get("conversation_id") or "")


def after_removed(
    state: ProfileState | None, record: MemoryRecord, snapshot: Mem0Snapshot | None
) -> tuple[str, ProfileState | None]:
    """``state`` once the memory ``record`` was deleted by hand: what the profile took from it goes too (a
    collected field, the name it states, the last call's summary, a note), and the Mem0 part is replaced
    by ``snapshot`` (read after the delete)."""
    if state is None:
        return KEEP, None
    doc, seen = _copy(state)
    kind, conversation = record_kind(record.text, record.metadata), _conversation(record)
    if kind == KIND_NOTE:
        doc["notes"] = [n for n in doc.get("notes") or [] if n.get("id") != record.metadata.get("note_id")]
    elif kind == KIND_SUMMARY:
        last = doc.get("last")
        if last and str(last.get("conversation_id")) == conversation:
            last["summary"], last["title"] = "", ""
    elif kind == KIND_FACT:
        facts = doc.get("facts") or {}
        for label in [label for label, fact in facts.items() if str(fact["from"][1]) == conversation]:
            if fact_sentence(label, str(facts[label]["value"])) == record.text:
                del facts[label]
    name_from = doc.get("name_from")
    if stated_name(record.text) and name_from and str(name_from[1]) == conversation:
        doc["name"], doc["name_from"] = "", None
    if snapshot is not None:
        doc["mem0"] = _snapshot_part(snapshot)
    if doc == state.doc:
        return KEEP, None
    return WRITE, ProfileState(doc, seen)


def after_corrected(
    state: ProfileState | None, record: MemoryRecord, text: str, snapshot: Mem0Snapshot | None
) -> tuple[str, ProfileState | None]:
    """``state`` once the memory ``record`` was corrected by hand to ``text``: a note or the last call's
    summary takes the new text; a collected field it stated is dropped from the profile (the corrected
    memory reaches the greeting through the Mem0 part, ``snapshot``, read after the change); a name it
    stated becomes the name it now states."""
    if state is None:
        return KEEP, None
    kind = record_kind(record.text, record.metadata)
    if kind == KIND_NOTE:
        doc, seen = _copy(state)
        for note in doc.get("notes") or []:
            if note.get("id") == record.metadata.get("note_id"):
                note["text"] = text
        if snapshot is not None:
            doc["mem0"] = _snapshot_part(snapshot)
        return (KEEP, None) if doc == state.doc else (WRITE, ProfileState(doc, seen))
    _, removed = after_removed(state, record, snapshot)
    base = removed if removed is not None else state
    doc, seen = _copy(base)
    conversation = _conversation(record)
    if kind == KIND_SUMMARY:
        last = doc.get("last")
        if last and str(last.get("conversation_id")) == conversation:
            last["summary"] = text
    new_name = clean_name(stated_name(text))
    if stated_name(record.text) and new_name and (doc.get("name_from") is None or doc.get("name") == ""):
        doc["name"], doc["name_from"] = new_name, [int(record.metadata.get("started") or 0), conversation or MANUAL]
    if doc == state.doc:
        return KEEP, None
    return WRITE, ProfileState(doc, seen)
