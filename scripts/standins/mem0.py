"""A local server that speaks enough of the Mem0 Platform REST API for mem0ai 2.2.1's `MemoryClient`.

Why: `make dev` and the integration tests need a Mem0 that is free, offline, starts in milliseconds and
can be made slow, rate limited, broken or hung on demand. Standard library only, so it starts fast.

It behaves as Mem0 documents where our product could be caught out (DESIGN.md section 4; the research
notes in ../shared/platform-notes/mem0.md, "notes" below, give each source):
- `infer=True` adds answer `{"event_id", "status": "PENDING"}` and extract afterwards, on a background
  thread, after the `extraction_delay` knob; `GET /v1/event/{id}/` tells PENDING from SUCCEEDED, and
  `Mem0Server.wait_idle()` (or `POST /_admin/wait-idle`) waits for every pending extraction.
- the speaker split: with both `user_id` and `agent_id`, the user's facts are stored under the user
  alone and the assistant's under the agent alone.
- `infer=False` stores each user/assistant message verbatim with every id sent; exact repeats in the
  same scope are dropped.
- `get_all` serves a stable order unrelated to time (a hash of the id), caps `page_size` at 200 and
  answers `{"count", "next", "previous", "results"}` with working links.
- a filter value `"*"` matches any non-null value (every caller!), on reads and on delete_all.
- `app_id`, `run_id`, `metadata` and `expiration_date` are kept; expired memories are hidden from
  search and get_all.
- the rate limit, off unless configured (`--add-limit`, `--request-limit`, `POST /_admin/quota`): a budget
  of adds and one of every other request per minute, 429 with `Retry-After` beyond it (`mem0_quota`).

Where it knowingly differs from the real platform:
- `infer=True` extraction is a deterministic stand-in for Mem0's LLM (see `extract_facts`).
- search is keyword search (SQLite FTS5 bm25), not embeddings, and `score` is relative to the best hit
  of the query (the best hit scores 1.0), so `threshold` trims weak tail hits rather than cosine scores;
  with no `threshold` nothing is trimmed (the platform's default is 0.1, notes 1.3).
- filters take entity ids and metadata conditions (eq, ne, contains), flat or inside AND; OR, NOT,
  operators on ids such as `in` and the date filters are refused with a 400 rather than half-supported.
- nothing is ever superseded (Mem0's Dream), so `latest_only` is accepted and changes nothing.
- `delete_all` is applied at once (the platform queues it).

Deletes are real, as Mem0's API reference documents them: `DELETE /v1/memories/{id}/` removes the record,
and `GET`, `PUT` or `DELETE` of it then answer 404 "Memory not found" (openapi `memories_read`; mem0ai
raises `MemoryNotFoundError`). Expiration, unlike deletion, only hides (memory-expiration page).

Run it:  python -m standins.mem0 --port 8765 --db .local/mem0.sqlite3   (from scripts/)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import logging
import math
import queue
import re
import signal
import socket
import socketserver
import sqlite3
import sys
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from standins.mem0_quota import Limit, Quota

log = logging.getLogger(__name__)

ENTITY_KEYS = ("user_id", "agent_id", "run_id", "app_id")
# Message roles the v3 add schema allows (notes 1.2, openapi `memories_add_v3`).
ROLES = ("user", "assistant", "system")
# Notes 2.3 (direct-import.mdx): "Direct import stores user and assistant messages alike ... Only system
# messages are dropped."
STORED_ROLES = ("user", "assistant")
# Notes 1.4 and 3 (openapi `memories_list_v3`): page defaults to 1, page_size to 100, at most 200.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 200
# Notes 1.3: search `top_k` is 1 to 1000, default 10.
MAX_TOP_K = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_QUERY_TOKENS = 32
MAX_EVENTS = 10_000
# Notes 4.1 / Appendix A: the constructor's ping must carry org_id and project_id.
PING = {"status": "ok", "org_id": "local-org", "project_id": "local-project", "user_email": "local@localhost"}
# Notes 2.4 / v2-memory-filters.mdx: a filter value "*" means "any non-null value".
WILDCARD = "*"

_WORD = re.compile(r"\w+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_MEMORY_PATH = re.compile(r"/v1/memories/([^/]+)/")
_EVENT_PATH = re.compile(r"/v1/event/([^/]+)/")
# A sentence made only of these words is small talk, not a fact worth remembering.
_FILLER_WORDS = frozenset(
    re.findall(
        r"\w+",
        "yes yeah yep no nope ok okay alright right sure fine great good cool perfect thanks thank you so"
        " much very a lot please hello hi hey bye goodbye uh um huh mm hmm oh ah that s it is all sounds"
        " have nice day see later",
    )
)


# --------------------------------------------------------------------------- helpers


def _clean(text: str) -> str:
    """Replace lone surrogates (legal in JSON, illegal in UTF-8) so SQLite can store any string."""
    return text.encode("utf-8", "replace").decode("utf-8")


def normalise(text: str) -> str:
    """Case- and punctuation-blind form of a memory, used to spot duplicate extracted facts."""
    return " ".join(_WORD.findall(text.casefold()))


def _now() -> str:
    """ISO-8601 UTC with fixed-width microseconds, so string order is time order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _today() -> str:
    """Today's date in UTC, as `YYYY-MM-DD` (Mem0 evaluates expiration dates in UTC)."""
    return datetime.now(UTC).date().isoformat()


def _order_key(memory_id: str) -> str:
    """get_all's order: a hash of the id. Stable between pages, unrelated to when a memory was written.

    Notes 2.8 and 4.11: the order of get_all is not documented (openapi, issue #3114), so the twin makes
    sure no client can lean on one; callers sort and page themselves (DESIGN.md section 4).
    """
    return hashlib.sha256(memory_id.encode("utf-8", "replace")).hexdigest()


def expiry_day(expiration_date: str | None) -> str | None:
    """The last day (UTC, `YYYY-MM-DD`) a memory is shown, or None for "never expires".

    Mem0's memory-expiration page (docs.mem0.ai/platform/features/memory-expiration): the format is a
    plain `YYYY-MM-DD` date, evaluated in UTC, inclusive of the date itself; "malformed dates fail
    open: a stored value Mem0 can't parse is treated as not expired".
    """
    if expiration_date is None:
        return None
    try:
        return date.fromisoformat(expiration_date).isoformat() if len(expiration_date) == 10 else None
    except ValueError:
        return None


class Scope(NamedTuple):
    """Parsed filters: entity ids (`"*"` kept as given) and metadata conditions `(key, op, value)`."""

    entities: dict[str, str]
    metadata: tuple[tuple[str, str, Any], ...] = ()

    def bind(self, **extra: Any) -> dict[str, Any]:
        """Named parameters for the _SQL_* read statements."""
        conditions = json.dumps(self.metadata) if self.metadata else None
        return _bind(self.entities, metadata_filter=conditions, **extra)


# v2-memory-filters.mdx (notes 1.3, 2.4): metadata filters support only bare equality, eq, ne and contains.
METADATA_OPS = ("eq", "ne", "contains")


def parse_filters(filters: Any) -> Scope:
    """Read the filter shapes MemoryClient users send: flat `{"user_id": ...}` (sibling keys are ANDed),
    `{"AND": [{...}, ...]}` (clauses may hold several keys, or nest AND), with entity ids and
    `{"metadata": {key: value | {"eq"|"ne"|"contains": value}}}` (v2-memory-filters.mdx, notes 1.3, 2.4).

    An entity value of `"*"` is kept: readers treat it as "any non-null value", as Mem0 does. Anything
    else (OR, NOT, operators on ids, date filters, ...) raises ValueError (a 400) instead of being
    ignored, so a filter the twin cannot honour never silently widens a read to every caller.
    """
    entities: dict[str, str] = {}
    metadata: list[tuple[str, str, Any]] = []
    if filters is not None:
        _collect(filters, entities, metadata)
    return Scope(entities, tuple(metadata))


def _collect(filters: Any, entities: dict[str, str], metadata: list[tuple[str, str, Any]]) -> None:
    if not isinstance(filters, dict):
        raise ValueError("filters must be a JSON object (or a list of them under AND)")
    for key, value in filters.items():
        if key == "AND":
            if not isinstance(value, list) or not value:
                raise ValueError('filters "AND" must be a non-empty list of filter objects')
            for clause in value:
                _collect(clause, entities, metadata)
        elif key == "metadata":
            if not isinstance(value, dict) or not value:
                raise ValueError('filters "metadata" must be a non-empty object')
            for name, condition in value.items():
                metadata.append(_metadata_condition(name, condition))
        elif key in ENTITY_KEYS:
            _put_entity(entities, key, value)
        else:
            raise ValueError(
                f"unsupported filter {key!r}: the local Mem0 takes {', '.join(ENTITY_KEYS)} and metadata,"
                " flat or inside AND"
            )


def _metadata_condition(name: str, condition: Any) -> tuple[str, str, Any]:
    if isinstance(condition, dict):
        if len(condition) != 1 or next(iter(condition)) not in METADATA_OPS:
            raise ValueError(f"metadata filters support only {', '.join(METADATA_OPS)} (v2 memory filters)")
        ((op, value),) = condition.items()
    else:
        op, value = "eq", condition
    if isinstance(value, dict | list):
        raise ValueError(f"metadata filter {name!r} needs a plain value")
    return name, op, value


def _metadata_match(stored: str | None, conditions: str | None) -> bool:
    """SQL function: does a record's metadata (JSON) meet every `(key, op, value)` condition (JSON)?"""
    if conditions is None:
        return True
    metadata = json.loads(stored) if stored else {}
    if not isinstance(metadata, dict):
        metadata = {}
    for name, op, value in json.loads(conditions):
        present, found = name in metadata, metadata.get(name)
        if op == "eq" and not (present and found == value):
            return False
        if op == "ne" and present and found == value:
            return False
        if op == "contains" and not (isinstance(found, str | list) and isinstance(value, str) and value in found):
            return False
    return True


def _put_entity(out: dict[str, str], key: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"filter {key} must be a non-empty string (the local Mem0 takes no operators on ids)")
    value = _clean(value)
    if out.get(key, value) != value:
        raise ValueError(f"conflicting values for {key}")
    out[key] = value


def _bind(entities: Mapping[str, str | None], **extra: Any) -> dict[str, Any]:
    """Named parameters for the _SQL_* statements: an entity left out binds NULL."""
    return {key: entities.get(key) for key in ENTITY_KEYS} | extra


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """Messages must be a non-empty list of `{role, content}` objects with a role the v3 schema allows."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {role, content} objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or "content" not in message:
            raise ValueError(f"messages[{i}] must be an object with a string role and a content")
        if message["role"] not in ROLES:
            raise ValueError(f"messages[{i}].role must be one of {', '.join(ROLES)}")
    return messages


def extract_facts(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Stand-in for Mem0's LLM extraction: `(role, sentence)` for each sentence of a user or assistant
    message that carries content, verbatim.

    Each message is split into sentences; a sentence is dropped when it has fewer than 3 words or only
    small-talk words ("thank you so much"). System messages are context, not facts. Deterministic, so
    tests can predict exactly what is stored. Duplicates are removed by the store, not here.
    The v3 algorithm captures the assistant's facts too (notes 2.1: "Agent-generated facts are now
    captured ... first-class", migration guide).
    """
    facts = []
    for message in messages:
        if message.get("role") not in STORED_ROLES or not isinstance(message.get("content"), str):
            continue
        for sentence in _SENTENCE_BREAK.split(message["content"]):
            words = _WORD.findall(sentence.casefold())
            if len(words) >= 3 and not all(word in _FILLER_WORDS for word in words):
                facts.append((message["role"], sentence.strip()))
    return facts


def speaker_scope(role: str, entities: Mapping[str, str]) -> dict[str, str]:
    """The ids an extracted fact is stored under.

    Entity-scoped-memory docs (notes 2.1, mem0 issues #3218 and #3773): when both `user_id` and
    `agent_id` are sent, "facts from user messages are stored with user_id set and agent_id null, facts
    from assistant messages with agent_id set and user_id null. app_id and run_id are carried on every
    record either way." With only one of them, every fact goes under the ids sent (notes 2.1: with
    user_id alone the assistant's confirmations are stored under that user).
    """
    if "user_id" in entities and "agent_id" in entities:
        drop = "agent_id" if role == "user" else "user_id"
        return {key: value for key, value in entities.items() if key != drop}
    return dict(entities)


def _positive_int(value: Any, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be an integer from 1 to {maximum}")
    return value


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


@dataclass(frozen=True)
class AddRequest:
    """A validated add, ready to be stored now (infer=False) or extracted later (infer=True)."""

    messages: list[dict[str, Any]]
    entities: dict[str, str]
    metadata: dict[str, Any] | None = None
    expiration_date: str | None = None
    infer: bool = True


def check_add(
    messages: Any,
    entities: Mapping[str, Any],
    *,
    metadata: Any = None,
    expiration_date: Any = None,
    infer: Any = True,
) -> AddRequest:
    """Validate an add as the platform does before answering, so a bad add is a 400, never a FAILED event.

    Add-memories reference (notes 1.2): "At least one entity ID (user_id, agent_id, app_id, run_id) is
    required"; `metadata` is an object; `expiration_date` a `YYYY-MM-DD` string (a malformed one is kept
    and never expires: memory-expiration page); `infer` a boolean.
    """
    ids = parse_filters({key: value for key, value in entities.items() if value is not None}).entities
    if not ids:
        raise ValueError("add needs at least one of user_id, agent_id, run_id, app_id")
    check_messages(messages)
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError("metadata must be a JSON object")
    if expiration_date is not None and not isinstance(expiration_date, str):
        raise ValueError("expiration_date must be a YYYY-MM-DD string")
    if expiration_date is not None and expiry_day(expiration_date) is None:
        log.warning("expiration_date %r is not YYYY-MM-DD: kept, and the memory never expires", expiration_date)
    if not isinstance(infer, bool):
        raise ValueError("infer must be true or false")
    return AddRequest(messages, ids, metadata, expiration_date, infer)


# --------------------------------------------------------------------------- store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memories (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT, agent_id TEXT, run_id TEXT, app_id TEXT,
    memory TEXT NOT NULL,
    norm TEXT NOT NULL,
    metadata TEXT,
    categories TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expiration_date TEXT,
    expires_on TEXT
);
CREATE INDEX IF NOT EXISTS memories_user ON memories (user_id, created_at);
CREATE INDEX IF NOT EXISTS memories_user_norm ON memories (user_id, norm);
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5 (
    memory, content='memories', content_rowid='seq', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, memory) VALUES (new.seq, new.memory);
END;
CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, memory) VALUES ('delete', old.seq, old.memory);
END;
CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE OF memory ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, memory) VALUES ('delete', old.seq, old.memory);
    INSERT INTO memories_fts (rowid, memory) VALUES (new.seq, new.memory);
END;
"""
# Stores made before expiration dates were kept gain the two columns (NULL: never expires).
_MIGRATIONS = {
    "expiration_date": "ALTER TABLE memories ADD COLUMN expiration_date TEXT",
    "expires_on": "ALTER TABLE memories ADD COLUMN expires_on TEXT",
}
# Static SQL only: filters are bound parameters, so no statement is ever assembled from input.
# (For the handful of memories a dev store holds, the IS NULL guards cost nothing worth an index.)
#
# Reads and deletes: an entity left out binds NULL and matches anything; "*" matches any non-null value
# (v2-memory-filters.mdx, notes 1.3 "the `*` wildcard (non-null only)"); anything else matches exactly.
# Expired memories are hidden unless show_expired (memory-expiration page; the date is inclusive).
# Metadata conditions are checked by `_metadata_match` (equality, ne, contains: v2-memory-filters.mdx).
_SQL_SCOPE = (  # the entities and the metadata conditions; a constant, never built from input
    "(:user_id IS NULL OR (:user_id = '*' AND m.user_id IS NOT NULL) OR m.user_id = :user_id)"
    " AND (:agent_id IS NULL OR (:agent_id = '*' AND m.agent_id IS NOT NULL) OR m.agent_id = :agent_id)"
    " AND (:run_id IS NULL OR (:run_id = '*' AND m.run_id IS NOT NULL) OR m.run_id = :run_id)"
    " AND (:app_id IS NULL OR (:app_id = '*' AND m.app_id IS NOT NULL) OR m.app_id = :app_id)"
    " AND (:metadata_filter IS NULL OR metadata_match(m.metadata, :metadata_filter))"
)
_SQL_LIVE = " AND (:show_expired OR m.expires_on IS NULL OR m.expires_on >= :today)"
# The statements below join constants only (B608 sees the "+" and cannot tell).
_SQL_SEARCH = (
    "SELECT m.*, bm25(memories_fts) AS bm FROM memories_fts JOIN memories AS m ON m.seq = memories_fts.rowid"  # nosec B608
    " WHERE memories_fts MATCH :match AND "
    + _SQL_SCOPE
    + _SQL_LIVE
    + " ORDER BY bm, m.created_at DESC, m.seq DESC LIMIT :limit"
)
_SQL_COUNT = "SELECT COUNT(*) FROM memories AS m WHERE " + _SQL_SCOPE + _SQL_LIVE  # nosec B608
_SQL_PAGE = (
    "SELECT m.* FROM memories AS m"  # nosec B608
    " WHERE " + _SQL_SCOPE + _SQL_LIVE + " ORDER BY order_key(m.id), m.id LIMIT :limit OFFSET :offset"
)
_SQL_DELETE_ALL = "DELETE FROM memories AS m WHERE " + _SQL_SCOPE  # nosec B608
# Writes: duplicates are looked for in exactly the same scope (a NULL id must be NULL there too).
# infer=False drops exact repeats (direct-import.mdx, notes 2.3: "de-duplicated by a text hash");
# extraction drops a fact the scope already holds, in any case or punctuation (notes 2.2: a near
# duplicate add can end SUCCEEDED with no results).
_SQL_KNOWN_TEXT = (
    "SELECT 1 FROM memories AS m WHERE m.user_id IS :user_id AND m.agent_id IS :agent_id"
    " AND m.run_id IS :run_id AND m.app_id IS :app_id AND m.memory = :memory LIMIT 1"
)
_SQL_KNOWN_FACT = (
    "SELECT 1 FROM memories AS m WHERE m.user_id IS :user_id AND m.agent_id IS :agent_id"
    " AND m.run_id IS :run_id AND m.app_id IS :app_id AND m.norm = :norm LIMIT 1"
)
_SQL_INSERT = (
    "INSERT INTO memories (id, user_id, agent_id, run_id, app_id, memory, norm, metadata, created_at, updated_at,"
    " expiration_date, expires_on) VALUES (:id, :user_id, :agent_id, :run_id, :app_id, :memory, :norm, :metadata,"
    " :now, :now, :expiration_date, :expires_on)"
)


def _record(row: sqlite3.Row) -> dict[str, Any]:
    """A memory as search and `GET /v1/memories/{id}/` return it (openapi `memories_search_v3`, notes 1.3)."""
    return {
        "id": row["id"],
        "memory": row["memory"],
        "user_id": row["user_id"],
        "agent_id": row["agent_id"],
        "run_id": row["run_id"],
        "app_id": row["app_id"],
        "metadata": json.loads(row["metadata"]) if row["metadata"] is not None else None,
        "categories": json.loads(row["categories"]),
        "expiration_date": row["expiration_date"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _listed(row: sqlite3.Row) -> dict[str, Any]:
    """A memory as get_all returns it: the run id is called `session_id` there (openapi `memories_list_v3`:
    "this endpoint returns this field as session_id, while POST /v3/memories/search/ returns the same
    value as run_id", notes 1.4)."""
    record = _record(row)
    record["session_id"] = record.pop("run_id")
    return record


class Mem0Store:
    """Memories in SQLite with an FTS5 index kept in sync by triggers.

    One connection shared by every request thread behind a lock: simpler than a pool and fast enough
    for a dev server. File databases use WAL so a crash mid-write loses nothing already answered.
    `add` is synchronous at this level (tests seed memories with it); the server makes `infer=True`
    adds asynchronous around it.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.create_function("order_key", 1, _order_key, deterministic=True)
        self._conn.create_function("metadata_match", 2, _metadata_match, deterministic=True)
        self.wildcard_filters = 0  # reads and deletes that used "*": each one is a product bug
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(memories)")}
            for column, statement in _MIGRATIONS.items():
                if column not in columns:
                    self._conn.execute(statement)
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _scope(self, filters: Any) -> Scope:
        """Parsed filters; a "*" is served as Mem0 serves it (every record with that id set), and logged."""
        scope = filters if isinstance(filters, Scope) else parse_filters(filters)
        wild = sorted(key for key, value in scope.entities.items() if value == WILDCARD)
        if wild:
            with self._lock:
                self.wildcard_filters += 1
            log.warning("filter %s='*' matches every record that has one (Mem0 v2 filters)", "/".join(wild))
        return scope

    def add(
        self,
        messages: list[dict[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        expiration_date: str | None = None,
        infer: bool = True,
    ) -> list[dict[str, Any]]:
        """Validate and store at once (see `write`); returns the records created."""
        given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
        request = check_add(messages, given, metadata=metadata, expiration_date=expiration_date, infer=infer)
        return self.write(request)

    def write(self, request: AddRequest) -> list[dict[str, Any]]:
        """Store a validated add; returns the records created (none for repeats).

        infer=False: each user and assistant message with non-empty string content becomes one memory,
        verbatim, with every id sent; system messages and multimodal content are skipped (direct-import.mdx,
        notes 2.3). infer=True: the facts `extract_facts` finds, each under `speaker_scope`. Either way
        `metadata` is "attached to each extracted memory" and `app_id`/`run_id` are kept (notes 1.2, 2.1).
        """
        if request.infer:
            pieces = [(speaker_scope(role, request.entities), text) for role, text in extract_facts(request.messages)]
        else:
            pieces = [
                (request.entities, message["content"])
                for message in request.messages
                if message["role"] in STORED_ROLES
                and isinstance(message["content"], str)
                and message["content"].strip()
            ]
        known = _SQL_KNOWN_FACT if request.infer else _SQL_KNOWN_TEXT
        metadata_json = json.dumps(request.metadata) if request.metadata is not None else None
        expires_on = expiry_day(request.expiration_date)
        created: list[dict[str, Any]] = []
        with self._lock, self._conn:
            for scope, raw in pieces:
                text = _clean(raw)
                norm = normalise(text)
                if self._conn.execute(known, _bind(scope, memory=text, norm=norm)).fetchone():
                    continue
                now = _now()
                record = {
                    "id": str(uuid.uuid4()),
                    "memory": text,
                    **{key: scope.get(key) for key in ENTITY_KEYS},
                    "metadata": request.metadata,
                    "categories": [],
                    "expiration_date": request.expiration_date,
                    "created_at": now,
                    "updated_at": now,
                }
                self._conn.execute(
                    _SQL_INSERT,
                    _bind(
                        scope,
                        id=record["id"],
                        memory=text,
                        norm=norm,
                        metadata=metadata_json,
                        now=now,
                        expiration_date=request.expiration_date,
                        expires_on=expires_on,
                    ),
                )
                created.append(record)
        return created

    def search(
        self,
        query: str,
        filters: Any = None,
        top_k: int = 10,
        threshold: float | None = None,
        *,
        show_expired: bool = False,
    ) -> list[dict[str, Any]]:
        """Rank memories matching any word of the query by bm25, best first, newest first on ties.

        Each word is quoted, so user text can never be read as FTS5 syntax (NEAR, *, -, parentheses).
        """
        if not isinstance(query, str):
            raise ValueError("query must be a string")
        scope = self._scope(filters)
        top_k = _positive_int(top_k, "top_k", MAX_TOP_K)
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
        ):
            raise ValueError("threshold must be a number from 0 to 1")
        tokens = list(dict.fromkeys(_WORD.findall(_clean(query).casefold())))[:MAX_QUERY_TOKENS]
        if not tokens:
            return []
        match = " OR ".join(f'"{token}"' for token in tokens)
        params = scope.bind(match=match, limit=top_k, show_expired=show_expired, today=_today())
        with self._lock:
            rows = self._conn.execute(_SQL_SEARCH, params).fetchall()
        if not rows:
            return []
        best = -rows[0]["bm"]
        results = []
        for row in rows:
            score = -row["bm"] / best if best > 0 else 1.0
            score = min(1.0, max(round(score, 6), 1e-6))
            if threshold is not None and score < threshold:
                continue
            results.append({**_record(row), "score": score})
        return results

    def get_all(
        self,
        filters: Any = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        *,
        show_expired: bool = False,
    ) -> tuple[int, list[dict]]:
        """One page of matching memories in `_order_key` order (never by time), with the total count."""
        scope = self._scope(filters)
        page = _positive_int(page, "page", sys.maxsize)
        page_size = _positive_int(page_size, "page_size", MAX_PAGE_SIZE)
        params = scope.bind(show_expired=show_expired, today=_today())
        with self._lock:
            count = self._conn.execute(_SQL_COUNT, params).fetchone()[0]
            offset = (page - 1) * page_size
            rows = self._conn.execute(_SQL_PAGE, params | {"limit": page_size, "offset": offset}).fetchall()
        return count, [_listed(row) for row in rows]

    def get(self, memory_id: str) -> dict[str, Any] | None:
        """One memory by id, expired or not (memory-expiration page: "fetching it by ID still returns it")."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM memories WHERE id = ?", [memory_id]).fetchone()
        return _record(row) if row else None

    def update(
        self, memory_id: str, *, text: str | None = None, metadata: Any = None, expiration_date: Any = ...
    ) -> dict[str, Any] | None:
        """Change one memory's text, metadata (replaced whole) or expiration date (`None` clears it: the
        update-memory page, "send expiration_date: null" makes it permanent again); ``...`` leaves it. Returns
        the memory as changed, or None when there is none by that id."""
        with self._lock, self._conn:
            row = self._conn.execute("SELECT * FROM memories WHERE id = ?", [memory_id]).fetchone()
            if row is None:
                return None
            new_text = _clean(text) if text is not None else row["memory"]
            new_metadata = json.dumps(metadata) if metadata is not None else row["metadata"]
            new_expiry = row["expiration_date"] if expiration_date is ... else expiration_date
            self._conn.execute(
                "UPDATE memories SET memory = ?, norm = ?, metadata = ?, expiration_date = ?, expires_on = ?,"
                " updated_at = ? WHERE id = ?",
                [new_text, normalise(new_text), new_metadata, new_expiry, expiry_day(new_expiry), _now(), memory_id],
            )
        return self.get(memory_id)

    def delete(self, memory_id: str) -> bool:
        """Delete one memory for good: `get` of it answers 404 from then on (openapi `memories_read`)."""
        with self._lock, self._conn:
            return self._conn.execute("DELETE FROM memories WHERE id = ?", [memory_id]).rowcount > 0

    def delete_all(self, **entities: str | None) -> int:
        """Delete the memories an entity filter matches, `"*"` included (notes 1.5: "`*` is a wildcard").

        Naming no entity is an error, never "delete everything" (notes 1.5: since PR #4103 at least one
        filter is required).
        """
        scope = self._scope({key: value for key, value in entities.items() if value is not None})
        if not scope.entities:
            raise ValueError("delete_all needs user_id, agent_id, run_id or app_id; refusing to wipe all")
        with self._lock, self._conn:
            return self._conn.execute(_SQL_DELETE_ALL, scope.bind()).rowcount

    def count(self, filters: Any = None, *, show_expired: bool = True) -> int:
        """How many memories are stored (expired ones too, unless asked otherwise): for tests and stats."""
        scope = parse_filters(filters)  # not _scope: a test's count is not a client's wildcard read
        params = scope.bind(show_expired=show_expired, today=_today())
        with self._lock:
            return self._conn.execute(_SQL_COUNT, params).fetchone()[0]

    def clear(self) -> None:
        """Forget everything (admin reset between tests)."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM memories")


# --------------------------------------------------------------------------- knobs


def _knob(name: str) -> property:
    def fget(self: Knobs) -> Any:
        with self._lock:
            return self._values[name]

    def fset(self: Knobs, value: Any) -> None:
        self.update(**{name: value})

    return property(fget, fset)


class Knobs:
    """Faults and request counters shared by every request thread.

    Tests set them directly; a server in another process is steered through POST /_admin/knobs.
    """

    DEFAULTS: dict[str, Any] = {
        "delay_seconds": 0.0,  # added before answering every Mem0 request
        "fail_status": None,  # answer every Mem0 request with this HTTP status
        "fail_times": None,  # None: fail until changed; N: fail the next N requests, then recover
        "retry_after": 1,  # Retry-After seconds sent with an injected 429
        "hang": False,  # sleep hang_seconds (or until shutdown) and never answer
        "hang_seconds": 30.0,
        # Seconds between an infer=True add's answer and its extraction (0: at once, but always after
        # the answer). Mem0 queues the work (add-memories.mdx); its extraction p50 is ~1 s (notes 3).
        "extraction_delay": 0.0,
    }

    delay_seconds = _knob("delay_seconds")
    fail_status = _knob("fail_status")
    fail_times = _knob("fail_times")
    retry_after = _knob("retry_after")
    hang = _knob("hang")
    hang_seconds = _knob("hang_seconds")
    extraction_delay = _knob("extraction_delay")

    def __init__(self, **values: Any) -> None:
        self._lock = threading.Lock()
        self._values = dict(self.DEFAULTS)
        self._counts: Counter[str] = Counter()
        self.update(**values)

    @staticmethod
    def _check(name: str, value: Any) -> Any:
        def number(minimum: float) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                raise ValueError(f"knob {name} must be a number >= {minimum}")
            return float(value)

        if name in ("delay_seconds", "hang_seconds", "extraction_delay"):
            return number(0)
        if name == "retry_after":
            return math.ceil(number(0))  # whole seconds: the client parses Retry-After as an int
        if name == "hang":
            if not isinstance(value, bool):
                raise ValueError("knob hang must be true or false")
            return value
        if name in ("fail_status", "fail_times"):
            low, high = (400, 599) if name == "fail_status" else (0, sys.maxsize)
            bad = isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
            if value is not None and bad:
                raise ValueError(f"knob {name} must be null or an integer from {low} to {high}")
            return value
        raise ValueError(f"unknown knob {name!r}; known: {', '.join(Knobs.DEFAULTS)}")

    def update(self, **changes: Any) -> dict[str, Any]:
        """Validate all changes first, then apply them together; returns the new settings."""
        checked = {name: self._check(name, value) for name, value in changes.items()}
        with self._lock:
            self._values.update(checked)
            return dict(self._values)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values = dict(self.DEFAULTS)

    def take_failure(self) -> tuple[int, int] | None:
        """The (status, retry_after) to inject into this request, if any, counting down fail_times."""
        with self._lock:
            status, times = self._values["fail_status"], self._values["fail_times"]
            if status is None:
                return None
            if times is not None:
                if times <= 0:
                    self._values.update(fail_status=None, fail_times=None)
                    return None
                self._values["fail_times"] = times - 1
                if times == 1:
                    self._values.update(fail_status=None, fail_times=None)
            return status, self._values["retry_after"]

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._counts[f"{method} {path}"] += 1

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return self._counts[f"{method} {path}"]

    def counts(self) -> dict[str, int]:
        """Requests seen per "METHOD /path" (query strings left out)."""
        with self._lock:
            return dict(self._counts)

    def reset_counters(self) -> None:
        with self._lock:
            self._counts.clear()


# --------------------------------------------------------------------------- HTTP


class RecordedRequest(NamedTuple):
    method: str
    path: str  # as sent, query string included
    body: Any  # the parsed JSON body, or None


class _HttpError(Exception):
    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, dict(headers or {})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of callers (the load test, make bench) must queue, not be reset: the default backlog is 5.
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Mem0Server) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall for seconds without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            log.exception("unhandled error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects; every answer carries Content-Length
    server_version = "LocalMem0/1.0"
    timeout = 60  # an idle keep-alive connection gives its thread back
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle plus delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        path = url.path if url.path.endswith("/") else url.path + "/"
        query = parse_qs(url.query)
        on_sent: list[Callable[[], None]] = []
        try:
            if path.startswith("/_admin/"):
                self._send_json(200, app.admin(self.command, path, self._read_json()))
                return
            app.knobs.record(self.command, url.path)
            body = self._read_json()
            app.record_request(self.command, self.path, body)
            if app.knobs.hang and app.wait(app.knobs.hang_seconds):
                self.close_connection = True  # shutting down: drop the connection unanswered
                return
            if app.knobs.delay_seconds:
                app.wait(app.knobs.delay_seconds)
            failure = app.knobs.take_failure()
            if failure:
                status, retry_after = failure
                headers = {"Retry-After": str(retry_after)} if status == 429 else {}
                raise _HttpError(status, f"Injected failure (HTTP {status})", headers)
            self._authenticate()
            retry_after = app.quota.admit(self.command, path)  # Mem0's rate limit, when configured (mem0_quota)
            if retry_after is not None:
                raise _HttpError(429, "Rate limit exceeded; retry later.", {"Retry-After": str(retry_after)})
            self._send_json(200, app.route(self.command, path, query, body, self._base_url(), on_sent))
        except _HttpError as error:
            self._send_json(error.status, {"detail": error.detail}, error.headers)
        except ValueError as error:
            self._send_json(400, {"detail": str(error)})
        except Exception as error:
            log.exception("error answering %s %s", self.command, self.path)
            self._send_json(500, {"detail": f"Internal error: {type(error).__name__}"})
        finally:
            for callback in on_sent:  # work the platform does after answering (queued extraction)
                callback()

    def _authenticate(self) -> None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "token" or not token:
            raise _HttpError(401, "Authentication credentials were not provided.")
        expected = self.server.app.api_key
        if expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
            raise _HttpError(401, "Invalid API key")

    def _read_json(self) -> Any:
        limit = self.server.app.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise _HttpError(411, "Chunked bodies are not supported; send Content-Length")
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return None
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise _HttpError(400, "Bad Content-Length") from None
        if length > limit:
            if length <= 4 * limit:  # read and drop it so the client gets to see the 413
                while length > 0:
                    chunk = self.rfile.read(min(length, 65536))
                    if not chunk:
                        break
                    length -= len(chunk)
            else:
                self.close_connection = True
            raise _HttpError(413, f"Request body larger than {limit} bytes")
        data = self.rfile.read(length)
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _HttpError(400, f"Malformed JSON body: {error}") from None

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client gave up (e.g. its read timeout); nothing to tell it


@dataclass
class _Extraction:
    """One queued infer=True add. It may start only once its answer is sent (`released`) and `due`."""

    event_id: str
    request: AddRequest
    generation: int
    released: threading.Event = field(default_factory=threading.Event)
    due: float = 0.0


class Mem0Server:
    """The Mem0 stand-in on 127.0.0.1: `.url` for MemoryClient(host=...), `.store`, `.knobs`, `.requests`.

    `wait_idle(timeout)` waits until every queued infer=True extraction has run.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        db: str | Path = ":memory:",
        store: Mem0Store | None = None,
        api_key: str | None = None,
        knobs: Knobs | None = None,
        verbose: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_recorded: int = 1000,
        quota: Quota | None = None,
    ) -> None:
        self._owns_store = store is None
        self.store = store if store is not None else Mem0Store(db)
        self.knobs = knobs if knobs is not None else Knobs()
        self.quota = quota if quota is not None else Quota()  # no limit unless configured
        self.api_key = api_key  # None: any non-empty token passes; may be changed while running
        self.verbose = verbose
        self.max_body_bytes = max_body_bytes
        self._requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Add events (GET /v1/event/{id}/), newest last, bounded; and the extraction queue.
        self._events: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._events_lock = threading.Lock()
        self._extractions: queue.Queue[_Extraction | None] = queue.Queue()
        self._extractor: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self._generation = 0  # bumped by an admin reset of the store: queued extractions are dropped
        self._httpd = _HTTPServer((host, port), self)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Recent Mem0 requests (admin ones excluded), oldest first, bounded."""
        with self._requests_lock:
            return list(self._requests)

    @property
    def pending_extractions(self) -> int:
        """infer=True adds answered but not yet extracted."""
        with self._idle:
            return self._pending

    def record_request(self, method: str, target: str, body: Any) -> None:
        with self._requests_lock:
            self._requests.append(RecordedRequest(method, target, body))

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def wait(self, seconds: float) -> bool:
        """Sleep that close() cuts short; True when the server is shutting down."""
        return self._stopping.wait(seconds)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no infer=True extraction is pending; False if some still are after `timeout` seconds.

        The twin's stand-in for polling `GET /v1/event/{id}/` until SUCCEEDED (notes 2.2), for tests and
        scripts that must read what an add wrote.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def start(self) -> Mem0Server:
        """Serve from a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="mem0-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve from the calling thread until KeyboardInterrupt (the CLI)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        """Stop serving and extracting, wake hung or delayed handlers, release the port and the store.

        Extractions still queued are dropped (their events stay PENDING). Idempotent.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        if self._extractor is not None:
            self._extractions.put(None)
            self._extractor.join(timeout=5)
            self._extractor = None
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Mem0Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- asynchronous extraction

    def _new_event(self, status: str, results: list[dict[str, Any]] | None = None) -> str:
        event_id = str(uuid.uuid4())
        now = _now()
        event = {
            "id": event_id,
            "event_type": "ADD",
            "status": status,
            "results": results or [],
            "created_at": now,
            "updated_at": now,
        }
        with self._events_lock:
            self._events[event_id] = event
            while len(self._events) > MAX_EVENTS:
                self._events.popitem(last=False)
        return event_id

    def _finish_event(self, event_id: str, status: str, results: list[dict[str, Any]]) -> None:
        with self._events_lock:
            event = self._events.get(event_id)
            if event is not None:
                event.update(status=status, results=results, updated_at=_now())

    def event(self, event_id: str) -> dict[str, Any] | None:
        """An add's event as `GET /v1/event/{id}/` answers it, or None."""
        with self._events_lock:
            event = self._events.get(event_id)
            return json.loads(json.dumps(event)) if event is not None else None

    def _queue(self, request: AddRequest) -> _Extraction:
        job = _Extraction(self._new_event("PENDING"), request, self._generation)
        with self._idle:
            if self._extractor is None:
                self._extractor = threading.Thread(target=self._extract_forever, name="mem0-extract", daemon=True)
                self._extractor.start()
            self._pending += 1
        self._extractions.put(job)
        return job

    def _release(self, job: _Extraction) -> None:
        """The answer is sent: the extraction may run after the extraction_delay knob."""
        job.due = time.monotonic() + self.knobs.extraction_delay
        job.released.set()

    def _extract_forever(self) -> None:
        while True:
            job = self._extractions.get()
            if job is None:
                return
            try:
                while not job.released.wait(0.05):
                    if self._stopping.is_set():
                        return
                if self._stopping.wait(max(0.0, job.due - time.monotonic())):
                    return
                self._extract(job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _extract(self, job: _Extraction) -> None:
        if job.generation != self._generation:
            self._finish_event(job.event_id, "FAILED", [])  # the store was reset meanwhile
            return
        try:
            records = self.store.write(job.request)
        except Exception:
            log.exception("extraction for event %s failed", job.event_id)
            self._finish_event(job.event_id, "FAILED", [])
            return
        self._finish_event(job.event_id, "SUCCEEDED", [_add_result(record) for record in records])

    # ----------------------------------------------------------------- the API

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        base_url: str,
        on_sent: list[Callable[[], None]] | None = None,
    ) -> Any:
        """Answer one authenticated Mem0 request; raises _HttpError or ValueError for error answers.

        Work that must wait until the answer is sent is appended to `on_sent` (run at once without it).
        """
        if (method, path) == ("GET", "/v1/ping/"):
            return PING
        if (method, path) == ("POST", "/v3/memories/add/"):
            return self._add(_object(body), on_sent)
        if (method, path) == ("POST", "/v3/memories/search/"):
            return self._search(_object(body))
        if (method, path) == ("POST", "/v3/memories/"):
            return self._get_all(_object(body), query, base_url)
        if (method, path) == ("DELETE", "/v1/memories/"):
            entities = {key: query[key][-1] for key in ENTITY_KEYS if key in query}
            self.store.delete_all(**entities)
            return {"message": "Memories deleted successfully!"}
        event = _EVENT_PATH.fullmatch(path)
        if event and method == "GET":
            found = self.event(unquote(event.group(1)))
            if found is None:
                raise _HttpError(404, "Event not found")
            return found
        single = _MEMORY_PATH.fullmatch(path)
        if single and method in ("GET", "DELETE", "PUT"):
            # openapi `memories_read` / `memories_update` / `memories_delete` (GET/PUT/DELETE
            # /v1/memories/{memory_id}/): a deletion is real, and a memory deleted (or never made) answers
            # 404 "Memory not found" to all three, which mem0ai maps to MemoryNotFoundError (notes 1.1).
            # Only expiration hides without deleting (memory-expiration page: get by id still returns it).
            memory_id = unquote(single.group(1))
            if method == "GET":
                record = self.store.get(memory_id)
                if record is None:
                    raise _HttpError(404, "Memory not found!")
                return record
            if method == "PUT":
                return self._update(memory_id, _object(body))
            if not self.store.delete(memory_id):
                raise _HttpError(404, "Memory not found!")
            return {"message": "Memory deleted successfully!"}
        raise _HttpError(404, f"Not found: {method} {path}")

    def _add(self, body: dict[str, Any], on_sent: list[Callable[[], None]] | None) -> dict[str, Any]:
        # The client sends entity ids top level; AddMemoryOptions also allows them inside "filters".
        entities = {key: body.get(key) for key in ENTITY_KEYS}
        given = parse_filters(body.get("filters"))
        if given.metadata:
            raise ValueError("add takes entity ids, not metadata conditions, in filters")
        for key, value in given.entities.items():
            if entities[key] is not None and entities[key] != value:
                raise ValueError(f"conflicting values for {key}")
            entities[key] = value
        request = check_add(
            body.get("messages"),
            entities,
            metadata=body.get("metadata"),
            expiration_date=body.get("expiration_date"),
            infer=body.get("infer", True),
        )
        if not request.infer:
            # Notes 1.2 (openapi): infer=False is synchronous and answers status, event_id, message and
            # results [{id, data: {memory}, event: "ADD"}] "only present when infer is false".
            results = [_add_result(record) for record in self.store.write(request)]
            event_id = self._new_event("SUCCEEDED", results)
            return {"status": "SUCCEEDED", "event_id": event_id, "message": "Memory added.", "results": results}
        # Notes 1.2 / 2.2 (add-memories.mdx, migration guide "async by default"): infer=True answers
        # {"event_id", "status": "PENDING"}; the memories appear later, and the event turns SUCCEEDED.
        job = self._queue(request)
        if on_sent is None:
            self._release(job)
        else:
            on_sent.append(lambda: self._release(job))
        return {"event_id": job.event_id, "status": "PENDING"}

    def _update(self, memory_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`PUT /v1/memories/{id}/` (openapi `memories_update`: body `text`; mem0ai 2.2.1's `update` also
        sends `metadata`, `timestamp` and `expiration_date`, the update-memory page documents the last):
        the memory answers with its new fields. At least one field is needed, as the SDK says."""
        text, metadata = body.get("text"), body.get("metadata")
        if not any(name in body for name in ("text", "metadata", "expiration_date", "timestamp")):
            raise ValueError("At least one of text, metadata, timestamp, or expiration_date is needed")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError("text must be a non-empty string")
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be a JSON object")
        expiration = body.get("expiration_date", ...)
        if expiration is not ... and expiration is not None and not isinstance(expiration, str):
            raise ValueError("expiration_date must be a YYYY-MM-DD string or null")
        record = self.store.update(memory_id, text=text, metadata=metadata, expiration_date=expiration)
        if record is None:
            raise _HttpError(404, "Memory not found!")
        return {**record, "text": record["memory"]}

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        scope = _required_filters(body)
        _flag(body, "latest_only")  # accepted (notes 2.6); nothing is superseded here
        results = self.store.search(
            query,
            scope,
            top_k=body.get("top_k", 10),
            threshold=body.get("threshold"),
            show_expired=_flag(body, "show_expired"),
        )
        return {"results": results}

    def _get_all(self, body: dict[str, Any], query: dict[str, list[str]], base_url: str) -> dict[str, Any]:
        scope = _required_filters(body)
        _flag(body, "latest_only")  # accepted (notes 1.4, 2.6); nothing is superseded here
        page, page_size = _query_int(query, "page", 1), _query_int(query, "page_size", DEFAULT_PAGE_SIZE)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            # Notes 1.4 (openapi `memories_list_v3`): "the maximum page_size is 200". Refused, not clamped,
            # so a client that asks for more finds out here instead of silently missing memories.
            raise ValueError(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}")
        show_expired = _flag(body, "show_expired")
        count, results = self.store.get_all(scope, page=page, page_size=page_size, show_expired=show_expired)
        link = f"{base_url}/v3/memories/?page={{}}&page_size={page_size}"
        return {
            "count": count,
            "next": link.format(page + 1) if page * page_size < count else None,
            "previous": link.format(page - 1) if page > 1 else None,
            "results": results,
        }

    def admin(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """Unauthenticated, undelayed, uncounted control endpoints for tests and `make dev`."""
        if (method, path) == ("GET", "/_admin/stats/"):
            counts = self.knobs.counts()
            return {
                "requests": counts,
                "total": sum(counts.values()),
                "memories": self.store.count(),
                "pending_extractions": self.pending_extractions,
                "wildcard_filters": self.store.wildcard_filters,
                "knobs": self.knobs.snapshot(),
                "quota": {**self.quota.settings(), "peaks": self.quota.peaks()},
            }
        if (method, path) == ("GET", "/_admin/quota/"):
            return {**self.quota.settings(), "peaks": self.quota.peaks()}
        if (method, path) == ("POST", "/_admin/quota/"):
            return self.quota.configure(**_object(body))
        if (method, path) == ("POST", "/_admin/memories/"):
            # Every record the filters match, uncounted and never throttled: how the load test checks what
            # was written without spending the budget it measures.
            scope = _required_filters(_object(body))
            count, found = self.store.get_all(scope, page=1, page_size=MAX_PAGE_SIZE, show_expired=True)
            page = 1
            while len(found) < count:
                page += 1
                found += self.store.get_all(scope, page=page, page_size=MAX_PAGE_SIZE, show_expired=True)[1]
            return {"count": count, "results": found}
        if (method, path) == ("GET", "/_admin/knobs/"):
            return self.knobs.snapshot()
        if (method, path) == ("POST", "/_admin/knobs/"):
            return self.knobs.update(**_object(body))
        if (method, path) == ("POST", "/_admin/wait-idle/"):
            timeout = _object(body).get("timeout", 5.0)
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout <= 60:
                raise ValueError("timeout must be a number of seconds from 0 to 60")
            return {"idle": self.wait_idle(timeout), "pending_extractions": self.pending_extractions}
        if (method, path) == ("POST", "/_admin/reset/"):
            options = _object(body)
            self.knobs.reset_counters()
            self.quota.reset_counters()
            self.clear_requests()
            if options.get("store"):
                self._generation += 1
                self.store.clear()
            if options.get("knobs"):
                self.knobs.reset()
            return {"status": "ok"}
        raise _HttpError(404, f"Not found: {method} {path}")


def _add_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """One created memory as an add (infer=False) or its event reports it: `{id, event, data: {memory}}`
    (notes 1.2, openapi `memories_add_v3`)."""
    return {"id": record["id"], "event": "ADD", "data": {"memory": record["memory"]}}


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the JSON body must be an object")
    return body


def _required_filters(body: dict[str, Any]) -> Scope:
    # Notes 1.3 / 1.4: search and get_all need at least one entity id in `filters`.
    scope = parse_filters(body.get("filters"))
    if not scope.entities:
        raise ValueError("filters must name at least one of user_id, agent_id, run_id, app_id")
    return scope


def _query_int(query: dict[str, list[str]], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        return int(query[name][-1])
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


@contextlib.contextmanager
def running_mem0_server(
    db: str | Path = ":memory:",
    api_key: str | None = None,
    *,
    verbose: bool = False,
    quota: Quota | None = None,
    **knobs: Any,
) -> Iterator[Mem0Server]:
    """A started Mem0Server for the duration of a with-block; keyword knobs preset its Knobs, ``quota`` its
    rate limit (none by default)."""
    with Mem0Server(db=db, api_key=api_key, knobs=Knobs(**knobs), verbose=verbose, quota=quota) as server:
        yield server


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for the Mem0 Platform API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--db", default=".local/mem0.sqlite3", help='SQLite file, or ":memory:"')
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every Mem0 request")
    parser.add_argument(
        "--extraction-delay", type=float, default=0.0, help="seconds before an infer=True add is extracted"
    )
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty key)")
    parser.add_argument("--add-limit", type=Limit.parse, help="Mem0's add quota, e.g. 1000/min (default: none)")
    parser.add_argument(
        "--request-limit", type=Limit.parse, help="the quota of every other request, e.g. 600/min (default: none)"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = Mem0Server(
        args.host,
        args.port,
        db=args.db,
        api_key=args.api_key,
        knobs=Knobs(delay_seconds=args.delay, extraction_delay=args.extraction_delay),
        verbose=args.verbose,
        quota=Quota(args.add_limit, args.request_limit),
    )
    print(server.url, flush=True)
    print(f"local Mem0 stand-in, store {args.db}; Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
