"""The caller profile read that a connecting call waits on: one request, bounded, never boto3 on Lambda.

``client_data`` signs its read with httpx-auth's ``AWS4Auth`` on httpx (already loaded for Mem0) rather
than loading boto3 (``aws_signed_http``; docs/performance.md has the measurements); boto3 serves when the
runtime gives no credentials in the environment (SnapStart). Items are the ones ``profile_table`` writes;
what a document means is ``domain.profile``'s. ``read_for_call`` reads, in one ``BatchGetItem``, the
profiles a call might need and the own-line marks of its numbers (``stores.line_marks``), so that who the
customer is and what is remembered of them cost one round trip; ``read_marks`` is ``retrieve``'s read of
the marks alone. The caller's whole wait is bounded by the edge with ``stores.deadline.within``: httpx's
timeouts bound each read of a socket, not an answer that trickles in a byte at a time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain.own_lines import Mark
from agentic_memory.stores import aws_clients, aws_signed_http, line_marks
from agentic_memory.stores.profile_keys import KIND_PROFILE, expired, item_key

# DynamoDB answers in single-digit milliseconds in-region (DynamoDB developer guide); past these, the
# Mem0 path answers instead.
READ_TIMEOUT_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 0.25
RETRY_WITHIN_SECONDS = 0.3
READ_ATTEMPTS = 2  # a passing failure (throttling, 5xx, a dropped connection) is tried once more
# DynamoDB's JSON protocol (DynamoDB API reference, "Low-level API": POST /, X-Amz-Target, JSON 1.0).
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
RETRYABLE_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class ProfileUnavailable(Exception):
    """The profile could not be read (DynamoDB failed, timed out or refused); the message is safe to log."""


class _SignedReader:
    """``GetItem`` over httpx, signed with httpx-auth's ``AWS4Auth`` (AWS Signature Version 4) with the
    credentials the Lambda runtime puts in the environment. No boto3: see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        self.url = aws_signed_http.service_url("dynamodb", settings, settings.dynamodb_endpoint) + "/"
        self.http = aws_signed_http.signed_client(
            settings,
            "dynamodb",
            read_seconds=READ_TIMEOUT_SECONDS,
            connect_seconds=CONNECT_TIMEOUT_SECONDS,
            max_connections=16,
        )
        self._transport_error = httpx.TransportError

    def get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._call("GetItem", request)

    def batch_get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._call("BatchGetItem", request)

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request).encode()
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation}
        started = time.monotonic()
        for attempt in range(READ_ATTEMPTS):
            last_try = attempt == READ_ATTEMPTS - 1 or time.monotonic() - started > RETRY_WITHIN_SECONDS
            try:
                response = self.http.post(self.url, content=body, headers=headers)
            except self._transport_error as exc:
                if last_try:
                    raise ProfileUnavailable(f"DynamoDB unreachable: {type(exc).__name__}") from exc
                continue
            if response.status_code == 200:
                return response.json()
            error = _error_code(response)
            if last_try or not (error in RETRYABLE_ERRORS or response.status_code >= 500):
                raise ProfileUnavailable(f"DynamoDB answered {response.status_code} {error}")
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.http.close()


def _error_code(response: Any) -> str:
    """``ResourceNotFoundException`` from DynamoDB's ``{"__type": "com.amazonaws...#ResourceNotFoundException"}``."""
    try:
        kind = response.json().get("__type", "")
    except ValueError:
        return "unreadable error"
    return str(kind).rsplit("#", 1)[-1][:80] if kind else "unknown error"


class _Boto3Reader:
    """``GetItem`` with boto3, for runtimes that give no credentials in the environment (SnapStart serves
    them from a container endpoint, which boto3's credential chain reads)."""

    def get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return aws_clients.interactive_client("dynamodb").get_item(**request)
        except Exception as exc:
            raise ProfileUnavailable(f"DynamoDB failed: {type(exc).__name__}") from exc

    def batch_get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return aws_clients.interactive_client("dynamodb").batch_get_item(**request)
        except Exception as exc:
            raise ProfileUnavailable(f"DynamoDB failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        return None


_reader: _SignedReader | _Boto3Reader | None = None
_reader_lock = threading.Lock()


def _get_reader(settings: Settings) -> _SignedReader | _Boto3Reader:
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = _SignedReader(settings) if settings.aws_credentials else _Boto3Reader()
        return _reader


def reset() -> None:
    """Drop the reader and its connections (tests; SnapStart's after-restore hook)."""
    global _reader
    with _reader_lock:
        if _reader is not None:
            _reader.close()
        _reader = None


def preload() -> None:
    """Build the reader now when ``PROFILE_TABLE`` is set (imports httpx-auth, makes the connection pool),
    so the cost lands in Lambda's init phase. Never raises."""
    try:
        settings = get_settings()
        if settings.profile_table:
            reader = _get_reader(settings)
            if isinstance(reader, _Boto3Reader):
                aws_clients.interactive_client("dynamodb")
    except Exception:  # the request path reports the problem; init must not fail
        return


@dataclass(frozen=True, slots=True)
class ProfileItem:
    """What one read found at a caller's key: a profile document."""

    doc: dict[str, Any] | None


def read(caller: str, app_id: str | None, *, settings: Settings | None = None) -> ProfileItem | None:
    """One eventually consistent ``GetItem`` for ``caller`` in ``app_id``'s scope: ``ProfileItem`` or ``None``
    (no item, or expired). Raises ``ProfileUnavailable`` for any failure, a malformed item included."""
    settings = settings or get_settings()
    table = settings.profile_table
    if not table:
        return None
    request = {
        "TableName": table,
        "Key": item_key(caller, app_id),
        "ProjectionExpression": "#doc, #exp, #kind",
        "ExpressionAttributeNames": {"#doc": "doc", "#exp": "expires_at", "#kind": "kind"},
    }
    return _profile_of(_get_reader(settings).get_item(request).get("Item"))


def _profile_of(item: dict[str, Any] | None) -> ProfileItem | None:
    """The profile an item holds; ``None`` for no item, an expired one or another kind (an item that an
    older version marked ``own_number`` on a caller's key is read as what it holds, never as a mark).
    Raises ``ProfileUnavailable`` for a malformed profile."""
    if not item or expired(item, time.time()):
        return None
    if item.get("kind", {}).get("S") != KIND_PROFILE:
        return None
    try:
        doc = json.loads(item["doc"]["S"])
        if not isinstance(doc, dict):
            raise TypeError("not an object")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileUnavailable(f"malformed profile item: {type(exc).__name__}") from exc
    return ProfileItem(doc)


# Everything a read on the connect path needs of either kind of item, in one projection.
_NAMES = {f"#a{i}": name for i, name in enumerate(sorted({"doc", *line_marks.ATTRIBUTES}))}
_PROJECTION = ", ".join(_NAMES)
BATCH_ATTEMPTS = 2  # keys DynamoDB leaves unprocessed (throttling) are asked for once more


@dataclass(frozen=True, slots=True)
class CallRead:
    """What ``read_for_call`` found: ``profiles`` (identity -> its profile, ``None`` when it has none) for
    every identity asked, and the live ``marks`` of the numbers asked."""

    profiles: dict[str, ProfileItem | None]
    marks: tuple[Mark, ...]


def _batch(keys: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    table = settings.profile_table
    reader = _get_reader(settings)
    items: list[dict[str, Any]] = []
    pending = keys
    for _ in range(BATCH_ATTEMPTS):
        request = {
            "RequestItems": {
                table: {"Keys": pending, "ProjectionExpression": _PROJECTION, "ExpressionAttributeNames": _NAMES}
            }
        }
        answer = reader.batch_get_item(request)
        items.extend((answer.get("Responses") or {}).get(table) or [])
        pending = ((answer.get("UnprocessedKeys") or {}).get(table) or {}).get("Keys") or []
        if not pending:
            return items
    raise ProfileUnavailable(f"DynamoDB left {len(pending)} keys unprocessed")


def read_for_call(
    identities: list[str], numbers: list[str], app_id: str | None, *, settings: Settings | None = None
) -> CallRead:
    """The profiles of ``identities`` in ``app_id``'s scope and the own-line marks of ``numbers`` (E.164),
    in one eventually consistent ``BatchGetItem`` (at most 100 keys: DynamoDB's limit per request). Keys
    DynamoDB leaves unprocessed are asked once more. Raises ``ProfileUnavailable`` for any failure."""
    settings = settings or get_settings()
    if not settings.profile_table or not (identities or numbers):
        return CallRead(dict.fromkeys(identities), ())
    wanted = list(dict.fromkeys(identities))
    keys = [item_key(identity, app_id) for identity in wanted] + [line_marks.key(n) for n in dict.fromkeys(numbers)]
    now = time.time()
    profiles: dict[str, ProfileItem | None] = dict.fromkeys(wanted)
    marks: list[Mark] = []
    for item in _batch(keys[:100], settings):
        if line_marks.is_mark(item):
            mark = line_marks.mark_of(item, now)
            if mark is not None:
                marks.append(mark)
            continue
        pk = item.get("pk", {}).get("S")
        if pk in profiles:
            profiles[pk] = _profile_of(item)
    return CallRead(profiles, tuple(marks))


def read_marks(numbers: list[str], *, settings: Settings | None = None) -> tuple[Mark, ...]:
    """The live own-line marks of ``numbers`` (E.164), in one eventually consistent ``BatchGetItem``.
    ``()`` without ``PROFILE_TABLE`` or numbers. Raises ``ProfileUnavailable`` for any failure."""
    return read_for_call([], numbers, None, settings=settings).marks
