"""Each Mem0 write of a call happens once, however often the job runs.

Powertools' idempotency utility keeps a record per write in DynamoDB (``IDEMPOTENCY_TABLE``),
keyed by conversation and write kind. Keying each write rather than the whole job matters: when
the second of two writes fails, Lambda retries the job, and the first must not be written again.
A failed write leaves no record (Powertools deletes it), so the retry runs it; a copy running at
the same moment finds the record in progress and fails, to be retried after the first finishes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from agentic_memory.config import get_settings
from agentic_memory.observability import logger, mask_caller
from agentic_memory.stores import aws_clients

KEY_PREFIX = "agentic-memory#write"
# "This conversation went through the job path": one small item per conversation, in the same table.
INGESTED_PREFIX = "agentic-memory#ingested#"
# Kept longer than the write records: backfill may meet a conversation months later, and the marker
# holds no content (the conversation id, the caller masked, a time). DynamoDB's TTL removes it.
INGESTED_EXPIRY_SECONDS = 400 * 86400
_state: dict[str, Any] = {}
_lock = threading.Lock()


def _guard() -> tuple[Any, Any] | None:
    settings = get_settings()
    if not settings.idempotency_table:
        return None
    with _lock:
        if "persistence" not in _state:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
            )

            _state["persistence"] = DynamoDBPersistenceLayer(
                table_name=settings.idempotency_table, boto3_client=aws_clients.client("dynamodb")
            )
            _state["config"] = IdempotencyConfig(
                event_key_jmespath="key",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=settings.idempotency_expiry_seconds,
            )
    return _state["persistence"], _state["config"]


def once(work: Callable[..., dict[str, Any]], write: dict[str, Any], *, context: Any = None) -> dict[str, Any]:
    """``work(write=write)`` unless a write with the same ``write["key"]`` already completed.

    Returns work's result, or the stored result of the earlier run.
    """
    guard = _guard()
    if guard is None:
        if not _state.get("warned"):
            _state["warned"] = True
            logger.error("IDEMPOTENCY_TABLE is not set: repeated deliveries will write again")
        return work(write=write)
    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    persistence, config = guard
    if context is not None:
        config.register_lambda_context(context)
    guarded = idempotent_function(
        work,
        data_keyword_argument="write",
        persistence_store=persistence,
        config=config,
        key_prefix=KEY_PREFIX,
    )
    return guarded(write=write)


def in_progress(error: Exception) -> bool:
    """Whether ``error`` is Powertools' "a copy of this write is running right now" (its record in progress)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    return isinstance(error, IdempotencyAlreadyInProgressError)


def put_marker(
    marker_id: str,
    *,
    expires_in: int,
    status: str,
    attributes: dict[str, Any] | None = None,
    return_old: bool = False,
) -> dict[str, Any] | None:
    """Write one small marker item in the idempotency table, beside Powertools' records: ``id`` =
    ``marker_id``, ``expiration`` (epoch seconds ``expires_in`` from now: the table's TTL attribute, as in
    Powertools' records), ``status``, and ``attributes`` (DynamoDB-typed values). Returns the item it replaced
    when ``return_old`` (``{}`` when there was none), else ``{}``; ``None`` without ``IDEMPOTENCY_TABLE``.
    DynamoDB errors propagate."""
    table = get_settings().idempotency_table
    if not table:
        return None
    item = {
        "id": {"S": marker_id},
        "expiration": {"N": str(int(time.time()) + expires_in)},
        "status": {"S": status},
        **(attributes or {}),
    }
    extra = {"ReturnValues": "ALL_OLD"} if return_old else {}
    answer = aws_clients.client("dynamodb").put_item(TableName=table, Item=item, **extra)
    return (answer.get("Attributes") or {}) if return_old else {}


def get_marker(marker_id: str) -> dict[str, Any] | None:
    """The marker ``marker_id`` (consistent read), or ``None``: none, expired (DynamoDB deletes expired items
    only eventually, so the expiry is checked here, as Powertools does), or no ``IDEMPOTENCY_TABLE``.
    DynamoDB errors propagate."""
    table = get_settings().idempotency_table
    if not table:
        return None
    found = aws_clients.client("dynamodb").get_item(TableName=table, Key={"id": {"S": marker_id}}, ConsistentRead=True)
    item = found.get("Item")
    expiration = (item or {}).get("expiration", {}).get("N")
    if item is None or (expiration is not None and int(expiration) <= time.time()):
        return None
    return item


def mark_ingested(conversation_id: str, caller_id: str | None) -> bool:
    """Record that ``conversation_id`` went through the job path (written, already written, or nothing to
    remember: ``caller_id`` ``None``), so reconcile and backfill skip it without asking ElevenLabs.

    The marker: ``id`` ``agentic-memory#ingested#<conversation id>``, ``status`` ``INGESTED``, ``caller``
    masked (``mask_caller``), ``ingested_at``, expiring after ``INGESTED_EXPIRY_SECONDS``. Only saves work
    (the per-write records keep writes single), so a failure is logged and returns ``False``, never raised.
    ``False`` as well without ``IDEMPOTENCY_TABLE``.
    """
    if not conversation_id:
        return False
    try:
        written = put_marker(
            INGESTED_PREFIX + conversation_id,
            expires_in=INGESTED_EXPIRY_SECONDS,
            status="INGESTED",
            attributes={"caller": {"S": mask_caller(caller_id)}, "ingested_at": {"N": str(int(time.time()))}},
        )
    except Exception as exc:
        logger.warning("could not mark the conversation ingested", extra={"error": type(exc).__name__})
        return False
    return written is not None


def was_ingested(conversation_id: str) -> bool:
    """Whether ``mark_ingested`` recorded ``conversation_id`` and the marker has not expired. ``False`` without
    ``IDEMPOTENCY_TABLE``. DynamoDB errors propagate."""
    return bool(conversation_id) and get_marker(INGESTED_PREFIX + conversation_id) is not None


# "This write may have reached Mem0": noted just before each add, cleared when Mem0 refused it outright, so a
# later attempt knows whether it must look in Mem0 before writing (issue 23: the crash-window read, made only
# when an earlier attempt may have sent the write). The id is a digest of the write's key: no caller number.
SENT_PREFIX = "agentic-memory#sent#"


def _sent_id(key: str) -> str:
    return SENT_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def note_sending(key: str) -> bool:
    """Note that the write ``key`` is about to be sent to Mem0; returns whether an earlier attempt had noted
    it too (and not cleared it): only then may Mem0 already hold it. ``True`` without ``IDEMPOTENCY_TABLE``
    (nothing is known). One ``PutItem`` (``ReturnValues`` ``ALL_OLD`` says what was there), expiring with the
    write records. DynamoDB errors propagate."""
    old = put_marker(
        _sent_id(key), expires_in=get_settings().idempotency_expiry_seconds, status="SENDING", return_old=True
    )
    return True if old is None else bool(old)


def clear_sending(key: str) -> None:
    """Mem0 refused the write ``key`` outright (429, a bad request, a wrong key): it holds nothing of it. Never
    raises: a marker left behind only costs the next attempt one read."""
    table = get_settings().idempotency_table
    if not table:
        return
    try:
        aws_clients.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": _sent_id(key)}})
    except Exception as exc:
        logger.warning("could not clear a write's sending mark", extra={"error": type(exc).__name__})


def reset() -> None:
    with _lock:
        _state.clear()
