"""The caller profile document: what the greeting needs of a caller, and how each call is merged in.

DESIGN.md section 6. The worker keeps one document per caller and memory scope in DynamoDB
(``stores.profile_table``); ``client_data`` reads it (``stores.profile_reader``) and turns it into what is
remembered (``remembered``) without asking Mem0. This module is the document's rules alone, with no I/O.

The document (``doc``, JSON): ``name`` and ``name_from`` (the call that gave it), ``last`` (the newest
call: conversation, start, date, summary, title, outcome, agent), ``calls``, ``facts`` (collected field ->
value and the call it came from), ``mem0`` (a bounded snapshot of the caller's recent Mem0 facts, its
count and when it was read), ``first_seen`` / ``last_seen`` (unix seconds), ``expires_at``, and ``notes``
added by hand (``domain.profile_edits``; absent until one is); for the caller
brief (``brief``): ``recent`` (the newest calls, at most ``MAX_RECENT_CALLS``, each with its date, gist,
bounded summary and what it gave: name, follow-up, settled), ``follow_up`` (the newest follow-up a call
left: text, date, the call it came from), ``settled`` (the newest call that settled an earlier follow-up)
and ``prefs`` (preference topic -> topic, value and the call it came from). Beside it, ``seen``:
``[[start, call id], ...]`` of the calls counted, newest first, at most ``MAX_COUNTED_CALLS``; a call's id
is its conversation's, or its parent's for a subagent conversation (one phone call, counted once).

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

from agentic_memory.domain import brief
from agentic_memory.domain.memory_labels import KIND_SUMMARY, fact_sentence, record_kind
from agentic_memory.domain.names import clean_name, stated_name
from agentic_memory.domain.remembered import MAX_FACTS, RECENT_CALLS, MemoryRecord, PastCall, Remembered, caller_name

if TYPE_CHECKING:  # the worker's job: client_data reads documents without loading the post-call models
    from agentic_memory.domain.job import Job

DOC_VERSION = 1
# Bounds: the item stays far below DynamoDB's 400 KB, and the part client_data reads (``doc``) small.
MAX_COUNTED_CALLS = 500
MAX_COLLECTED_FACTS = 20
MAX_MEM0_FACTS = 12
MAX_MEM0_FACT_CHARS = 300
MAX_RECENT_CALLS = 5  # the brief shows three; the rest let a removed call (a machine answered it) leave a past
MAX_RECENT_SUMMARY_CHARS = 400
LAST_FIELDS = ("conversation_id", "started", "date", "summary", "title", "outcome", "agent_id")


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
        "recent": [],
        "follow_up": None,
        "settled": None,
        "prefs": {},
    }


def _place(job: Job) -> tuple[int, str]:
    return (job.started or 0, job.conversation_id)


def _as_place(value: Any) -> tuple[int, str]:
    return (int(value[0]), str(value[1]))


def _date(started: int) -> str:
    return datetime.fromtimestamp(started, UTC).date().isoformat() if started else ""


def call_id(job: Job) -> str | None:
    """The phone call ``job``'s conversation belongs to: its own id; a subagent conversation's parent id
    when the payload names it; ``None`` for a subagent conversation whose parent is unknown (it is part of
    some call already counted: platform-notes/refresh-2026-12.md E9, field case 8)."""
    if job.parent_conversation_id:
        return job.parent_conversation_id
    return None if job.subagent else job.conversation_id


def _expiry(day: date | None) -> int | None:
    """Unix seconds at the start (UTC) of ``day``, the day the call's memories expire (Mem0's
    ``expiration_date``); ``None`` keeps the profile."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) if day else None


def _entry(job: Job, call: str, name: str, follow_up: str) -> dict[str, Any]:
    """A call as ``recent`` keeps it: enough to show it in the brief, and to fall back on when a newer
    call is removed."""
    started = job.started or 0
    return {
        "call": call,
        "conversation_id": job.conversation_id,
        "started": started,
        "date": _date(started),
        "gist": brief.gist(job.title, job.summary),
        "summary": (job.summary or job.title or "")[:MAX_RECENT_SUMMARY_CHARS],
        "title": job.title or "",
        "outcome": job.call_successful or "",
        "agent_id": job.agent_id or "",
        "name": name,
        "follow_up": follow_up,
        "done": bool(job.follow_up_done),
    }


def _entry_place(entry: dict[str, Any]) -> tuple[int, str]:
    return (int(entry["started"]), str(entry["conversation_id"]))


def _newest_two(held: dict[str, Any] | None, fresh: dict[str, Any]) -> dict[str, Any]:
    """A collected field's or preference's value: the newest by place, keeping the one before it as
    ``prev`` (so that removing the newest call brings it back). The two newest of every value merged, in
    whatever order: the result does not depend on it."""
    if held is None:
        return fresh
    candidates = {tuple(entry["from"]): entry for entry in (held.get("prev"), {**held, "prev": None}, fresh) if entry}
    ordered = [candidates[place] for place in sorted(candidates, key=_as_place, reverse=True)]
    top = {key: value for key, value in ordered[0].items() if key != "prev"}
    if len(ordered) > 1:
        top["prev"] = {key: value for key, value in ordered[1].items() if key != "prev"}
    return top


def merge(
    current: ProfileState | None, job: Job, mem0: Mem0Snapshot | None = None, *, verbatim: int = 0
) -> ProfileState | None:
    """``current`` with the call of ``job`` merged in, or ``None`` when that changes nothing. Pure.

    Rules, each by the call's place ``(start, conversation id)``, so the result does not depend on the
    order calls arrive in:

    * counted once per phone call (``call_id``): a call already in ``calls_seen`` is a repeat and counts
      nothing (nor does a call older than every one of ``MAX_COUNTED_CALLS`` remembered calls: it cannot be
      told apart), and a subagent conversation counts as its parent call, or not at all when its parent is
      unknown;
    * the last call (summary, title, date, outcome, conversation, start) and the expiry are the newest
      call's (a subagent conversation is part of a call, never the last call itself);
    * ``recent`` keeps the ``MAX_RECENT_CALLS`` newest calls, each as its earliest conversation gave it;
    * the name is the newest call's that gave one (``names.clean_name``); a call without a name never
      clears it;
    * each collected field, and each preference topic (``brief.preferences``), keeps the newest call's
      value, and the one before it (``prev``); the ``MAX_COLLECTED_FACTS`` newest fields and
      ``brief.MAX_PREFERENCES`` newest topics stay;
    * the follow-up is the newest call's that left one; ``settled`` is the newest call that said an
      earlier follow-up is done (``remembered`` shows the follow-up only when no later call settled it);
    * first and last seen are the earliest and latest start;
    * the Mem0 facts are the freshest read's (``read_at``), and a repeat never replaces them, so a
      repeated job writes nothing at all; the Mem0 count is that read's plus ``verbatim``, the memories
      the call writes as sent (``memory_writes.verbatim_memories``: the summary and the collected facts).
    """
    doc = copy.deepcopy(current.doc) if current else empty_doc()
    seen = [list(entry) for entry in current.seen] if current else []
    place = _place(job)
    call = call_id(job)
    counted = {str(entry[1]) for entry in seen}
    repeat = (
        call is None
        or call in counted
        or (len(seen) >= MAX_COUNTED_CALLS and place < min(_as_place(entry) for entry in seen))
    )
    if not repeat and call is not None:
        seen.append([place[0], call])
        seen.sort(key=_as_place, reverse=True)
        del seen[MAX_COUNTED_CALLS:]
        doc["calls"] = int(doc.get("calls") or 0) + 1

    last = doc.get("last")
    if call == job.conversation_id and (last is None or place > (int(last["started"]), str(last["conversation_id"]))):
        started = job.started or 0
        doc["last"] = {
            "conversation_id": job.conversation_id,
            "started": started,
            "date": _date(started),
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
        if label not in brief.BRIEF_ITEMS:
            facts[label] = _newest_two(facts.get(label), {"value": value, "from": [place[0], place[1]]})
    if len(facts) > MAX_COLLECTED_FACTS:
        newest = sorted(facts, key=lambda label: (_as_place(facts[label]["from"]), label), reverse=True)
        doc["facts"] = {label: facts[label] for label in newest[:MAX_COLLECTED_FACTS]}

    _merge_brief(doc, job, place, call, name)

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


def _merge_brief(doc: dict[str, Any], job: Job, place: tuple[int, str], call: str | None, name: str) -> None:
    """The brief's parts of ``merge``: ``recent``, ``follow_up``, ``settled``, ``prefs`` (in place)."""
    here = [place[0], place[1]]
    follow_up = brief.follow_up(job.data_collection.get(brief.FOLLOW_UP))
    if follow_up:
        held = doc.get("follow_up")
        if held is None or place > _as_place(held["from"]):
            doc["follow_up"] = {"text": follow_up, "date": _date(place[0]), "from": here}
    if job.follow_up_done:
        held = doc.get("settled")
        if held is None or place > _as_place(held):
            doc["settled"] = here

    prefs: dict[str, Any] = doc.setdefault("prefs", {})
    for key, topic, value in brief.preferences(job.data_collection.get(brief.PREFERENCES)):
        prefs[key] = _newest_two(prefs.get(key), {"topic": topic, "value": value, "from": here})
    if len(prefs) > brief.MAX_PREFERENCES:
        newest = sorted(prefs, key=lambda key: (_as_place(prefs[key]["from"]), key), reverse=True)
        doc["prefs"] = {key: prefs[key] for key in newest[: brief.MAX_PREFERENCES]}

    if call is None:
        return
    recent: list[dict[str, Any]] = doc.setdefault("recent", [])
    held_entry = next((entry for entry in recent if entry["call"] == call), None)
    if held_entry is not None and _entry_place(held_entry) <= place:
        return  # the call is kept as its earliest conversation gave it (a repeat changes nothing)
    fresh = _entry(job, call, name, follow_up)
    kept = [entry for entry in recent if entry["call"] != call] + [fresh]
    kept.sort(key=_entry_place, reverse=True)
    doc["recent"] = kept[:MAX_RECENT_CALLS]


def without_call(current: ProfileState | None, conversation_id: str) -> ProfileState | None:
    """``current`` without the call ``conversation_id`` (an answering machine took it: the job's
    ``worker.machine_verdict``), or ``None`` when the profile holds nothing of it. Pure.

    The call is uncounted and leaves ``recent``; what it gave falls back to the newest remaining call in
    ``recent`` that gave the same (the last call, the name, the follow-up, ``settled``), and each collected
    field or preference it set to the value before it (``prev``), or is dropped when there was none. First
    and last seen are taken again from the calls counted. When no call is left, the document is empty (a
    new caller's) but for the notes added by hand. Retention's trim (``profile_edits.without``) uses it
    too."""
    if current is None:
        return None
    doc = copy.deepcopy(current.doc)
    seen = [list(entry) for entry in current.seen if str(entry[1]) != conversation_id]

    def came_from(value: Any) -> bool:
        return isinstance(value, list | tuple) and len(value) == 2 and str(value[1]) == conversation_id

    recent = [
        entry
        for entry in doc.get("recent") or []
        if conversation_id not in (entry.get("call"), entry.get("conversation_id"))
    ]
    if len(seen) < len(current.seen):
        doc["calls"] = max(0, int(doc.get("calls") or 0) - 1)
    doc["recent"] = recent

    last = doc.get("last") or {}
    if last.get("conversation_id") == conversation_id:
        newest = recent[0] if recent else None
        doc["last"] = {key: newest[key] for key in LAST_FIELDS} if newest else None
    if came_from(doc.get("name_from")):
        named = next((entry for entry in recent if entry.get("name")), None)
        doc["name"] = named["name"] if named else ""
        doc["name_from"] = [named["started"], named["conversation_id"]] if named else None
    for part in ("facts", "prefs"):
        kept: dict[str, Any] = {}
        for key, entry in (doc.get(part) or {}).items():
            prev = entry.get("prev") if not came_from((entry.get("prev") or {}).get("from")) else None
            if not came_from(entry.get("from")):
                kept[key] = {**entry, "prev": prev} if "prev" in entry else entry
            elif prev:
                kept[key] = prev  # the value before the removed call's
        doc[part] = kept
    if came_from((doc.get("follow_up") or {}).get("from")):
        left = next((entry for entry in recent if entry.get("follow_up")), None)
        doc["follow_up"] = (
            {"text": left["follow_up"], "date": left["date"], "from": [left["started"], left["conversation_id"]]}
            if left
            else None
        )
    if came_from(doc.get("settled")):
        done = next((entry for entry in recent if entry.get("done")), None)
        doc["settled"] = [done["started"], done["conversation_id"]] if done else None
    if not seen and not recent:  # no call of this caller is left: nothing is remembered of them from calls
        emptied = empty_doc()
        if doc.get("notes"):  # notes added by hand are no call's (domain.profile_edits.with_note)
            emptied["notes"] = doc["notes"]
        return ProfileState(emptied, [])
    starts = [int(entry[0]) for entry in seen if int(entry[0])]
    if starts:
        doc["last_seen"] = max(starts)
        if len(seen) < MAX_COUNTED_CALLS:  # every counted call is in seen: the earliest is among them
            doc["first_seen"] = min(starts)
    elif not seen:
        doc["first_seen"] = doc["last_seen"] = None

    if doc == current.doc and seen == current.seen:
        return None
    return ProfileState(doc, seen)


def _unique(texts: Iterable[str]) -> list[str]:
    found: dict[str, str] = {}
    for text in texts:
        if text and text.casefold() not in found:
            found[text.casefold()] = text
    return list(found.values())


def _gist_of(entry: dict[str, Any]) -> str:
    return str(entry.get("gist") or brief.gist(entry.get("title"), entry.get("summary")))


def remembered(doc: dict[str, Any]) -> Remembered:
    """What the greeting and the caller brief need, from a profile document (``dynamic_variables.variables``
    quotes and bounds it).

    ``count``: the Mem0 count the worker last saw, at least the number of calls. ``name``: the newest name
    a call gave, else the one Mem0's memories hold. ``facts``: the notes an operator added by hand, then
    preferences (``topic: value``) and collected fields (``Label: value``), the newest value of each, newest
    first; Mem0's extracted facts are left to
    ``retrieve`` (they may be superseded: Mem0 keeps old facts, DESIGN.md section 4). ``calls``,
    ``first_date``, ``last_date``: the relationship; ``follow_up``: the newest follow-up unless a call at
    or after it settled it; ``recent``: the last ``RECENT_CALLS`` calls, newest first.
    """
    last = doc.get("last") or {}
    mem0 = doc.get("mem0") or {}
    dated: list[tuple[tuple[int, str], str]] = []
    for key, entry in (doc.get("prefs") or {}).items():
        line = brief.preference_line(str(entry.get("topic") or key), str(entry["value"]))
        dated.append((_as_place(entry["from"]), line))
    for label, entry in (doc.get("facts") or {}).items():
        if label not in brief.BRIEF_ITEMS:
            dated.append((_as_place(entry["from"]), fact_sentence(label, str(entry["value"]))))
    dated.sort(key=lambda item: item[1].casefold())  # within one call: by text, whatever order they came in
    dated.sort(key=lambda item: item[0], reverse=True)  # newest call first (a stable sort keeps the above)
    # Notes an operator added by hand (domain.profile_edits.with_note) lead: someone chose to tell them.
    notes = [str(note.get("text") or "") for note in doc.get("notes") or []]
    calls = int(doc.get("calls") or 0)

    follow_up, follow_up_date = "", ""
    held, settled = doc.get("follow_up"), doc.get("settled")
    if held and (settled is None or _as_place(held["from"]) >= _as_place(settled)):
        follow_up, follow_up_date = str(held.get("text") or ""), str(held.get("date") or "")

    entries = doc.get("recent")
    if entries is None and last:  # a profile written before the brief: its last call is all it has
        entries = [last]
    recent = tuple(PastCall(str(entry.get("date") or ""), _gist_of(entry)) for entry in (entries or [])[:RECENT_CALLS])
    first_seen = doc.get("first_seen")
    return Remembered(
        count=max(calls, int(mem0.get("total") or 0), 1 if last else 0, len(notes)),
        name=clean_name(doc.get("name")) or clean_name(mem0.get("name")),
        facts=_unique([*notes, *(text for _, text in dated)])[:MAX_FACTS],
        last_summary=str(last.get("summary") or last.get("title") or ""),
        last_date=str(last.get("date") or ""),
        calls=calls,
        first_date=_date(int(first_seen)) if first_seen else "",
        follow_up=follow_up,
        follow_up_date=follow_up_date,
        recent=recent,
    )
