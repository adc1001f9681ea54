"""The retention ledger: which call (or note) of which caller is due for deletion when, kept in the caller
profile table (``PROFILE_TABLE``) beside the caller's profile.

Why there, and keyed so: every item of a caller shares the partition key ``pk`` = the caller's identity, so
an export (``profile_table.export``) shows when each of their calls will be deleted, and forgetting a caller
(``profile_table.forget``) removes their ledger lines with everything else; no phone number is left behind in
a table of its own. A run of the sweep reads only what is due: ledger items alone carry ``due_bucket`` and
``due_at``, the keys of the sparse global secondary index ``retention-due`` (template.yaml), which it queries
for ``due_at <= now`` in due order (DynamoDB developer guide, "sparse indexes"). A line is deleted once its
memories are; what a run leaves (out of time, Mem0 throttling) is simply still there for the next run, so the
sweep resumes where it stopped without keeping a cursor.

Item: ``pk`` = caller, ``sk`` = ``retention#<call|note>#<conversation or note id>``, ``kind`` = ``retention``,
``due_bucket`` = ``due``, ``due_at`` (N, unix seconds), ``recorded_at`` (N), ``entry_kind``, ``ref``, and
``app_id`` (the memory scope, when ``MEMORY_SCOPE=agent``). No TTL attribute: a ledger line never expires by
itself, or what it points at would never be deleted. One index partition (``due``) takes every line: DynamoDB
allows 1,000 writes a second per partition key value, and a line is written once per remembered call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import identity
from agentic_memory.domain.retention import CALL, NOTE, DueEntry
from agentic_memory.stores import aws_clients

DUE_INDEX = "retention-due"
DUE_BUCKET = "due"
KIND_RETENTION = "retention"
SK_PREFIX = "retention#"
PAGE = 100


def _table(settings: Settings | None) -> str | None:
    return (settings or get_settings()).profile_table


def sort_key(kind: str, ref: str) -> str:
    return f"{SK_PREFIX}{kind}#{ref}"


def _item(entry: DueEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": entry.caller},
        "sk": {"S": sort_key(entry.kind, entry.ref)},
        "kind": {"S": KIND_RETENTION},
        "due_bucket": {"S": DUE_BUCKET},
        "due_at": {"N": str(int(entry.due_at))},
        "recorded_at": {"N": str(int(entry.recorded_at))},
        "entry_kind": {"S": entry.kind},
        "ref": {"S": entry.ref},
    }
    if entry.app_id is not None:
        item["app_id"] = {"S": entry.app_id}
    return item


def entry_of(item: dict[str, Any]) -> DueEntry | None:
    """The ledger line an item holds, or ``None`` for any other item (or a malformed line)."""
    try:
        if item.get("kind", {}).get("S") != KIND_RETENTION:
            return None
        kind = item["entry_kind"]["S"]
        caller = item["pk"]["S"]
        if kind not in (CALL, NOTE) or not identity.is_identity(caller):
            return None
        return DueEntry(
            caller=caller,
            kind=kind,
            ref=item["ref"]["S"],
            due_at=int(item["due_at"]["N"]),
            recorded_at=int(item.get("recorded_at", {}).get("N") or 0),
            app_id=item["app_id"]["S"] if "app_id" in item else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def record(entry: DueEntry, *, settings: Settings | None = None) -> bool:
    """Write (or write again: idempotent) the ledger line of ``entry``; ``False`` without ``PROFILE_TABLE``.
    The worker writes it before the call's memories, so nothing is ever in Mem0 without its line. DynamoDB
    errors propagate (the job is retried)."""
    table = _table(settings)
    if not table:
        return False
    if not identity.is_identity(entry.caller):
        raise ValueError("a ledger line needs a caller identity")
    aws_clients.client("dynamodb").put_item(TableName=table, Item=_item(entry))
    return True


def due(now: int, *, settings: Settings | None = None) -> Iterator[DueEntry]:
    """The ledger lines due at ``now`` (unix seconds), earliest first, page by page from the ``retention-due``
    index (eventually consistent: a line written a moment ago may show in the next run)."""
    table = _table(settings)
    if not table:
        return
    client = aws_clients.client("dynamodb")
    query: dict[str, Any] = {
        "TableName": table,
        "IndexName": DUE_INDEX,
        "KeyConditionExpression": "due_bucket = :bucket AND due_at <= :now",
        "ExpressionAttributeValues": {":bucket": {"S": DUE_BUCKET}, ":now": {"N": str(int(now))}},
        "ScanIndexForward": True,
        "Limit": PAGE,
    }
    while True:
        page = client.query(**query)
        for item in page.get("Items", []):
            entry = entry_of(item)
            if entry is not None:
                yield entry
        if not page.get("LastEvaluatedKey"):
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def oldest_due(*, settings: Settings | None = None) -> int | None:
    """The earliest ``due_at`` in the ledger (due or not), or ``None`` when it is empty."""
    table = _table(settings)
    if not table:
        return None
    page = aws_clients.client("dynamodb").query(
        TableName=table,
        IndexName=DUE_INDEX,
        KeyConditionExpression="due_bucket = :bucket",
        ExpressionAttributeValues={":bucket": {"S": DUE_BUCKET}},
        ScanIndexForward=True,
        Limit=1,
    )
    items = page.get("Items", [])
    return int(items[0]["due_at"]["N"]) if items else None


def finish(entry: DueEntry, *, settings: Settings | None = None) -> None:
    """Remove ``entry``'s line: everything it pointed at is deleted."""
    table = _table(settings)
    if table:
        aws_clients.client("dynamodb").delete_item(
            TableName=table, Key={"pk": {"S": entry.caller}, "sk": {"S": sort_key(entry.kind, entry.ref)}}
        )


def postpone(entry: DueEntry, until: int, *, settings: Settings | None = None) -> None:
    """Look at ``entry`` again at ``until`` (unix seconds): its memories are deleted, but Mem0 may still be
    extracting some (``DueEntry.settled``). Only an existing line is moved (a forget may have removed it)."""
    table = _table(settings)
    if not table:
        return
    try:
        aws_clients.client("dynamodb").update_item(
            TableName=table,
            Key={"pk": {"S": entry.caller}, "sk": {"S": sort_key(entry.kind, entry.ref)}},
            UpdateExpression="SET due_at = :until",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":until": {"N": str(int(until))}},
        )
    except Exception as error:
        code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
        if code != "ConditionalCheckFailedException":
            raise
