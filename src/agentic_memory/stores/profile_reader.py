"""The caller profile read that a connecting call waits on: one ``GetItem``, bounded, never boto3 on Lambda.

``client_data`` signs its ``GetItem`` with httpx-auth's ``AWS4Auth`` on httpx (already loaded for Mem0)
rather than loading boto3 (``aws_signed_http``; docs/performance.md has the measurements); boto3 serves
when the runtime gives no credentials in the environment (SnapStart). Items are the ones
``profile_table`` writes; what a document means is ``domain.profile``'s.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.stores import aws_clients, aws_signed_http
from agentic_memory.stores.profile_table import KIND_PROFILE, expired, item_key

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
        body = json.dumps(request).encode()
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + "GetItem"}
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
    """What one read found at a key: a profile document, or the mark of one of our numbers."""

    doc: dict[str, Any] | None
    own_number: bool = False


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
        "ProjectionExpression": "#doc, #own, #exp, #kind",
        "ExpressionAttributeNames": {"#doc": "doc", "#own": "own_number", "#exp": "expires_at", "#kind": "kind"},
    }
    item = _get_reader(settings).get_item(request).get("Item")
    if not item or expired(item, time.time()):
        return None
    if item.get("own_number", {}).get("BOOL"):
        return ProfileItem(None, own_number=True)
    if item.get("kind", {}).get("S") != KIND_PROFILE:
        return None
    try:
        doc = json.loads(item["doc"]["S"])
        if not isinstance(doc, dict):
            raise TypeError("not an object")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileUnavailable(f"malformed profile item: {type(exc).__name__}") from exc
    return ProfileItem(doc)
