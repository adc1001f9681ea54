"""The schedule every worker of a Mem0 project shares, so that together they keep under its quota: one
DynamoDB item (``domain.pacing`` has the rules; this module only reads and moves the item, atomically).

The item lives in ``IDEMPOTENCY_TABLE`` (key ``id``; the worker's role may already read and update it):
``id`` = ``agentic-memory#mem0-pace#<project>``, ``tat`` (N, unix seconds: when the schedule is next free)
and ``updated_at``. It has no ``expiration`` attribute, so the table's TTL never removes it. ``<project>`` is
``MEM0_PROJECT_ID`` when configured, else a digest of the Mem0 host and API key (one key belongs to one
project): stacks that share a Mem0 project and a table share the schedule.

A reservation is at most two conditional ``UpdateItem`` calls and never a read-then-write race:
``tat < now`` (the schedule is idle) sets ``tat = now + cost``, the job's slot being ``now``; else
``tat >= now`` adds ``cost`` to ``tat`` and returns the new value, the slot being ``new - cost``. ``tat``
only ever grows, so once the first condition fails the second holds (DynamoDB API Reference,
``UpdateItem``: ``ConditionExpression``, ``ReturnValues`` ``UPDATED_NEW``). Which one is tried first
follows what this container saw last, so a busy schedule costs one call per reservation.
"""

from __future__ import annotations

import hashlib
import threading
import time
from decimal import Decimal
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.stores import aws_clients

ITEM_PREFIX = "agentic-memory#mem0-pace#"
_last_tat = {"value": 0.0}
_lock = threading.Lock()


def _key(settings: Settings) -> dict[str, Any]:
    project = (
        settings.mem0_project_id
        or hashlib.sha256(f"{settings.mem0_host}\n{settings.mem0_api_key or ''}".encode()).hexdigest()[:24]
    )
    return {"id": {"S": ITEM_PREFIX + project}}


def _n(value: float) -> dict[str, str]:
    return {"N": str(Decimal(str(round(value, 4))))}


def _conflict(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def enabled(settings: Settings | None = None) -> bool:
    """Whether the worker paces itself: a table to keep the schedule in and a limit to keep."""
    settings = settings or get_settings()
    return bool(settings.idempotency_table and (settings.mem0_add_limit or settings.mem0_request_limit))


def reserve(cost: float, *, now: float | None = None, settings: Settings | None = None) -> float:
    """Reserve ``cost`` seconds of the project's schedule; returns the slot (unix seconds) the job may start
    at (``now`` or later). Raises DynamoDB's errors (boto3 has retried the passing ones)."""
    settings = settings or get_settings()
    now = time.time() if now is None else now
    client = aws_clients.client("dynamodb")
    table, key = settings.idempotency_table, _key(settings)

    def idle() -> float | None:
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET tat = :start, updated_at = :now",
                ConditionExpression="attribute_not_exists(tat) OR tat < :now",
                ExpressionAttributeValues={":start": _n(now + cost), ":now": _n(now)},
            )
        except Exception as error:
            if _conflict(error):
                return None
            raise
        _seen(now + cost)
        return now

    def busy() -> float | None:
        try:
            answer = client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET tat = tat + :cost, updated_at = :now",
                ConditionExpression="tat >= :now",
                ExpressionAttributeValues={":cost": _n(cost), ":now": _n(now)},
                ReturnValues="UPDATED_NEW",
            )
        except Exception as error:
            if _conflict(error):
                return None
            raise
        tat = float(answer["Attributes"]["tat"]["N"])
        _seen(tat)
        return tat - cost

    order = (busy, idle) if _last_tat["value"] >= now else (idle, busy)
    for _ in range(2):  # the second pass only if the schedule was cleared under us (an operator deleting it)
        for attempt in order:
            slot = attempt()
            if slot is not None:
                return max(slot, now)
    raise RuntimeError("the Mem0 pace ledger kept changing under the reservation")


def hold_off(until: float, *, settings: Settings | None = None) -> None:
    """Mem0 answered 429: nobody's turn comes before ``until`` (unix seconds). Moves ``tat`` forward only."""
    settings = settings or get_settings()
    try:
        aws_clients.client("dynamodb").update_item(
            TableName=settings.idempotency_table,
            Key=_key(settings),
            UpdateExpression="SET tat = :until, updated_at = :now",
            ConditionExpression="attribute_not_exists(tat) OR tat < :until",
            ExpressionAttributeValues={":until": _n(until), ":now": _n(time.time())},
        )
    except Exception as error:
        if not _conflict(error):
            raise
    _seen(until)


def _seen(tat: float) -> None:
    with _lock:
        _last_tat["value"] = max(_last_tat["value"], tat)


def reset() -> None:
    """Forget what this container saw (tests)."""
    with _lock:
        _last_tat["value"] = 0.0
