"""A local fake of ElevenLabs' conversations API, for reconcile, backfill and their tests.

Why: reconcile and backfill read ElevenLabs' conversation history. Tests and `make dev` need one that
is free, offline and can be made to throttle on demand. Standard library only.

What it serves, and the document each behaviour follows:

* ``GET /v1/convai/conversations``: summaries of the stored conversations. Query parameters
  ``call_start_after_unix``, ``call_start_before_unix``, ``agent_id``, ``page_size`` (1 to 100,
  default 30), ``cursor``, ``sort_direction`` (``desc``, newest first, by default) and the answer
  ``{"conversations", "next_cursor", "has_more"}`` follow ElevenLabs' API reference "List
  conversations" and the SDK's ``conversations.list`` docstring (elevenlabs 2.78.0); each summary has
  the fields of the SDK's ``ConversationSummaryResponseModel``. The docs do not say whether "after"
  and "before" include the boundary second: this fake reads "after" strictly (``start > after``) and
  "before" inclusively ("up to this start date"), the stricter reading for a client.
  The cursor is opaque (ElevenLabs: "Cursor is returned in the response"); here it encodes the last
  conversation of the page, so a conversation added meanwhile never shifts a later page.
* ``GET /v1/convai/conversations/{conversation_id}``: the whole conversation, shaped like the SDK's
  ``GetConversationResponseModel`` (the post-call webhook's ``data``: DESIGN.md 3.3 and 3.4).
* ``GET /v1/convai/phone-numbers``: the workspace's phone numbers, a JSON list of items shaped like the
  SDK's ``PhoneNumbersListResponseItem`` (``provider`` ``twilio``: ``phone_number``, ``label``,
  ``phone_number_id``, ``supports_inbound``, ``supports_outbound``, ``assigned_agent``), as
  ``conversational_ai.phone_numbers.list`` reads it (elevenlabs 2.78.0). ``add_phone_number`` holds one.
* ``xi-api-key`` authenticates every request (ElevenLabs API reference, "Authentication"); a missing
  or wrong key answers 401 ``{"detail": {"status": "invalid_api_key", ...}}`` (ElevenLabs help centre,
  "API Error Code 401").
* Errors carry ``{"detail": {"status", "message"}}`` (help centre articles on error codes); a bad
  query parameter answers 422 with FastAPI's ``{"detail": [{"loc", "msg", "type"}]}``, the
  ``HTTPValidationError`` schema ElevenLabs' API reference lists for 422.
* Faults no document describes, for the field cases a client must survive (issue 20): ``repeat_cursor``
  makes every list page after the first answer ``has_more`` with the same ``next_cursor`` (a cursor that
  never ends); ``answer_as`` (``{asked id: stored id}``) makes the detail of one conversation answer with
  another's.
* The 429 knob: ``fail_times`` requests answer 429 ``{"detail": {"status": "system_busy"}}`` (help
  centre "API Error Code 429": ``too_many_concurrent_requests`` or ``system_busy``) with a
  ``Retry-After`` of ``retry_after`` seconds (RFC 9110 10.2.3; ElevenLabs does not document one, the
  fake sends it so clients can be shown to honour it).

Tests use ``running_elevenlabs_api()``; another process steers a running fake through
``POST /_admin/conversations`` (a webhook body, its ``data``, or a conversation) and
``POST /_admin/knobs``. Run it for `make dev` (docs/operations.md):

    .venv/bin/python scripts/standins/elevenlabs.py --port 8766 --api-key local-elevenlabs \\
        --conversation events/post_call.json --ago 30
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import hmac
import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

if __package__ in (None, ""):  # run as a file: make `standins` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from standins.serving import BackgroundServer, BurstServer

LIST_PATH = "/v1/convai/conversations"
PHONE_NUMBERS_PATH = "/v1/convai/phone-numbers"
DEFAULT_PAGE_SIZE = 30  # SDK docstring: "Can not exceed 100, defaults to 30"
MAX_PAGE_SIZE = 100
STATUSES = ("initiated", "in-progress", "processing", "done", "failed")  # ConversationSummaryResponseModelStatus
AUDIO_FLAGS = ("has_audio", "has_user_audio", "has_response_audio", "has_auxiliary_audio")


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class _HttpError(Exception):
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, dict(headers or {})


def _detail(status: str, message: str) -> dict[str, Any]:
    return {"detail": {"status": status, "message": message}}


def _invalid(name: str, message: str) -> _HttpError:
    return _HttpError(422, {"detail": [{"loc": ["query", name], "msg": message, "type": "value_error"}]})


# --------------------------------------------------------------------------- conversations


def conversation_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A conversation from a post-call webhook body (``{"type", "data"}``), an event file holding one
    in ``body`` (events/post_call.json), or a conversation itself."""
    if isinstance(payload.get("body"), str):
        payload = json.loads(payload["body"])
    data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
    return copy.deepcopy(dict(data))


def complete(data: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """``data`` with what ``GetConversationResponseModel`` requires filled in.

    The post-call webhook omits fields the GET answer always has (the ``has_*audio`` flags; a phone
    call's ``phone_number_id``); ElevenLabs' GET answer has them (SDK model, elevenlabs 2.78.0).
    ``changes`` replace top-level fields, and ``start_time_unix_secs`` / ``call_duration_secs`` the
    metadata's.
    """
    record = copy.deepcopy(dict(data))
    metadata = dict(record.get("metadata") or {})
    for key in ("start_time_unix_secs", "call_duration_secs"):
        if key in changes:
            metadata[key] = changes.pop(key)
    metadata["start_time_unix_secs"] = int(metadata.get("start_time_unix_secs") or time.time())
    metadata["call_duration_secs"] = int(metadata.get("call_duration_secs") or 0)
    phone_call = metadata.get("phone_call")
    if isinstance(phone_call, dict):
        phone_call = {"phone_number_id": "phnum_local", "direction": "inbound", **phone_call}
        if phone_call.get("type") in ("twilio", "exotel"):
            phone_call.setdefault("stream_sid", "MZlocal")
        phone_call.setdefault("call_sid", "CAlocal")
        metadata["phone_call"] = phone_call
    record["metadata"] = metadata
    analysis = record.get("analysis")
    if isinstance(analysis, dict):
        analysis = {"call_successful": "unknown", "transcript_summary": "", **analysis}
        analysis["data_collection_results"] = {
            key: {"data_collection_id": key, "rationale": "", **(value if isinstance(value, dict) else {})}
            for key, value in (analysis.get("data_collection_results") or {}).items()
        }
        record["analysis"] = analysis
    record["transcript"] = [
        {**turn, "time_in_call_secs": int(turn.get("time_in_call_secs") or 0)}
        for turn in record.get("transcript") or []
        if isinstance(turn, dict)
    ]
    record.setdefault("agent_id", "agent_local")
    record.setdefault("status", "done")
    for flag in AUDIO_FLAGS:
        record.setdefault(flag, False)
    record.update(changes)
    if not isinstance(record.get("conversation_id"), str) or not record["conversation_id"]:
        raise ValueError("a conversation needs a conversation_id")
    return record


def summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """The list endpoint's view of a conversation (SDK ``ConversationSummaryResponseModel``)."""
    metadata = record.get("metadata") or {}
    analysis = record.get("analysis") or {}
    turns = [turn for turn in record.get("transcript") or [] if turn.get("message")]
    phone_call = metadata.get("phone_call") or {}
    return {
        "agent_id": record.get("agent_id") or "",
        "agent_name": record.get("agent_name"),
        "conversation_id": record["conversation_id"],
        "start_time_unix_secs": int(metadata.get("start_time_unix_secs") or 0),
        "call_duration_secs": int(metadata.get("call_duration_secs") or 0),
        "message_count": len(turns),
        # A conversation that carries its counts (SDK 2.72+) keeps them: null on old conversations whose
        # transcript was deleted; otherwise counted from the turns with text, as the SDK's docstring says.
        "user_message_count": record.get("user_message_count", sum(1 for turn in turns if turn.get("role") == "user")),
        "agent_message_count": record.get(
            "agent_message_count", sum(1 for turn in turns if turn.get("role") == "agent")
        ),
        "status": record.get("status") or "done",
        "termination_reason": metadata.get("termination_reason"),
        "call_successful": analysis.get("call_successful") or "unknown",
        "transcript_summary": analysis.get("transcript_summary"),
        "call_summary_title": analysis.get("call_summary_title"),
        "direction": phone_call.get("direction"),
        "conversation_initiation_source": metadata.get("conversation_initiation_source"),
    }


def _encode_cursor(item: Mapping[str, Any], direction: str) -> str:
    raw = json.dumps([direction, item["start_time_unix_secs"], item["conversation_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, start, conversation_id = json.loads(raw)
        if direction in ("asc", "desc") and isinstance(start, int) and isinstance(conversation_id, str):
            return direction, start, conversation_id
    except (binascii.Error, ValueError, TypeError):
        pass
    raise _invalid("cursor", "Invalid cursor")


class Knobs:
    """Faults shared by every request thread; steered directly or through ``POST /_admin/knobs``."""

    DEFAULTS: dict[str, Any] = {
        "fail_status": 429,  # the status the next ``fail_times`` requests answer with
        "fail_times": 0,
        "retry_after": 1,  # Retry-After seconds sent with a 429; None: no header
        "delay_seconds": 0.0,
        "repeat_cursor": False,  # list pages after the first repeat one cursor, has_more forever
        "answer_as": {},  # conversation id asked -> id of the stored conversation that answers
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values = dict(self.DEFAULTS)

    def update(self, **changes: Any) -> dict[str, Any]:
        unknown = set(changes) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown knob(s) {sorted(unknown)}; known: {', '.join(self.DEFAULTS)}")
        with self._lock:
            self.values.update(changes)
            return dict(self.values)

    def take_failure(self) -> tuple[int, Any] | None:
        with self._lock:
            if self.values["fail_times"] <= 0:
                return None
            self.values["fail_times"] -= 1
            return self.values["fail_status"], self.values["retry_after"]


class FakeElevenLabs:
    """The stored conversations, the knobs and the requests seen; ``route`` answers one request."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.knobs = Knobs()
        self._lock = threading.Lock()
        self._conversations: dict[str, dict[str, Any]] = {}
        self._phone_numbers: list[dict[str, Any]] = []
        self._requests: list[RecordedRequest] = []

    # ---- the store

    def add(self, data: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
        """Store a conversation (webhook body, its data, or a conversation); returns the stored record."""
        record = complete(conversation_data(data), **changes)
        with self._lock:
            self._conversations[record["conversation_id"]] = record
        return copy.deepcopy(record)

    def add_phone_number(self, number: str, *, label: str = "line", agent_id: str | None = None) -> dict[str, Any]:
        """Hold a Twilio number of the workspace (``PhoneNumbersListResponseItem_Twilio``)."""
        item = {
            "provider": "twilio",
            "phone_number": number,
            "label": label,
            "phone_number_id": f"phnum_local{len(self._phone_numbers)}",
            "supports_inbound": True,
            "supports_outbound": True,
            "assigned_agent": {"agent_id": agent_id, "agent_name": "local"} if agent_id else None,
        }
        with self._lock:
            self._phone_numbers.append(item)
        return dict(item)

    def remove(self, conversation_id: str) -> None:
        with self._lock:
            self._conversations.pop(conversation_id, None)

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._conversations.get(conversation_id)
            return copy.deepcopy(found) if found is not None else None

    # ---- requests seen

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path_prefix: str = LIST_PATH) -> int:
        return sum(1 for request in self.requests if request.path.startswith(path_prefix))

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ---- the API

    def route(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str]) -> Any:
        if method != "GET":
            raise _HttpError(405, _detail("method_not_allowed", "Method Not Allowed"))
        key = headers.get("xi-api-key") or ""
        if not key or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise _HttpError(401, _detail("invalid_api_key", "Invalid API key"))
        failure = self.knobs.take_failure()
        if failure:
            status, retry_after = failure
            extra = {"Retry-After": str(retry_after)} if status == 429 and retry_after is not None else {}
            raise _HttpError(status, _detail("system_busy", "Injected failure"), extra)
        if path.rstrip("/") == LIST_PATH:
            return self._list(query)
        if path.rstrip("/") == PHONE_NUMBERS_PATH:
            with self._lock:
                return copy.deepcopy(self._phone_numbers)
        prefix = LIST_PATH + "/"
        if path.startswith(prefix) and "/" not in path[len(prefix) :].strip("/"):
            asked = unquote(path[len(prefix) :].strip("/"))
            found = self.conversation(self.knobs.values["answer_as"].get(asked, asked))
            if found is None:
                raise _HttpError(404, _detail("conversation_not_found", "Conversation not found"))
            return found
        raise _HttpError(404, {"detail": "Not Found"})

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        def integer(name: str, default: int | None) -> int | None:
            values = query.get(name)
            if not values:
                return default
            try:
                return int(values[-1])
            except ValueError:
                raise _invalid(name, "Input should be a valid integer") from None

        page_size = integer("page_size", DEFAULT_PAGE_SIZE) or 0
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _invalid("page_size", f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        after, before = integer("call_start_after_unix", None), integer("call_start_before_unix", None)
        agent = (query.get("agent_id") or [None])[-1]
        direction = (query.get("sort_direction") or ["desc"])[-1]
        if direction not in ("asc", "desc"):
            raise _invalid("sort_direction", "Input should be 'asc' or 'desc'")
        with self._lock:
            items = [summary(record) for record in self._conversations.values()]
        items = [
            item
            for item in items
            if (after is None or item["start_time_unix_secs"] > after)
            and (before is None or item["start_time_unix_secs"] <= before)
            and (agent is None or item["agent_id"] == agent)
        ]
        items.sort(
            key=lambda item: (item["start_time_unix_secs"], item["conversation_id"]), reverse=direction == "desc"
        )
        cursor = (query.get("cursor") or [None])[-1]
        if cursor:
            cursor_direction, start, conversation_id = _decode_cursor(cursor)
            if cursor_direction != direction:
                raise _invalid("cursor", "The cursor belongs to another sort direction")
            mark = (start, conversation_id)

            def beyond(item: dict[str, Any]) -> bool:
                key = (item["start_time_unix_secs"], item["conversation_id"])
                return key > mark if direction == "asc" else key < mark

            items = [item for item in items if beyond(item)]
        page, more = items[:page_size], len(items) > page_size
        if self.knobs.values["repeat_cursor"] and (cursor or page):
            stuck = cursor or _encode_cursor(page[-1], direction)
            return {"conversations": page, "next_cursor": stuck, "has_more": True}
        return {
            "conversations": page,
            "next_cursor": _encode_cursor(page[-1], direction) if more and page else None,
            "has_more": more,
        }

    def admin(self, path: str, body: Any) -> Any:
        if path == "/_admin/conversations":
            if not isinstance(body, dict):
                raise _HttpError(400, _detail("invalid_body", "Send a conversation as a JSON object"))
            return summary(self.add(body))
        if path == "/_admin/knobs":
            try:
                return self.knobs.update(**(body or {}))
            except (TypeError, ValueError) as exc:
                raise _HttpError(400, _detail("invalid_knob", str(exc))) from None
        raise _HttpError(404, {"detail": "Not Found"})


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalElevenLabs/1.0"
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and make dev read the records
        return None

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=False)
        # Each request is recorded before its answer is sent, so a client that has its answer always
        # finds its request in ``requests`` (recording after sending raced the test reading it).
        try:
            body = self._read_json()
            if url.path.startswith("/_admin/") and self.command == "POST":
                status, payload, headers = 200, app.admin(url.path.rstrip("/"), body), None
            else:
                delay = app.knobs.values["delay_seconds"]
                if delay:
                    time.sleep(float(delay))
                payload = app.route(self.command, url.path, query, {k.lower(): v for k, v in self.headers.items()})
                status, headers = 200, None
        except _HttpError as error:
            status, payload, headers = error.status, error.body, error.headers
        except ValueError as error:
            status, payload, headers = 400, _detail("invalid_body", str(error)[:200]), None
        if not url.path.startswith("/_admin/"):
            app.record(RecordedRequest(self.command, url.path, query, status))
        self._send(status, payload, headers)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            return None
        if length > 5 * 1024 * 1024:
            self.close_connection = True
            raise _HttpError(413, _detail("payload_too_large", "Body too large"))
        return json.loads(self.rfile.read(length))

    def _send(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (ConnectionError, TimeoutError):
            self.close_connection = True


class _Server(BurstServer):
    def __init__(self, address: tuple[str, int], app: FakeElevenLabs) -> None:
        self.app = app
        super().__init__(address, _Handler)


class ElevenLabsApiServer(BackgroundServer):
    """The fake on ``host:port`` (0: a free port); ``.url`` is the API base, ``.app`` the fake itself."""

    thread_name = "elevenlabs-api"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str = "local-elevenlabs") -> None:
        self.app = FakeElevenLabs(api_key)
        super().__init__(_Server((host, port), self.app))


@contextmanager
def running_elevenlabs_api(api_key: str = "local-elevenlabs") -> Iterator[ElevenLabsApiServer]:
    server = ElevenLabsApiServer(api_key=api_key).start()
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default="local-elevenlabs", help="the xi-api-key it accepts")
    parser.add_argument(
        "--conversation",
        type=Path,
        action="append",
        default=[],
        help="a post-call webhook body, event file (events/post_call.json) or conversation to hold; repeatable",
    )
    parser.add_argument(
        "--ago",
        type=float,
        default=None,
        metavar="MINUTES",
        help="re-time the held conversations to have ended this many minutes ago (default: keep their times)",
    )
    args = parser.parse_args(argv)
    try:
        server = ElevenLabsApiServer(args.host, args.port, api_key=args.api_key)
    except OSError as exc:
        print(f"standins.elevenlabs: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    for path in args.conversation:
        data = conversation_data(json.loads(path.read_text(encoding="utf-8")))
        changes: dict[str, Any] = {}
        if args.ago is not None:
            duration = int((data.get("metadata") or {}).get("call_duration_secs") or 0)
            changes["start_time_unix_secs"] = int(time.time() - args.ago * 60) - duration
        record = server.app.add(data, **changes)
        print(f"holding {record['conversation_id']} (status {record['status']})", flush=True)
    server.start()
    print(
        f"fake ElevenLabs conversations API on {server.url} (xi-api-key: {args.api_key}); Ctrl-C stops it", flush=True
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
