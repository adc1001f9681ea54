"""A local server that speaks enough of the Mem0 Platform REST API for mem0ai 2.2.1's `MemoryClient`.

Why: `make dev` and the integration tests need a Mem0 that is free, offline, starts in milliseconds and
can be made slow, rate limited, broken or hung on demand. Standard library only, so it starts fast.

Where it knowingly differs from the real platform:
- `add` answers synchronously with the memories it created, even when `async_mode` is set (the real
  platform queues the work and answers with a PENDING status); the memories are searchable at once.
- `infer=True` is a deterministic stand-in for Mem0's LLM fact extraction (see `extract_facts`).
- search is keyword search (SQLite FTS5 bm25), not embeddings, and `score` is relative to the best hit
  of the query (the best hit scores 1.0), so `threshold` trims weak tail hits rather than cosine scores.

Run it:  python -m devserver.mem0_server --port 8765 --db .local/mem0.sqlite3   (from scripts/)
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import math
import re
import signal
import socket
import socketserver
import sqlite3
import sys
import threading
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

ENTITY_KEYS = ("user_id", "agent_id", "run_id", "app_id")
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_QUERY_TOKENS = 32
MAX_TOP_K = 1000
MAX_PAGE_SIZE = 1000
PING = {"status": "ok", "org_id": "local-org", "project_id": "local-project", "user_email": "local@localhost"}

_WORD = re.compile(r"\w+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_MEMORY_PATH = re.compile(r"/v1/memories/([^/]+)/")
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
    """Case- and punctuation-blind form of a memory, used to spot duplicates."""
    return " ".join(_WORD.findall(text.casefold()))


def _now() -> str:
    """ISO-8601 UTC with fixed-width microseconds, so string order is time order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_filters(filters: Any) -> dict[str, str]:
    """Reduce the flat `{"user_id": ...}` and v2 `{"AND": [{...}, ...]}` shapes to `{entity: id}`.

    Anything else raises ValueError (a 400) instead of being ignored, so a filter typo cannot silently
    widen a search to every caller.
    """
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise ValueError("filters must be a JSON object")
    out: dict[str, str] = {}
    if set(filters) == {"AND"}:
        clauses = filters["AND"]
        if not isinstance(clauses, list):
            raise ValueError('filters "AND" must be a list of {entity: id} objects')
        for clause in clauses:
            if not isinstance(clause, dict) or len(clause) != 1:
                raise ValueError('each "AND" clause must be a single {entity: id} object')
            ((key, value),) = clause.items()
            _put_entity(out, key, value)
        return out
    for key, value in filters.items():
        _put_entity(out, key, value)
    return out


def _put_entity(out: dict[str, str], key: str, value: Any) -> None:
    if key not in ENTITY_KEYS:
        raise ValueError(f"unsupported filter {key!r}: only {', '.join(ENTITY_KEYS)}, flat or inside AND")
    if not isinstance(value, str) or not value:
        raise ValueError(f"filter {key} must be a non-empty string")
    value = _clean(value)
    if out.get(key, value) != value:
        raise ValueError(f"conflicting values for {key}")
    out[key] = value


def _bind(entities: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """Named parameters for the _SQL_* statements: an entity left out binds NULL and matches anything."""
    return {key: entities.get(key) for key in ENTITY_KEYS} | extra


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """Messages must be a non-empty list of `{role, content}` objects, as the platform demands."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {role, content} objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or "content" not in message:
            raise ValueError(f"messages[{i}] must be an object with a string role and a content")
    return messages


def extract_facts(messages: list[dict[str, Any]]) -> list[str]:
    """Stand-in for Mem0's LLM extraction: the caller's own sentences that carry content, verbatim.

    Only `user` messages count; each is split into sentences and a sentence is dropped when it has
    fewer than 3 words or only small-talk words ("thank you so much"). Deterministic, so tests can
    predict exactly what is stored. Duplicates are removed by the store, not here.
    """
    facts = []
    for message in messages:
        if message.get("role") != "user" or not isinstance(message.get("content"), str):
            continue
        for sentence in _SENTENCE_BREAK.split(message["content"]):
            words = _WORD.findall(sentence.casefold())
            if len(words) >= 3 and not all(word in _FILLER_WORDS for word in words):
                facts.append(sentence.strip())
    return facts


def _positive_int(value: Any, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be an integer from 1 to {maximum}")
    return value


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
    updated_at TEXT NOT NULL
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
# Static SQL only: entity filters are bound parameters, so no statement is ever assembled from input.
# (For the handful of memories a dev store holds, the IS NULL guards cost nothing worth an index.)
_SQL_KNOWN = (
    "SELECT 1 FROM memories AS m WHERE (:user_id IS NULL OR m.user_id = :user_id)"
    " AND (:agent_id IS NULL OR m.agent_id = :agent_id) AND (:run_id IS NULL OR m.run_id = :run_id)"
    " AND (:app_id IS NULL OR m.app_id = :app_id) AND m.norm = :norm LIMIT 1"
)
_SQL_INSERT = (
    "INSERT INTO memories (id, user_id, agent_id, run_id, app_id, memory, norm, metadata, created_at, updated_at)"
    " VALUES (:id, :user_id, :agent_id, :run_id, :app_id, :memory, :norm, :metadata, :now, :now)"
)
_SQL_SEARCH = (
    "SELECT m.*, bm25(memories_fts) AS bm FROM memories_fts JOIN memories AS m ON m.seq = memories_fts.rowid"
    " WHERE memories_fts MATCH :match AND (:user_id IS NULL OR m.user_id = :user_id)"
    " AND (:agent_id IS NULL OR m.agent_id = :agent_id) AND (:run_id IS NULL OR m.run_id = :run_id)"
    " AND (:app_id IS NULL OR m.app_id = :app_id)"
    " ORDER BY bm, m.created_at DESC, m.seq DESC LIMIT :limit"
)
_SQL_COUNT = (
    "SELECT COUNT(*) FROM memories AS m WHERE (:user_id IS NULL OR m.user_id = :user_id)"
    " AND (:agent_id IS NULL OR m.agent_id = :agent_id) AND (:run_id IS NULL OR m.run_id = :run_id)"
    " AND (:app_id IS NULL OR m.app_id = :app_id)"
)
_SQL_PAGE = (
    "SELECT m.* FROM memories AS m WHERE (:user_id IS NULL OR m.user_id = :user_id)"
    " AND (:agent_id IS NULL OR m.agent_id = :agent_id) AND (:run_id IS NULL OR m.run_id = :run_id)"
    " AND (:app_id IS NULL OR m.app_id = :app_id)"
    " ORDER BY m.created_at DESC, m.seq DESC LIMIT :limit OFFSET :offset"
)
_SQL_DELETE_ALL = (
    "DELETE FROM memories AS m WHERE (:user_id IS NULL OR m.user_id = :user_id)"
    " AND (:agent_id IS NULL OR m.agent_id = :agent_id) AND (:run_id IS NULL OR m.run_id = :run_id)"
    " AND (:app_id IS NULL OR m.app_id = :app_id)"
)


def _record(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "memory": row["memory"],
        "user_id": row["user_id"],
        "agent_id": row["agent_id"],
        "run_id": row["run_id"],
        "app_id": row["app_id"],
        "metadata": json.loads(row["metadata"]) if row["metadata"] is not None else None,
        "categories": json.loads(row["categories"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


class Mem0Store:
    """Memories in SQLite with an FTS5 index kept in sync by triggers.

    One connection shared by every request thread behind a lock: simpler than a pool and fast enough
    for a dev server. File databases use WAL so a crash mid-write loses nothing already answered.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add(
        self,
        messages: list[dict[str, Any]],
        *,
        user_id: str | None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool = True,
    ) -> list[dict[str, Any]]:
        """Store memories from a conversation; returns the records created (none for known facts).

        infer=False keeps every message with non-empty string content verbatim, like the platform.
        infer=True keeps the facts `extract_facts` finds, skipping any whose normalised text the same
        user (or, without a user, the same entity scope) already has: Mem0 dedupes too.
        """
        given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
        entities = parse_filters({key: value for key, value in given.items() if value is not None})
        if not entities:
            raise ValueError("add needs at least one of user_id, agent_id, run_id, app_id")
        check_messages(messages)
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be a JSON object")
        if infer:
            texts = extract_facts(messages)
        else:
            texts = [m["content"] for m in messages if isinstance(m["content"], str) and m["content"].strip()]
        metadata_json = json.dumps(metadata) if metadata is not None else None
        scope = {"user_id": entities["user_id"]} if "user_id" in entities else entities
        created: list[dict[str, Any]] = []
        with self._lock, self._conn:
            seen: set[str] = set()
            for raw in texts:
                text = _clean(raw)
                norm = normalise(text)
                if infer:
                    if norm in seen or self._conn.execute(_SQL_KNOWN, _bind(scope, norm=norm)).fetchone():
                        continue
                    seen.add(norm)
                now = _now()
                record = {
                    "id": str(uuid.uuid4()),
                    "memory": text,
                    **{key: entities.get(key) for key in ENTITY_KEYS},
                    "metadata": metadata,
                    "categories": [],
                    "created_at": now,
                    "updated_at": now,
                }
                self._conn.execute(
                    _SQL_INSERT,
                    _bind(entities, id=record["id"], memory=text, norm=norm, metadata=metadata_json, now=now),
                )
                created.append(record)
        return created

    def search(
        self, query: str, filters: Any = None, top_k: int = 10, threshold: float | None = None
    ) -> list[dict[str, Any]]:
        """Rank memories matching any word of the query by bm25, best first, newest first on ties.

        Each word is quoted, so user text can never be read as FTS5 syntax (NEAR, *, -, parentheses).
        """
        if not isinstance(query, str):
            raise ValueError("query must be a string")
        entities = parse_filters(filters)
        top_k = _positive_int(top_k, "top_k", MAX_TOP_K)
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
        ):
            raise ValueError("threshold must be a number from 0 to 1")
        tokens = list(dict.fromkeys(_WORD.findall(_clean(query).casefold())))[:MAX_QUERY_TOKENS]
        if not tokens:
            return []
        match = " OR ".join(f'"{token}"' for token in tokens)
        with self._lock:
            rows = self._conn.execute(_SQL_SEARCH, _bind(entities, match=match, limit=top_k)).fetchall()
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

    def get_all(self, filters: Any = None, page: int = 1, page_size: int = 100) -> tuple[int, list[dict]]:
        """One page of matching memories, newest first, with the total count."""
        entities = parse_filters(filters)
        page = _positive_int(page, "page", sys.maxsize)
        page_size = _positive_int(page_size, "page_size", MAX_PAGE_SIZE)
        with self._lock:
            count = self._conn.execute(_SQL_COUNT, _bind(entities)).fetchone()[0]
            offset = (page - 1) * page_size
            rows = self._conn.execute(_SQL_PAGE, _bind(entities, limit=page_size, offset=offset)).fetchall()
        return count, [_record(row) for row in rows]

    def get(self, memory_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM memories WHERE id = ?", [memory_id]).fetchone()
        return _record(row) if row else None

    def delete(self, memory_id: str) -> bool:
        with self._lock, self._conn:
            return self._conn.execute("DELETE FROM memories WHERE id = ?", [memory_id]).rowcount > 0

    def delete_all(self, **entities: str | None) -> int:
        """Delete one entity's memories. Naming no entity is an error, never "delete everything"."""
        scope = parse_filters({key: value for key, value in entities.items() if value is not None})
        if not scope:
            raise ValueError("delete_all needs user_id, agent_id, run_id or app_id; refusing to wipe all")
        with self._lock, self._conn:
            return self._conn.execute(_SQL_DELETE_ALL, _bind(scope)).rowcount

    def count(self, filters: Any = None) -> int:
        return self.get_all(filters, page_size=1)[0]

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
    }

    delay_seconds = _knob("delay_seconds")
    fail_status = _knob("fail_status")
    fail_times = _knob("fail_times")
    retry_after = _knob("retry_after")
    hang = _knob("hang")
    hang_seconds = _knob("hang_seconds")

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

        if name in ("delay_seconds", "hang_seconds"):
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
            self._send_json(200, app.route(self.command, path, query, body, self._base_url()))
        except _HttpError as error:
            self._send_json(error.status, {"detail": error.detail}, error.headers)
        except ValueError as error:
            self._send_json(400, {"detail": str(error)})
        except Exception as error:
            log.exception("error answering %s %s", self.command, self.path)
            self._send_json(500, {"detail": f"Internal error: {type(error).__name__}"})

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


class Mem0Server:
    """The Mem0 stand-in on 127.0.0.1: `.url` for MemoryClient(host=...), `.store`, `.knobs`, `.requests`."""

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
    ) -> None:
        self._owns_store = store is None
        self.store = store if store is not None else Mem0Store(db)
        self.knobs = knobs if knobs is not None else Knobs()
        self.api_key = api_key  # None: any non-empty token passes; may be changed while running
        self.verbose = verbose
        self.max_body_bytes = max_body_bytes
        self._requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
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

    def record_request(self, method: str, target: str, body: Any) -> None:
        with self._requests_lock:
            self._requests.append(RecordedRequest(method, target, body))

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def wait(self, seconds: float) -> bool:
        """Sleep that close() cuts short; True when the server is shutting down."""
        return self._stopping.wait(seconds)

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
        """Stop serving, wake hung or delayed handlers, release the port and the store. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Mem0Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- the API

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any, base_url: str) -> Any:
        """Answer one authenticated Mem0 request; raises _HttpError or ValueError for error answers."""
        if (method, path) == ("GET", "/v1/ping/"):
            return PING
        if (method, path) == ("POST", "/v3/memories/add/"):
            return self._add(_object(body))
        if (method, path) == ("POST", "/v3/memories/search/"):
            return self._search(_object(body))
        if (method, path) == ("POST", "/v3/memories/"):
            return self._get_all(_object(body), query, base_url)
        if (method, path) == ("DELETE", "/v1/memories/"):
            entities = {key: query[key][-1] for key in ENTITY_KEYS if key in query}
            self.store.delete_all(**entities)
            return {"message": "Memories deleted successfully!"}
        single = _MEMORY_PATH.fullmatch(path)
        if single and method in ("GET", "DELETE"):
            memory_id = unquote(single.group(1))
            if method == "GET":
                record = self.store.get(memory_id)
                if record is None:
                    raise _HttpError(404, "Memory not found")
                return record
            if not self.store.delete(memory_id):
                raise _HttpError(404, "Memory not found")
            return {"message": "Memory deleted successfully!"}
        raise _HttpError(404, f"Not found: {method} {path}")

    def _add(self, body: dict[str, Any]) -> dict[str, Any]:
        # The client sends entity ids top level; AddMemoryOptions also allows them inside "filters".
        entities = {key: body.get(key) for key in ENTITY_KEYS}
        for key, value in parse_filters(body.get("filters")).items():
            if entities[key] is not None and entities[key] != value:
                raise ValueError(f"conflicting values for {key}")
            entities[key] = value
        infer = body.get("infer", True)
        if not isinstance(infer, bool):
            raise ValueError("infer must be true or false")
        records = self.store.add(body.get("messages"), metadata=body.get("metadata"), infer=infer, **entities)
        return {"results": [{**r, "event": "ADD", "data": {"memory": r["memory"]}} for r in records]}

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        entities = _required_filters(body)
        results = self.store.search(query, entities, top_k=body.get("top_k", 10), threshold=body.get("threshold"))
        return {"results": results}

    def _get_all(self, body: dict[str, Any], query: dict[str, list[str]], base_url: str) -> dict[str, Any]:
        entities = _required_filters(body)
        page, page_size = _query_int(query, "page", 1), _query_int(query, "page_size", 100)
        count, results = self.store.get_all(entities, page=page, page_size=page_size)
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
                "knobs": self.knobs.snapshot(),
            }
        if (method, path) == ("GET", "/_admin/knobs/"):
            return self.knobs.snapshot()
        if (method, path) == ("POST", "/_admin/knobs/"):
            return self.knobs.update(**_object(body))
        if (method, path) == ("POST", "/_admin/reset/"):
            options = _object(body)
            self.knobs.reset_counters()
            self.clear_requests()
            if options.get("store"):
                self.store.clear()
            if options.get("knobs"):
                self.knobs.reset()
            return {"status": "ok"}
        raise _HttpError(404, f"Not found: {method} {path}")


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the JSON body must be an object")
    return body


def _required_filters(body: dict[str, Any]) -> dict[str, str]:
    entities = parse_filters(body.get("filters"))
    if not entities:
        raise ValueError("filters must name at least one of user_id, agent_id, run_id, app_id")
    return entities


def _query_int(query: dict[str, list[str]], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        return int(query[name][-1])
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


@contextlib.contextmanager
def running_mem0_server(
    db: str | Path = ":memory:", api_key: str | None = None, *, verbose: bool = False, **knobs: Any
) -> Iterator[Mem0Server]:
    """A started Mem0Server for the duration of a with-block; keyword knobs preset its Knobs."""
    with Mem0Server(db=db, api_key=api_key, knobs=Knobs(**knobs), verbose=verbose) as server:
        yield server


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for the Mem0 Platform API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--db", default=".local/mem0.sqlite3", help='SQLite file, or ":memory:"')
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every Mem0 request")
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty key)")
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
        knobs=Knobs(delay_seconds=args.delay),
        verbose=args.verbose,
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
