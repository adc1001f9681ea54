"""The marks of our own numbers (``domain.own_lines``) in the profile table, in a key space of their own.

Every mark lives under one partition, ``pk`` = ``MARKS_PK`` (``own-lines``), with ``sk`` = the number in
E.164. No caller's item can ever be one: a caller's ``pk`` is an identity (``+14155550123``, ``web:<id>``,
``whatsapp:<id>``: ``domain.identity``), and an operator's export or forget of a caller never reaches this
partition. One partition also lets reconcile read every mark in one ``Query`` when it compares them with
the workspace's phone-number list.

Attributes: ``kind`` = ``own_line``; ``listed_until``, ``outbound_until`` (N, unix seconds: until when each
kind of evidence says the number is ours); ``flagged_at`` (N, the first inbound call from it since its last
outbound evidence); ``expires_at`` (N, the later of the two evidences: the table's TTL attribute, so a mark
nothing renews is deleted by DynamoDB; reads check it too, since TTL deletes only eventually);
``updated_at`` (N). No caller data: a mark is a number of ours and dates.

The worker reads and writes marks here with boto3 (consistent reads); ``client_data`` and ``retrieve``
read them with the profile reader's signed request (``profile_reader.read_for_call``, ``read_marks``),
which uses ``key`` and ``mark_of`` below.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain.own_lines import Mark
from agentic_memory.observability import logger, mask_caller
from agentic_memory.stores import aws_clients

MARKS_PK = "own-lines"
KIND = "own_line"
# What a read needs of a mark item (the profile reader asks for the same names in its one request).
ATTRIBUTES = ("pk", "sk", "kind", "listed_until", "outbound_until", "flagged_at", "expires_at")


def key(number: str) -> dict[str, Any]:
    """The DynamoDB key of ``number``'s mark (E.164)."""
    return {"pk": {"S": MARKS_PK}, "sk": {"S": number}}


def is_mark(item: dict[str, Any]) -> bool:
    return item.get("pk", {}).get("S") == MARKS_PK


def _number(item: dict[str, Any], name: str) -> int | None:
    raw = item.get(name, {}).get("N")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def mark_of(item: dict[str, Any] | None, now: float) -> Mark | None:
    """The mark an item holds, or ``None`` (no item, another kind, or expired: DynamoDB's TTL deletes
    expired items only eventually)."""
    if not item or not is_mark(item) or item.get("kind", {}).get("S") != KIND:
        return None
    number = item.get("sk", {}).get("S")
    if not isinstance(number, str) or not number.startswith("+"):
        return None
    mark = Mark(number, _number(item, "listed_until"), _number(item, "outbound_until"), _number(item, "flagged_at"))
    return mark if mark.ours_at(now) else None


def item_of(mark: Mark, now: float) -> dict[str, Any]:
    """The item that stores ``mark``."""
    item: dict[str, Any] = {**key(mark.number), "kind": {"S": KIND}, "updated_at": {"N": str(int(now))}}
    for name in ("listed_until", "outbound_until", "flagged_at", "expires_at"):
        value = getattr(mark, name)
        if value is not None:
            item[name] = {"N": str(int(value))}
    return item


def read(numbers: Iterable[str], *, settings: Settings | None = None) -> list[Mark]:
    """The live marks of ``numbers`` (E.164), read consistently (the worker's view). ``[]`` without
    ``PROFILE_TABLE``. DynamoDB's errors propagate (the job is retried)."""
    settings = settings or get_settings()
    if not settings.profile_table:
        return []
    client = aws_clients.client("dynamodb")
    now = time.time()
    found = []
    for number in dict.fromkeys(numbers):
        item = client.get_item(TableName=settings.profile_table, Key=key(number), ConsistentRead=True).get("Item")
        mark = mark_of(item, now)
        if mark is not None:
            found.append(mark)
    return found


def write(marks: Iterable[Mark], *, settings: Settings | None = None) -> int:
    """Store each mark as it is now (a mark left with no evidence is deleted); the number written.
    Last writer wins: two jobs marking one number write the same evidence, give or take seconds."""
    settings = settings or get_settings()
    if not settings.profile_table:
        return 0
    client = aws_clients.client("dynamodb")
    now = time.time()
    written = 0
    for mark in marks:
        if mark.expires_at is None:
            client.delete_item(TableName=settings.profile_table, Key=key(mark.number))
        else:
            client.put_item(TableName=settings.profile_table, Item=item_of(mark, now))
        written += 1
        logger.info(
            "own-line mark kept",
            extra={
                "number": mask_caller(mark.number),
                "listed": mark.listed_until is not None,
                "flagged": bool(mark.flagged_at),
            },
        )
    return written


def clear(numbers: Iterable[str], *, settings: Settings | None = None) -> int:
    """Delete the marks of ``numbers``; the number deleted."""
    settings = settings or get_settings()
    if not settings.profile_table:
        return 0
    client = aws_clients.client("dynamodb")
    cleared = 0
    for number in numbers:
        client.delete_item(TableName=settings.profile_table, Key=key(number))
        logger.info("own-line mark cleared", extra={"number": mask_caller(number)})
        cleared += 1
    return cleared


def every_mark(*, settings: Settings | None = None) -> list[Mark]:
    """Every live mark (one ``Query`` of the marks' partition, paged)."""
    settings = settings or get_settings()
    if not settings.profile_table:
        return []
    client = aws_clients.client("dynamodb")
    query: dict[str, Any] = {
        "TableName": settings.profile_table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": MARKS_PK}},
        "ConsistentRead": True,
    }
    now = time.time()
    marks: list[Mark] = []
    while True:
        page = client.query(**query)
        marks.extend(mark for mark in (mark_of(item, now) for item in page.get("Items", [])) if mark is not None)
        if not page.get("LastEvaluatedKey"):
            return marks
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
