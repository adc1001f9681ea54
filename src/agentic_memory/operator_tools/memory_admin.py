"""What an operator can do with one caller's memory, each action audited: the logic behind
``scripts/memory_admin.py`` (the command line) and ``make console`` (the local web page), which only parse,
confirm and print.

* **find** a caller (a phone number in any form, ``web:<id>``, ``whatsapp:<id>``) and how much is held;
* **show** their profile(s), every memory with its provenance (which call, when, which agent, or "added by
  hand by X"), when retention deletes each call's memories, and what the next call's greeting would say;
* **search** their memories (as the mid-call tool does);
* **delete** one memory, **correct** one (Mem0 ``update``), **rename** the caller in the profile;
* add a **note** by hand: stored in Mem0 (so ``retrieve`` finds it) and in the profile (so the greeting
  leads with it), marked ``manual_note`` with its author, and kept only as long as retention says;
* **export** everything held (``caller_records``) and **forget** it.

Every one of these writes an audit record first (``stores.audit_log``: who, what, when, the caller masked,
ids and counts, never content) and sets its outcome after; when the record cannot be written the action is
not done (fail closed). On a stack without an audit table (Mem0 alone, from ``.env``) the actions run and
``recording`` is False: they are not recorded. Mem0 changes are followed in the caller profile
(``domain.profile_edits``), so the next call's greeting reflects them at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import profile_edits, provenance, retention
from agentic_memory.domain.dynamic_variables import variables
from agentic_memory.domain.identity import from_operator_input
from agentic_memory.domain.names import clean_name, stated_name
from agentic_memory.domain.profile import remembered, snapshot
from agentic_memory.domain.remembered import MemoryRecord, from_records
from agentic_memory.domain.scope import app_id_for
from agentic_memory.observability import mask_caller
from agentic_memory.operator_tools import caller_records
from agentic_memory.stores import audit_log, mem0, profile_table, retention_ledger

MAX_SEARCH_RESULTS = 20
AUDIT_ACTIONS = ("find", "view", "search", "delete", "correct", "rename", "note", "export", "forget")


class AdminError(Exception):
    """A request the operator must change (unknown caller, a memory of someone else, bad input); one line."""


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts (``who``: the AWS principal's ARN, or ``local:<user>`` on ``make dev``) and through what
    (``source``: ``tool`` or ``console``)."""

    who: str
    source: str


def _record(item: dict[str, Any]) -> MemoryRecord:
    metadata = item.get("metadata")
    return MemoryRecord(
        text=str(item.get("memory") or ""),
        metadata=metadata if isinstance(metadata, dict) else {},
        created_at=str(item.get("created_at") or ""),
        id=str(item.get("id") or ""),
    )


class MemoryAdmin:
    """The operator's actions on one stack (the process is configured for it: ``scripts/stackfind.py``)."""

    def __init__(self, operator: Operator, *, store: Any = None, settings: Settings | None = None) -> None:
        self.operator = operator
        self.settings = settings or get_settings()
        self._store = store
        self.recording = audit_log.enabled(self.settings)

    @property
    def store(self) -> mem0.MemoryStore:
        if self._store is None:
            self._store = mem0.get_store("worker")
        return self._store

    # ------------------------------------------------------------------ helpers

    def caller(self, raw: str) -> str:
        """The identity an operator typed (``domain.identity.from_operator_input``); ``AdminError`` if none."""
        identity = from_operator_input(str(raw or ""), self.settings)
        if identity is None:
            raise AdminError("not a caller: give a phone number, web:<id> or whatsapp:<id> (not withheld)")
        return identity

    def _scope(self, agent: str | None) -> str | None:
        if self.settings.memory_scope == "agent" and not (agent or "").strip():
            raise AdminError("MEMORY_SCOPE is agent: say which agent's memory (--agent AGENT_ID)")
        return app_id_for(agent, self.settings)

    @contextmanager
    def audited(self, action: str, identity: str, detail: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Record ``action`` before it runs (raises ``AuditUnavailable``: then it does not run) and its outcome
        after; the body fills the yielded dict with ids and counts for the outcome."""
        key = audit_log.record(
            who=self.operator.who,
            action=action,
            source=self.operator.source,
            caller_masked=mask_caller(identity),
            detail=detail,
            settings=self.settings,
        )
        outcome: dict[str, Any] = {}
        try:
            yield outcome
        except AdminError:
            audit_log.complete(key, "refused", settings=self.settings)
            raise
        except Exception as exc:
            audit_log.complete(key, "failed", {"error": type(exc).__name__}, settings=self.settings)
            raise
        audit_log.complete(key, "done", outcome, settings=self.settings)

    def _owned(self, identity: str, memory_id: str) -> dict[str, Any]:
        try:
            found = self.store.get(memory_id)
        except ValueError:
            raise AdminError("not a memory id (they look like 6f1c0d1e-...; `show` lists them)") from None
        if found is None:
            raise AdminError(f"Mem0 has no memory {memory_id} (deleted already?)")
        if found.get("user_id") != identity:
            raise AdminError(f"memory {memory_id} is not this caller's")
        return found

    def _refresh(self, identity: str, app_id: str | None, change: Callable[[Any, Any], tuple[str, Any]]) -> str:
        """Apply ``change(state, fresh Mem0 snapshot)`` to the profile of ``app_id``'s scope."""

        def apply(state: Any) -> tuple[str, Any]:
            if state is None:
                return change(None, None)
            total, records = self.store.recent(identity, app_id=app_id)
            return change(state, snapshot(total, records, time.time()))

        return profile_table.rewrite(identity, app_id, apply, settings=self.settings)

    def _memories(self, identity: str) -> list[dict[str, Any]]:
        due = self._due_by_ref(identity)
        today = datetime.now(UTC).date().isoformat()
        shown = []
        for item in self.store.every_record(identity):
            record = _record(item)
            origin = provenance.of(record.metadata, record.created_at, record.text)
            ref = (
                record.metadata.get("note_id") if origin.source == "manual" else record.metadata.get("conversation_id")
            )
            expiry = item.get("expiration_date")
            shown.append(
                {
                    "id": record.id,
                    "text": record.text,
                    "created_at": record.created_at,
                    "scope": item.get("app_id") or "shared",
                    "kind": origin.kind,
                    "provenance": origin.as_dict(),
                    "expiration_date": expiry,
                    "hidden_by_expiry": bool(isinstance(expiry, str) and len(expiry) == 10 and expiry < today),
                    "deleted_on": retention.iso_day(due[ref]) if ref in due else None,
                }
            )
        return sorted(shown, key=lambda m: m["created_at"], reverse=True)

    def _due_by_ref(self, identity: str) -> dict[str, int]:
        return {
            str(entry["ref"]): int(entry["due_at"])
            for entry in caller_records.profile_items(identity)
            if entry.get("kind") == "retention"
        }

    # ------------------------------------------------------------------ actions

    def find(self, raw: str) -> dict[str, Any]:
        """The caller's identity and how much is held: ``{"caller", "masked", "memories", "profiles",
        "last_call", "name"}``."""
        identity = self.caller(raw)
        with self.audited("find", identity) as outcome:
            items = caller_records.profile_items(identity)
            profiles = [entry for entry in items if entry.get("kind") == "profile"]
            memories = len(self.store.every_record(identity))
            last = max(((entry["profile"].get("last") or {}).get("date", "") for entry in profiles), default="")
            name = next((entry["profile"].get("name") for entry in profiles if entry["profile"].get("name")), "")
            outcome.update(memories=memories, profiles=len(profiles))
        return {
            "caller": identity,
            "masked": mask_caller(identity),
            "memories": memories,
            "profiles": [entry["scope"] for entry in profiles],
            "last_call": last,
            "name": name,
        }

    def show(self, raw: str) -> dict[str, Any]:
        """Everything an operator needs to see of one caller: ``{"caller", "masked", "profiles": [{"scope",
        "name", "calls", "last", "notes", "facts", "greeting"}], "memories": [{"id", "text", "created_at",
        "scope", "kind", "provenance", "expiration_date", "hidden_by_expiry", "deleted_on"}], "retention":
        [{"deletes", "ref", "due"}]}``. ``greeting``: the dynamic variables the next call would get."""
        identity = self.caller(raw)
        with self.audited("view", identity) as outcome:
            items = caller_records.profile_items(identity)
            memories = self._memories(identity)
            profiles = []
            for entry in items:
                if entry.get("kind") != "profile":
                    continue
                doc = entry["profile"]
                profiles.append(
                    {
                        "scope": entry["scope"],
                        "name": doc.get("name") or "",
                        "calls": int(doc.get("calls") or 0),
                        "last": doc.get("last"),
                        "notes": doc.get("notes") or [],
                        "facts": {label: fact["value"] for label, fact in (doc.get("facts") or {}).items()},
                        "greeting": variables(identity, remembered(doc), self.settings),
                    }
                )
            if not profiles and memories:  # no profile: client_data greets from Mem0 itself
                total, records = self.store.recent(identity)
                greeting = variables(identity, from_records(total, records), self.settings)
                profiles.append(
                    {
                        "scope": "(none: Mem0)",
                        "name": "",
                        "calls": 0,
                        "last": None,
                        "notes": [],
                        "facts": {},
                        "greeting": greeting,
                    }
                )
            due = [
                {"deletes": entry["deletes"], "ref": entry["ref"], "due": retention.iso_day(entry["due_at"])}
                for entry in items
                if entry.get("kind") == "retention"
            ]
            outcome.update(memories=len(memories), profiles=len(profiles))
        return {
            "caller": identity,
            "masked": mask_caller(identity),
            "profiles": profiles,
            "memories": memories,
            "retention": due,
        }

    def search(self, raw: str, query: str, *, agent: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """The caller's memories most relevant to ``query`` (Mem0's search, current facts only), with provenance.
        The query itself is not audited (it may quote what the caller said)."""
        identity = self.caller(raw)
        text = " ".join(str(query or "").split())
        if not text:
            raise AdminError("give something to search for")
        app_id = app_id_for(agent, self.settings) if agent else None
        with self.audited("search", identity) as outcome:
            found = self.store.search(identity, text[:500], max(1, min(limit, MAX_SEARCH_RESULTS)), app_id=app_id)
            outcome.update(results=len(found))
        return [
            {
                "id": r.id,
                "text": r.text,
                "created_at": r.created_at,
                "provenance": provenance.of(r.metadata, r.created_at, r.text).as_dict(),
            }
            for r in found
        ]

    def delete(self, raw: str, memory_id: str) -> dict[str, Any]:
        """Delete one memory of the caller (by id) and what the profile took from it."""
        identity = self.caller(raw)
        with self.audited("delete", identity, {"memory_id": memory_id}) as outcome:
            found = self._owned(identity, memory_id)
            record = _record(found)
            deleted = self.store.delete(memory_id)
            if record.metadata.get("kind") == provenance.KIND_NOTE and record.metadata.get("note_id"):
                note = retention.DueEntry(identity, retention.NOTE, str(record.metadata["note_id"]), 0, 0)
                retention_ledger.finish(note, settings=self.settings)
            profile = self._refresh(
                identity, found.get("app_id"), lambda state, fresh: profile_edits.after_removed(state, record, fresh)
            )
            outcome.update(deleted=deleted, profile=profile, conversation_id=record.metadata.get("conversation_id", ""))
        return {"deleted": deleted, "memory_id": memory_id, "profile": profile}

    def correct(self, raw: str, memory_id: str, text: str) -> dict[str, Any]:
        """Replace one memory's text (Mem0 ``update``), marked ``corrected_by`` the operator; the profile
        follows."""
        identity = self.caller(raw)
        new_text = " ".join(str(text or "").split())
        if not new_text:
            raise AdminError("give the corrected text")
        with self.audited("correct", identity, {"memory_id": memory_id}) as outcome:
            found = self._owned(identity, memory_id)
            record = _record(found)
            metadata = provenance.corrected_metadata(record.metadata, self.operator.who, time.time(), record.text)
            self.store.update(memory_id, text=new_text, metadata=metadata)
            profile = self._refresh(
                identity,
                found.get("app_id"),
                lambda state, fresh: profile_edits.after_corrected(state, record, new_text, fresh),
            )
            outcome.update(profile=profile, conversation_id=record.metadata.get("conversation_id", ""))
        return {"memory_id": memory_id, "profile": profile}

    def rename(self, raw: str, name: str, *, agent: str | None = None) -> dict[str, Any]:
        """Set the caller's name in the profile (the greeting's). Mem0 memories that state another name are
        listed (``stale``), for ``correct`` or ``delete``."""
        identity = self.caller(raw)
        cleaned = clean_name(name)
        if not cleaned:
            raise AdminError("not a usable name (one to four words of letters)")
        app_id = self._scope(agent)
        with self.audited("rename", identity) as outcome:
            profile = profile_table.rewrite(
                identity,
                app_id,
                lambda state: (profile_edits.WRITE, profile_edits.renamed(state, cleaned, int(time.time()))),
                settings=self.settings,
            )
            stale = [
                item["id"]
                for item in self.store.every_record(identity)
                if stated_name(str(item.get("memory") or ""))
                and clean_name(stated_name(str(item.get("memory")))) != cleaned
            ]
            outcome.update(profile=profile, stale=len(stale))
        return {"name": cleaned, "profile": profile, "stale": stale}

    def note(self, raw: str, text: str, *, agent: str | None = None) -> dict[str, Any]:
        """Add a note by hand: one Mem0 memory (``infer=False``, verbatim) marked ``manual_note`` with its author,
        and the profile's notes (the greeting leads with them). Retention applies as to a call: with
        ``MEMORY_RETENTION_DAYS`` set the note has a ledger line and is deleted when its days are up."""
        identity = self.caller(raw)
        try:
            body = provenance.note_text(text)
        except ValueError as exc:
            raise AdminError(str(exc)) from None
        app_id = self._scope(agent)
        now = time.time()
        note_id = f"note-{secrets.token_hex(6)}"
        with self.audited("note", identity, {"note_id": note_id}) as outcome:
            due = retention.delete_at(int(now), None, self.settings.retention_days, now=int(now))
            if due is not None:
                line = retention.DueEntry(identity, retention.NOTE, note_id, due, int(now), app_id)
                retention_ledger.record(line, settings=self.settings)
            self.store.add(
                identity,
                [{"role": "user", "content": body}],
                metadata=provenance.note_metadata(note_id, self.operator.who, now),
                infer=False,
                app_id=app_id,
                expiration_date=retention.expiration_day(due).isoformat() if due is not None else None,
            )
            note = {"id": note_id, "text": body, "author": self.operator.who, "added_at": int(now)}

            def add(state: Any, fresh: Any) -> tuple[str, Any]:
                changed = profile_edits.with_note(state, note)
                if fresh is None:
                    return profile_edits.WRITE, changed
                return profile_edits.with_snapshot(changed, fresh)

            profile = self._refresh(identity, app_id, add)
            outcome.update(profile=profile, **({"due_at": due} if due is not None else {}))
        return {"note_id": note_id, "profile": profile, "deleted_on": retention.iso_day(due) if due else None}

    def export(self, raw: str) -> dict[str, Any]:
        """Everything held about the caller (``caller_records.export``), for an access request."""
        identity = self.caller(raw)
        with self.audited("export", identity) as outcome:
            document = caller_records.export(identity, self.store)
            outcome.update(**document["counts"])
        return document

    def forget(self, raw: str) -> dict[str, Any]:
        """Delete everything held about the caller (``caller_records.erase``); ``{"before", "remaining"}`` counts
        (Mem0 may finish a ``delete_all`` a moment later: ``remaining`` is read right after)."""
        identity = self.caller(raw)
        with self.audited("forget", identity) as outcome:
            before = caller_records.counts(identity, self.store)
            caller_records.erase(identity, self.store)
            remaining = caller_records.counts(identity, self.store)
            outcome.update(
                **{f"before_{k}": v for k, v in before.items()}, **{f"left_{k}": v for k, v in remaining.items()}
            )
        return {"before": before, "remaining": remaining}

    def audit_trail(self, *, days: int = 7, raw: str | None = None, limit: int = 100) -> list[dict[str, Any]] | None:
        """The newest audit records (``stores.audit_log.recent``), optionally about one caller (by mask)."""
        masked = mask_caller(self.caller(raw)) if raw else None
        return audit_log.recent(days=days, caller_masked=masked, limit=limit, settings=self.settings)
