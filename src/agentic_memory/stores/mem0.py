"""The one place that talks to Mem0, through mem0ai's ``MemoryClient`` over HTTP.

Three things here are deliberate, each because of a mem0ai 2.2.1 pitfall (DESIGN.md section 4):

* ``import mem0`` runs ``mem0/__init__.py``, which also imports the open-source ``Memory`` stack
  (qdrant_client, numpy, grpc, sqlalchemy, openai): about a second of cold start we never use.
  ``stores.mem0_loader`` loads only ``mem0.client.main`` (and with telemetry off, no PostHog).
  The layer leaves PostHog out (layer/requirements.txt), so ``MEM0_TELEMETRY=true`` there logs one
  warning and keeps telemetry off: calls work as before.
* mem0 reads ``MEM0_DIR`` and ``MEM0_TELEMETRY`` at import time (it creates the directory, which
  fails on Lambda's read-only home, and starts PostHog). They are set before the first import.
* The constructor pings ``/v1/ping/`` with a 300 s timeout and no retries, to learn the org and
  project ids. We hand it an ``httpx.Client`` with real timeouts; and when ``MEM0_ORG_ID`` and
  ``MEM0_PROJECT_ID`` are configured the ping is skipped (a round trip saved on every cold start;
  a wrong key then shows up as an ``AuthenticationError`` on the first real request).

Clients are built lazily, once per container and timeout profile, and reused across warm
invocations so the connection pool (and its TLS session) is reused too.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain.identity import is_identity
from agentic_memory.domain.remembered import MemoryRecord
from agentic_memory.errors import MemoryUnavailable
from agentic_memory.observability import logger, mem0_call
from agentic_memory.stores import deadline, mem0_loader, secret_store


def _prepare_environment(settings: Settings) -> None:
    # mem0 reads these at import; the settings object is the source of truth.
    os.environ["MEM0_DIR"] = settings.mem0_dir
    os.environ["MEM0_TELEMETRY"] = settings.mem0_telemetry


def _telemetry_enabled() -> bool:
    # mem0's own reading of the variable (mem0/memory/telemetry.py): on unless set to something else.
    return os.environ.get("MEM0_TELEMETRY", "True").lower() in ("true", "1", "yes")


def _memory_client_class() -> type:
    """``mem0.client.main.MemoryClient``, loaded the lean way (``mem0_loader``). With
    telemetry switched on but PostHog absent (the layer leaves it out), one warning says how to ship
    it and telemetry stays off: failing calls over analytics would break them for nothing."""
    telemetry = _telemetry_enabled()
    if telemetry and "mem0" not in sys.modules and importlib.util.find_spec("posthog") is None:
        logger.warning(
            "MEM0_TELEMETRY is on but posthog is not installed (the layer leaves it out): mem0 telemetry"
            " stays off. To send it, add posthog to LAYER in scripts/lock.py and run make lock."
        )
        telemetry = False
    return mem0_loader.memory_client_class(telemetry=telemetry)


def _records(response: Any) -> list[MemoryRecord]:
    results = response.get("results", []) if isinstance(response, dict) else response
    records = []
    for item in results if isinstance(results, list) else []:
        if not isinstance(item, dict):
            continue
        text = item.get("memory")
        if isinstance(text, str) and text.strip():
            metadata = item.get("metadata")
            records.append(
                MemoryRecord(
                    text=text.strip(),
                    metadata=metadata if isinstance(metadata, dict) else {},
                    created_at=str(item.get("created_at") or ""),
                    id=str(item.get("id") or ""),
                )
            )
    return records


# Mem0's get_all serves at most 200 a page (openapi ``memories_list_v3``); its order is undocumented
# (DESIGN.md section 4), so a caller's memories are read whole, up to a bound, and sorted here.
PAGE_SIZE = 200
MAX_PAGES = 5


def _filters(user_id: str, app_id: str | None) -> dict[str, str]:
    """Mem0 filters for one caller (and one agent in ``MEMORY_SCOPE=agent``).

    Raises ``ValueError`` for anything that is not an identity: in Mem0's filters ``"*"`` means "any
    non-null value" (v2 memory filters docs), so an unchecked id could read every caller's memories.
    """
    if not is_identity(user_id):
        raise ValueError("refusing a Mem0 filter for something that is not a caller identity")
    filters = {"user_id": user_id}
    if app_id is not None:
        if not app_id or "*" in app_id or not app_id.isprintable():
            raise ValueError("refusing a Mem0 filter with an unusable app_id")
        filters["app_id"] = app_id
    return filters


# Mem0's memory ids are UUIDs (openapi ``memories_read``: ``format: uuid``); anything else never reaches a
# request path. Metadata keys are ours (domain.memory_writes, domain.provenance).
_MEMORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_METADATA_KEY = re.compile(r"[a-z_]{1,40}")


def _memory_id(memory_id: Any) -> str:
    if not isinstance(memory_id, str) or not _MEMORY_ID.fullmatch(memory_id):
        raise ValueError("not a Mem0 memory id")
    return memory_id


def _not_found(error: BaseException) -> bool:
    """Whether ``error`` is Mem0's 404 (``MemoryNotFoundError``, mem0/exceptions.py)."""
    if "mem0" not in sys.modules:
        return False
    from mem0 import exceptions

    return isinstance(error, exceptions.MemoryNotFoundError)


def throttled_for(error: BaseException) -> float | None:
    """Seconds Mem0 asked to wait, when ``error`` (or its cause) is its rate limit (429, ``RateLimitError``,
    with ``Retry-After`` in ``debug_info["retry_after"]`` as mem0ai parses it: notes 1.1); 60 without a usable
    header; ``None`` for any other error, and whenever mem0 was never loaded (no Mem0 request was made)."""
    if "mem0" not in sys.modules:
        return None
    from mem0 import exceptions

    for candidate in (error, error.__cause__):
        if isinstance(candidate, exceptions.RateLimitError):
            retry_after = (getattr(candidate, "debug_info", None) or {}).get("retry_after")
            return float(retry_after) if isinstance(retry_after, int | float) and retry_after >= 0 else 60.0
    return None


class MemoryStore:
    """What the product needs from Mem0, as a few calls. ``app_id`` scopes a caller's memories to one
    agent (``MEMORY_SCOPE=agent``, DESIGN.md section 6); ``None`` reads and writes the shared scope."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def search(self, user_id: str, query: str, limit: int, *, app_id: str | None = None) -> list[MemoryRecord]:
        """Up to ``limit`` memories relevant to ``query``, current facts only (``latest_only``: Mem0's
        Dream keeps superseded facts and returns them unless asked not to)."""
        filters = _filters(user_id, app_id)
        with mem0_call("search"):
            response = self._client.search(query, filters=filters, top_k=limit, latest_only=True)
        return _records(response)[:limit]

    def _page(self, filters: dict[str, str], page: int) -> tuple[int, list[MemoryRecord]]:
        with mem0_call("get_all"):
            response = self._client.get_all(filters=filters, page=page, page_size=PAGE_SIZE, latest_only=True)
        records = _records(response)
        total = response.get("count") if isinstance(response, dict) else None
        return (total if isinstance(total, int) and total >= 0 else len(records)), records

    def recent(
        self, user_id: str, *, app_id: str | None = None, max_pages: int = MAX_PAGES
    ) -> tuple[int, list[MemoryRecord]]:
        """All of a caller's current memories (up to ``max_pages`` x 200), newest first, and their count.

        Requests: one, then the remaining pages at once (parallel): at most ``max_pages`` in two round
        trips; a caller with 500 memories costs three requests.
        """
        filters = _filters(user_id, app_id)
        total, records = self._page(filters, 1)
        pages = min(max_pages, -(-total // PAGE_SIZE))
        if pages > 1:
            pool = deadline.executor()
            for found in pool.map(lambda page: self._page(filters, page)[1], range(2, pages + 1)):
                records.extend(found)
        unique = {record.id or f"{record.created_at}|{record.text}": record for record in records}
        ordered = sorted(unique.values(), key=lambda r: r.created_at, reverse=True)
        return max(total, len(ordered)), ordered

    def written_for(self, user_id: str, conversation_id: str, *, app_id: str | None = None) -> set[str]:
        """The write kinds already stored for ``conversation_id`` (``metadata.kind`` of its records).

        Closes the crash window: a worker that died after a Mem0 write and before its idempotency
        record completed finds the write here on retry. Reads with a metadata filter (Mem0 supports
        equality on metadata: v2 memory filters docs).
        """
        scope: dict[str, Any] = {"metadata": {"conversation_id": conversation_id}}
        filters: dict[str, Any] = {"AND": [_filters(user_id, app_id), scope]}
        with mem0_call("get_all"):
            response = self._client.get_all(filters=filters, page=1, page_size=PAGE_SIZE)
        return {str(r.metadata.get("kind")) for r in _records(response) if r.metadata.get("kind")}

    def forget_conversation(self, user_id: str, conversation_id: str, *, app_id: str | None = None) -> int:
        """Delete every memory of ``user_id`` that one conversation wrote (``metadata.conversation_id``:
        the summary, the collected facts, and what Mem0 has extracted from the turns so far), one ``delete``
        by id each (Mem0 API reference: "Delete memory"). Returns how many were deleted. Pages 200 at a
        time until a page comes back empty (each round reads what is left after the deletes)."""
        scope: dict[str, Any] = {"metadata": {"conversation_id": conversation_id}}
        filters: dict[str, Any] = {"AND": [_filters(user_id, app_id), scope]}
        deleted = 0
        for _ in range(MAX_PAGES):
            with mem0_call("get_all"):
                response = self._client.get_all(filters=filters, page=1, page_size=PAGE_SIZE)
            ids = [record.id for record in _records(response) if record.id]
            if not ids:
                break
            from mem0 import exceptions

            for memory_id in ids:
                try:
                    with mem0_call("delete"):
                        self._client.delete(memory_id)
                except exceptions.MemoryNotFoundError:
                    continue  # deleted meanwhile (another attempt of the same job)
                deleted += 1
        return deleted

    def every_record(self, user_id: str, *, max_pages: int = 10_000) -> list[dict[str, Any]]:
        """Every record Mem0 holds under ``user_id`` (any agent scope, superseded facts included), exactly as
        Mem0 returns them (``id``, ``memory``, ``metadata``, ``created_at``, ...), paged 200 at a time
        (``get_all``'s maximum) until a page is short. For an access request (scripts/export_caller.py). Expired
        memories too: Mem0 only hides them (``show_expired``, memory-expiration docs), so they are still held."""
        filters = _filters(user_id, None)
        found: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            with mem0_call("get_all"):
                response = self._client.get_all(filters=filters, page=page, page_size=PAGE_SIZE, show_expired=True)
            results = response.get("results", []) if isinstance(response, dict) else response
            batch = [item for item in results if isinstance(item, dict)] if isinstance(results, list) else []
            found.extend(batch)
            if len(batch) < PAGE_SIZE or (isinstance(response, dict) and not response.get("next", True)):
                break
        return found

    def add(
        self,
        user_id: str,
        messages: list[dict[str, str]],
        *,
        metadata: dict[str, Any],
        infer: bool,
        app_id: str | None = None,
        expiration_date: str | None = None,
    ) -> Any:
        """One ``add``. Never sends ``agent_id``: with ``infer=True`` Mem0 would then store what the
        agent said under the agent alone, lost to the caller and pooled across callers (Mem0
        entity-scoped-memory docs; DESIGN.md section 4). The agent goes in ``metadata``."""
        _filters(user_id, app_id)  # the same checks as a read
        with mem0_call("add"):
            return self._client.add(
                messages,
                user_id=user_id,
                app_id=app_id,
                metadata=metadata,
                infer=infer,
                expiration_date=expiration_date,
            )

    def records_where(self, user_id: str, key: str, value: str, *, max_pages: int = 50) -> list[dict[str, Any]]:
        """Every record of ``user_id`` (any agent scope) whose ``metadata[key]`` equals ``value``, as Mem0
        returns them, paged 200 at a time. Mem0 filters metadata by equality (v2 memory filters docs, notes
        2.4); an entity id is required beside it. The retention sweep finds a call's memories so: the ids
        of an ``infer=True`` add are not known when it is written (Mem0 extracts later)."""
        if not _METADATA_KEY.fullmatch(key) or not isinstance(value, str) or not value or not value.isprintable():
            raise ValueError("refusing a Mem0 metadata filter with an unusable key or value")
        filters: dict[str, Any] = {"AND": [_filters(user_id, None), {"metadata": {key: value}}]}
        found: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            with mem0_call("get_all"):
                # show_expired: an expired memory is only hidden, and it is what is due (memory-expiration docs)
                response = self._client.get_all(filters=filters, page=page, page_size=PAGE_SIZE, show_expired=True)
            results = response.get("results", []) if isinstance(response, dict) else response
            batch = [item for item in results if isinstance(item, dict)] if isinstance(results, list) else []
            # Defence in depth (notes 4.7: scoping has failed before): only this caller's, only this value.
            found.extend(
                item
                for item in batch
                if item.get("user_id") in (user_id, None)
                and isinstance(item.get("metadata"), dict)
                and item["metadata"].get(key) == value
            )
            if len(batch) < PAGE_SIZE or (isinstance(response, dict) and not response.get("next", True)):
                break
        return found

    def get(self, memory_id: str) -> dict[str, Any] | None:
        """One memory by id (``GET /v1/memories/{id}/``), or ``None`` when Mem0 answers 404: it has none by
        that id (openapi ``memories_read``: 404 "Memory not found")."""
        checked = _memory_id(memory_id)
        with mem0_call("get"):
            try:
                found = self._client.get(checked)
            except Exception as exc:
                if _not_found(exc):
                    return None
                raise
        return found if isinstance(found, dict) else None

    def delete(self, memory_id: str) -> bool:
        """Delete one memory by id (``DELETE /v1/memories/{id}/``): ``True`` when deleted, ``False`` when Mem0
        has none by that id any more (404), so a repeated delete is harmless."""
        checked = _memory_id(memory_id)
        with mem0_call("delete"):
            try:
                self._client.delete(checked)
            except Exception as exc:
                if _not_found(exc):
                    return False
                raise
        return True

    def update(self, memory_id: str, *, text: str, metadata: dict[str, Any] | None = None) -> Any:
        """Replace one memory's text (and its metadata, when given) with ``update`` (``PUT
        /v1/memories/{id}/``, openapi ``memories_update``: ``text``; the SDK also sends ``metadata``).
        Raises Mem0's ``MemoryNotFoundError`` when there is no such memory."""
        checked = _memory_id(memory_id)
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a memory's text cannot be empty")
        with mem0_call("update"):
            if metadata is None:
                return self._client.update(checked, text=text)
            return self._client.update(checked, text=text, metadata=metadata)

    def forget(self, user_id: str) -> Any:
        """Delete every memory of ``user_id`` (queued by Mem0). One entity id per call: Mem0 honours
        only one when several are combined (async-client docs)."""
        _filters(user_id, None)
        with mem0_call("delete_all"):
            return self._client.delete_all(user_id=user_id)


_clients: dict[str, MemoryStore] = {}
# The Mem0 key each client was built with: a key rotated in the secret store builds a new client.
_built_with: dict[str, str | None] = {}
_lock = threading.Lock()


def _build(settings: Settings, timeout: float) -> MemoryStore:
    if not settings.mem0_api_key:
        raise MemoryUnavailable("MEM0_API_KEY is not set")
    _prepare_environment(settings)
    import httpx

    base = _memory_client_class()
    known_ids = bool(settings.mem0_org_id and settings.mem0_project_id)

    class _Client(base):  # type: ignore[misc, valid-type]
        def _validate_api_key(self) -> Any:
            if not known_ids:
                return super()._validate_api_key()
            # The ping only tells the ids, and we know them (see the module docstring).
            self.org_id = settings.mem0_org_id
            self.project_id = settings.mem0_project_id
            return None

    from agentic_memory.stores import tls

    http = httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60),
        verify=tls.context(),  # one CA bundle load per container, shared with the caller profile's reader
    )
    try:
        return MemoryStore(_Client(api_key=settings.mem0_api_key, host=settings.mem0_host, client=http))
    except ValueError as exc:  # the constructor's ping turns any HTTP error into a bare ValueError
        http.close()
        raise MemoryUnavailable(f"Mem0 ping failed: {str(exc)[:200]}") from exc


def get_store(profile: str = "interactive") -> MemoryStore:
    """The container's store for ``profile``: "interactive" (callers waiting) or "worker". Built again when
    the Mem0 key in the secret store changed since (``stores.secret_store``)."""
    settings = secret_store.current()
    store = _clients.get(profile)
    if store is None or _built_with.get(profile) != settings.mem0_api_key:
        with _lock:
            store = _clients.get(profile)
            if store is None or _built_with.get(profile) != settings.mem0_api_key:
                timeout = settings.interactive_timeout if profile == "interactive" else settings.worker_timeout
                with mem0_call("connect"):
                    fresh = _build(settings, timeout)
                old, store = _clients.get(profile), fresh
                _clients[profile], _built_with[profile] = fresh, settings.mem0_api_key
                if old is not None and getattr(old._client, "client", None) is not None:
                    old._client.client.close()
    return store


def reset_clients() -> None:
    """Drop every client and its connections (tests; SnapStart's after-restore hook)."""
    with _lock:
        for store in _clients.values():
            http = getattr(store._client, "client", None)
            if http is not None:
                http.close()
        _clients.clear()
        _built_with.clear()


def _retry_delay(error: Exception, attempt: int) -> float | None:
    """Seconds to wait before trying again, or ``None`` when trying again cannot help.

    429 (honouring Retry-After), 5xx and network failures are passing; a bad request, a wrong key
    or an exhausted quota are not, and go straight to Lambda's retries and the dead-letter queue.
    """
    from mem0 import exceptions

    backoff = min(0.5 * 2**attempt, 4.0)
    if isinstance(error, MemoryUnavailable):  # the client could not be built: Mem0 down at the ping
        return backoff
    if isinstance(error, exceptions.RateLimitError):
        retry_after = (getattr(error, "debug_info", None) or {}).get("retry_after")
        return float(retry_after) if isinstance(retry_after, int | float) and retry_after >= 0 else backoff
    if isinstance(error, exceptions.NetworkError):
        return backoff
    if isinstance(
        error,
        exceptions.AuthenticationError
        | exceptions.ValidationError
        | exceptions.MemoryQuotaExceededError
        | exceptions.MemoryNotFoundError,
    ):
        return None
    if isinstance(error, exceptions.MemoryError):  # the 500 family
        return backoff
    return None


def refused(error: Exception) -> bool:
    """Whether Mem0 turned a request down without doing it: throttled (429), refused as invalid
    (400/409/422), unauthorised (401/403) or too large (413). Network errors, timeouts and 5xx are not:
    Mem0 may have done the work even though the answer failed."""
    from mem0 import exceptions

    return isinstance(
        error,
        exceptions.RateLimitError
        | exceptions.ValidationError
        | exceptions.AuthenticationError
        | exceptions.MemoryQuotaExceededError,
    )


def with_retries[T](
    work: Callable[[], T],
    *,
    attempts: int = 3,
    time_left: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    retry_throttled: bool = True,
) -> T:
    """``work()``, tried up to ``attempts`` times while the error is passing and time is left.
    ``retry_throttled=False`` raises a 429 at once: the worker then waits its turn outside the invocation
    (``worker.pacing``) instead of sleeping here."""
    import time

    pause = sleep or time.sleep
    for attempt in range(attempts):
        try:
            return work()
        except Exception as error:
            if not retry_throttled and throttled_for(error) is not None:
                raise
            delay = _retry_delay(error, attempt)
            if delay is None or attempt == attempts - 1:
                raise
            if time_left is not None and time_left() < delay + get_settings().worker_timeout * 2:
                raise
            pause(min(delay, 10.0))
    raise AssertionError("unreachable")  # pragma: no cover


def preload() -> None:
    """Import mem0's client and build the interactive store now, if configured (its constructor pings
    Mem0 unless ``MEM0_ORG_ID`` and ``MEM0_PROJECT_ID`` are set).

    Called at a handler's import, so the cost lands in Lambda's init phase; never raises.
    """
    try:
        if secret_store.current().mem0_api_key:
            get_store("interactive")
    except Exception:  # the request path reports the problem; init must not fail
        return
