"""The caller profile document: what the greeting needs of a caller, and how each call is merged in.

DESIGN.md section 6. The worker keeps one document per caller and memory scope in DynamoDB
(``stores.profile_table``); ``client_data`` reads it (``stores.profile_reader``) and turns it into what is
remembered (``remembered``) without asking Mem0. This module is the document's rules alone, with no I/O.

The document (``doc``, JSON): ``name`` and ``name_from`` (the call that gave it), ``last`` (the newest
call: conversation, start, date, summary, title, outcome, agent), ``calls``, ``facts`` (collected field ->
value and the call it came from), ``mem0`` (a bounded snapshot of the caller's recent Mem0 facts, its
count and when it was read), ``first_seen`` / ``last_seen`` (unix seconds), ``expires_at``, and ``notes``
added by hand (``domain.profile_edits``; absent until one is). Beside it,
``seen``: ``[[start, conversation id], ...]`` of the calls counted, newest first, at most
``MAX_COUNTED_CALLS``.

**The newest call wins, whatever order jobs run in.** A call's place is ``(start, conversation id)``
(``Job.started``: the call's start, else the webhook's time); ``merge`` is a pure function whose result
does not depend on the order calls arrive in, and a repeated call changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from agentic_memory.domain.memory_labels import KIND_SUMMARY, fact_sentence, record_kind
from agentic_memory.domain.names import clean_name, stated_name
from agentic_memory.domain.remembered import MAX_FACTS, MemoryRecord, Remembered, caller_name

if TYPE_CHECKING:  # the worker's job: client_data reads documents without loading the post-call models
    from agentic_memory.domain.job import Job

DOC_VERSION = 1
# Bounds: the item stays far below DynamoDB's 400 KB, and the part client_data reads (``doc``) small.
MAX_COUNTED_CALLS = 500
MAX_COLLECTED_FACTS = 20
MAX_MEM0_FACTS = 12
MAX_MEM0_FACT_CHARS = 300


@dataclass(frozen=True, slots=True)
class Mem0Snapshot:
    """The caller's recent Mem0 facts as read by the worker at ``read_at`` (unix seconds)."""

    facts: tuple[str, ...]
    name: str
    total: int
    read_at: float


def snapshot(total: int, records: Sequence[MemoryRecord], read_at: float) -> Mem0Snapshot:
    """The bounded Mem0 part of a profile from ``MemoryStore.recent``'s records (newest first): at most
    ``MAX_MEM0_FACTS`` facts of at most ``MAX_MEM0_FACT_CHARS``, without call summaries (the last call has
    its own place) and "name is ..." facts (the name has its own place), each once."""
    facts: list[str] = []
    seen: set[str] = set()
    for record in records:
        if record_kind(record.text, record.metadata) == KIND_SUMMARY or stated_name(record.text):
            continue
        text = " ".join(record.text.split())[:MAX_MEM0_FACT_CHARS]
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            facts.append(text)
        if len(facts) >= MAX_MEM0_FACTS:
            break
    return Mem0Snapshot(tuple(facts), caller_name(records), max(total, len(records)), read_at)


@dataclass(frozen=True, slots=True)
class ProfileState:
    """A profile as the worker reads and writes it: the document (``doc``) and the calls counted (``seen``)."""

    doc: dict[str, Any]
    seen: list[list[Any]]


def empty_doc() -> dict[str, Any]:
    return {
        "v": DOC_VERSION,
        "name": "",
        "name_from": None,
        "last": None,
        "calls": 0,
        "facts": {},
        "mem0": None,
        "first_seen": None,
        "last_seen": None,
        "expires_at": None,
    }


def _place(job: Job) -> tuple[int, str]:
    return (job.started or 0, job.conversation_id)


def _as_place(value: Any) -> tuple[int, str]:
    return (int(value[0]), str(value[1]))


def _expiry(day: date | None) -> int | None:
    """Unix seconds at the start (UTC) of ``day``, the day the call's memories expire (Mem0's
    ``expiration_date``); ``None`` keeps the profile."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) if day else None


def merge(
    current: ProfileState | None, job: Job, mem0: Mem0Snapshot | None = None, *, verbatim: int = 0
) -> ProfileState | None:
    """``current`` with the call of ``job`` merged in, or ``None`` when that changes nothing. Pure.

    Rules, each by the call's place ``(start, conversation id)``, so the result does not depend on the
    order calls arrive in:

    * counted once: a conversation already in ``calls_seen`` is a repeat and counts nothing (nor does
      a call older than every one of ``MAX_COUNTED_CALLS`` remembered calls: it cannot be told apart);
    * the last call (summary, title, date, outcome, conversation, start) and the expiry are the newest
      call's;
    * the name is the newest call's that gave one (``names.clean_name``); a call without a name never
      clears it;
    * each collected field keeps the newest call's value; the ``MAX_COLLECTED_FACTS`` newest fields stay;
    * first and last seen are the earliest and latest start;
    * the Mem0 facts are the freshest read's (``read_at``), and a repeat never replaces them, so a
      repeated job writes nothing at all; the Mem0 count is that read's plus ``verbatim``, the memories
      the call writes as sent (``memory_writes.verbatim_memories``: the summary and the collected facts).
    """
    doc = copy.deepcopy(current.doc) if current else empty_doc()
    seen = [list(entry) for entry in current.seen] if current else []
    place = _place(job)
    counted = {str(entry[1]) for entry in seen}
    repeat = job.conversation_id in counted or (
        len(seen) >= MAX_COUNTED_CALLS and place < min(_as_place(entry) for entry in seen)
    )
    if not repeat:
        seen.append([place[0], place[1]])
        seen.sort(key=_as_place, reverse=True)
        del seen[MAX_COUNTED_CALLS:]
        doc["calls"] = int(doc.get("calls") or 0) + 1

    last = doc.get("last")
    if last is None or place > (int(last["started"]), str(last["conversation_id"])):
        started = job.started or 0
        doc["last"] = {
            "conversation_id": job.conversation_id,
            "started": started,
            "date": datetime.fromtimestamp(started, UTC).date().isoformat() if started else "",
            "summary": job.summary or "",
            "title": job.title or "",
            "outcome": job.call_successful or "",
            "agent_id": job.agent_id or "",
        }
        doc["expires_at"] = _expiry(job.expires_on)

    name = clean_name(job.caller_name)
    if name and (doc.get("name_from") is None or place > _as_place(doc["name_from"])):
        doc["name"], doc["name_from"] = name, [place[0], place[1]]

    facts: dict[str, Any] = doc.setdefault("facts", {})
    for label, value in job.data_collection.items():
        entry = facts.get(label)
        if entry is None or place > _as_place(entry["from"]):
            facts[label] = {"value": value, "from": [place[0], place[1]]}
    if len(facts) > MAX_COLLECTED_FACTS:
        newest = sorted(facts, key=lambda label: (_as_place(facts[label]["from"]), label), reverse=True)
        doc["facts"] = {label: facts[label] for label in newest[:MAX_COLLECTED_FACTS]}

    if job.started:
        first, latest = doc.get("first_seen"), doc.get("last_seen")
        doc["first_seen"] = job.started if first is None else min(int(first), job.started)
        doc["last_seen"] = job.started if latest is None else max(int(latest), job.started)

    held = doc.get("mem0")
    if mem0 is not None and not repeat and (held is None or mem0.read_at > float(held.get("read_at") or 0)):
        # Read before this call's writes: its verbatim memories (summary, collected facts) come on top;
        # what Mem0 extracts from the conversation is counted by the next call's read.
        total = mem0.total + verbatim
        doc["mem0"] = {"facts": list(mem0.facts), "name": mem0.name, "total": total, "read_at": mem0.read_at}

    if current is not None and doc == current.doc and seen == current.seen:
        return None
    return ProfileState(doc, seen)


def _unique(texts: Iterable[str]) -> list[str]:
    found: dict[str, str] = {}
    for text in texts:
        if text and text.casefold() not in found:
            found[text.casefold()] = text
    return list(found.values())


def remembered(doc: dict[str, Any]) -> Remembered:
    """What the greeting needs, from a profile document (``personalize.variables`` quotes and bounds it).

    ``count``: the Mem0 count the worker last saw, at least the number of calls. ``facts``: the collected
    fields as sentences (newest first, as the worker wrote them to Mem0), then the recent Mem0 facts.
    ``name``: the newest name a call gave, else the one Mem0's memories hold.
    """
    last = doc.get("last") or {}
    mem0 = doc.get("mem0") or {}
    collected = doc.get("facts") or {}
    newest = sorted(collected, key=lambda label: (_as_place(collected[label]["from"]), label), reverse=True)
    sentences = [fact_sentence(label, str(collected[label]["value"])) for label in newest]
    # Notes an operator added by hand (domain.profile_edits.with_note) lead: someone chose to tell them.
    notes = [str(note.get("text") or "") for note in doc.get("notes") or []]
    calls = int(doc.get("calls") or 0)
    return Remembered(
        count=max(calls, int(mem0.get("total") or 0), 1 if last else 0, len(notes)),
        name=clean_name(doc.get("name")) or clean_name(mem0.get("name")),
        facts=_unique([*notes, *sentences, *(str(fact) for fact in mem0.get("facts") or [])])[:MAX_FACTS],
        last_summary=str(last.get("summary") or last.get("title") or ""),
        last_date=str(last.get("date") or ""),
    )
