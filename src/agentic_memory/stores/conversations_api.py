"""ElevenLabs' conversations API over httpx: list recent conversations and fetch one (DESIGN.md 3.4).

The runtime calls the REST API directly; the ``elevenlabs`` SDK is a development dependency only,
and tests hold this module's requests and the local fake's answers to the SDK's models
(``GetConversationsPageResponseModel``, ``GetConversationResponseModel``, elevenlabs 2.78.0).

* ``GET /v1/convai/conversations``: query ``call_start_after_unix``, ``call_start_before_unix``,
  ``agent_id``, ``cursor``, ``page_size`` (at most 100, default 30), ``sort_direction`` (``asc`` or
  ``desc``, default newest first); answers ``{"conversations": [...], "next_cursor", "has_more"}``.
  Source: ElevenLabs API reference "List conversations" and the SDK's ``conversations.list``.
* ``GET /v1/convai/conversations/{conversation_id}``: the same shape as the post-call webhook's
  ``data``. Source: ElevenLabs API reference "Get conversation details".
* ``GET /v1/convai/phone-numbers``: the workspace's phone numbers, a JSON list whose items carry
  ``phone_number``, ``provider`` (``twilio``, ``sip_trunk``, ``exotel``), ``phone_number_id``, ``label``
  and ``assigned_agent``. Source: the SDK's ``conversational_ai.phone_numbers.list`` and its
  ``PhoneNumbersListResponseItem`` (elevenlabs 2.78.0). Reconcile reads it to mark our own lines
  (``domain.own_lines``).
* Authentication: the ``xi-api-key`` header (ElevenLabs API reference, "Authentication").
* 429 means too many concurrent requests or ``system_busy`` (ElevenLabs help centre, "API Error Code
  429"); ElevenLabs documents no ``Retry-After``, but one sent is honoured (RFC 9110 section 10.2.3:
  seconds or an HTTP date). 5xx and network failures are retried the same way.

One ``httpx.Client`` is built lazily per container (per API base and key) and reused, so warm
invocations reuse its connections. Nothing here logs a URL, a header or a body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from agentic_memory.stores import secret_store

LIST_PATH = "/v1/convai/conversations"
PHONE_NUMBERS_PATH = "/v1/convai/phone-numbers"
MAX_PAGE_SIZE = 100  # "Can not exceed 100, defaults to 30" (SDK conversations.list docstring)
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
ATTEMPTS = 4
MAX_WAIT_SECONDS = 30.0  # a longer Retry-After is handed back to the caller rather than slept through
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ConversationsError(Exception):
    """The conversations API could not answer; ``status`` is the HTTP status (``None``: no answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotConfigured(ConversationsError):
    """``ELEVENLABS_API_KEY`` is not set: reconcile and backfill have nothing to call."""


class NotFound(ConversationsError):
    """The conversation does not exist (deleted, or another workspace's)."""


class RateLimited(ConversationsError):
    """Still throttled (or failing) after the waits this call could afford; try again in ``retry_after`` s."""

    def __init__(self, message: str, *, status: int | None, retry_after: float) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _client(base: str, key: str) -> Any:
    found = _clients.get((base, key))
    if found is None:
        with _lock:
            found = _clients.get((base, key))
            if found is None:
                import httpx  # only the functions that call ElevenLabs pay for the import

                found = _clients[(base, key)] = httpx.Client(
                    base_url=base,
                    headers={"xi-api-key": key, "accept": "application/json"},
                    timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
                    limits=httpx.Limits(max_connections=8, max_keepalive_connections=8, keepalive_expiry=60),
                    follow_redirects=False,
                )
    return found


def reset_client() -> None:
    """Close and forget the clients (tests; a changed key)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3); ``None`` if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _backoff(attempt: int) -> float:
    return min(0.5 * 2**attempt, 8.0)


def _request(
    path: str,
    params: dict[str, Any] | None,
    *,
    time_left: Callable[[], float] | None,
    attempts: int,
    timeout: float | None,
    sleep: Callable[[float], None],
    allow_list: bool = False,
) -> Any:
    settings = secret_store.current()  # the API key lives in the secret store on AWS
    if not settings.elevenlabs_api_key:
        raise NotConfigured("ELEVENLABS_API_KEY is not set")
    import httpx

    client = _client(settings.elevenlabs_api_base, settings.elevenlabs_api_key)
    query = {key: value for key, value in (params or {}).items() if value is not None}
    extra = {"timeout": httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))} if timeout else {}
    for attempt in range(attempts):
        status: int | None = None
        wait: float | None = None
        try:
            response = client.get(path, params=query, **extra)
        except httpx.HTTPError as exc:
            problem = f"no answer from the conversations API ({type(exc).__name__})"
        else:
            status = response.status_code
            if status == 200:
                try:
                    body = response.json()
                except ValueError:
                    raise ConversationsError("the conversations API answered 200 without JSON", status=200) from None
                if not isinstance(body, dict) and not (allow_list and isinstance(body, list)):
                    raise ConversationsError("the conversations API answered 200 without an object", status=200)
                return body
            if status == 404:
                raise NotFound("no such conversation", status=404)
            if status not in RETRIED_STATUSES:
                raise ConversationsError(f"the conversations API answered {status}", status=status)
            problem = f"the conversations API answered {status}"
            wait = retry_after_seconds(response.headers.get("retry-after"))
        delay = _backoff(attempt) if wait is None else wait
        spare = time_left() if time_left is not None else None
        last = attempt == attempts - 1
        if last or delay > MAX_WAIT_SECONDS or (spare is not None and spare < delay + READ_TIMEOUT):
            raise RateLimited(f"{problem}; try again in {delay:g} s", status=status, retry_after=delay)
        sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def list_conversations(
    after_unix: int | None,
    before_unix: int | None = None,
    agent_id: str | None = None,
    cursor: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    *,
    sort_direction: str | None = "asc",
    time_left: Callable[[], float] | None = None,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """One page of conversation summaries started in ``[after_unix, before_unix]`` (unix seconds).

    Returns ``{"conversations": [summary, ...], "next_cursor": str | None, "has_more": bool}``; each
    summary carries at least ``conversation_id``, ``agent_id``, ``status`` (``initiated``,
    ``in-progress``, ``processing``, ``done``, ``failed``), ``start_time_unix_secs`` and
    ``call_duration_secs`` (SDK ``ConversationSummaryResponseModel``). ``sort_direction="asc"`` (oldest
    first) unless told otherwise, so a run cut short leaves the newest for the next run.

    Raises ``NotConfigured`` without a key, ``RateLimited`` when 429s or failures outlast the waits this
    call can afford (``time_left()``: seconds the caller still has), ``ConversationsError`` otherwise.
    """
    params = {
        "call_start_after_unix": after_unix,
        "call_start_before_unix": before_unix,
        "agent_id": agent_id,
        "cursor": cursor,
        "page_size": max(1, min(int(page_size), MAX_PAGE_SIZE)),
        "sort_direction": sort_direction,
    }
    page = _request(LIST_PATH, params, time_left=time_left, attempts=attempts, timeout=None, sleep=sleep)
    conversations = page.get("conversations")
    if not isinstance(conversations, list):
        raise ConversationsError("the conversations API answered a page without a conversations list", status=200)
    return {
        "conversations": [item for item in conversations if isinstance(item, dict)],
        "next_cursor": page.get("next_cursor") if isinstance(page.get("next_cursor"), str) else None,
        "has_more": page.get("has_more") is True,
    }


def get_conversation(
    conversation_id: str,
    *,
    time_left: Callable[[], float] | None = None,
    attempts: int = ATTEMPTS,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The whole conversation: the post-call webhook's ``data`` shape (``agent_id``, ``conversation_id``,
    ``status``, ``user_id``, ``transcript``, ``metadata``, ``analysis``, ...).

    ``timeout`` (seconds) overrides the read timeout for one call and ``attempts=1`` turns retries off,
    for a caller who is waiting. Raises ``NotFound`` (404), ``RateLimited``, ``NotConfigured`` or
    ``ConversationsError``.
    """
    text = (conversation_id or "").strip()
    if not text or not text.isprintable():
        raise NotFound("no such conversation", status=None)
    path = f"{LIST_PATH}/{quote(text, safe='')}"
    return _request(path, None, time_left=time_left, attempts=attempts, timeout=timeout, sleep=sleep)


def list_phone_numbers(
    *,
    time_left: Callable[[], float] | None = None,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """The ``phone_number`` of every phone number the workspace holds, as ElevenLabs writes them (E.164 for
    Twilio and Exotel numbers; a SIP trunk's as imported). Raises as ``list_conversations``, and
    ``ConversationsError`` when the answer is not a list."""
    body = _request(
        PHONE_NUMBERS_PATH, None, time_left=time_left, attempts=attempts, timeout=None, sleep=sleep, allow_list=True
    )
    if not isinstance(body, list):
        raise ConversationsError("the phone-numbers API answered 200 without a list", status=200)
    return [
        item["phone_number"] for item in body if isinstance(item, dict) and isinstance(item.get("phone_number"), str)
    ]
