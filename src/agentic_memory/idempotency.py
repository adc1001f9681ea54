"""Each Mem0 write of a call happens once, however often the job runs.

Powertools' idempotency utility keeps a record per write in DynamoDB (``IDEMPOTENCY_TABLE``),
keyed by conversation and write kind. Keying each write rather than the whole job matters: when
the second of three writes fails, Lambda retries the job, and the first must not be written again.
A failed write leaves no record (Powertools deletes it), so the retry runs it; a copy running at
the same moment finds the record in progress and fails, to be retried after the first finishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from agentic_memory import aws
from agentic_memory.config import get_settings
from agentic_memory.observability import logger

KEY_PREFIX = "agentic-memory#write"
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
                table_name=settings.idempotency_table, boto3_client=aws.client("dynamodb")
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


def reset() -> None:
    with _lock:
        _state.clear()
