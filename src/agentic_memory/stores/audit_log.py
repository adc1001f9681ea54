"""The audit trail: who looked at, searched, exported, corrected, annotated, deleted or forgot a caller's
memories, and what the retention sweep deleted. DynamoDB table ``AUDIT_TABLE`` (template.yaml ``AuditTable``).

A table of its own, not a key space of the profile table: it has its own retention (``AUDIT_RETENTION_DAYS``,
DynamoDB TTL on ``expires_at``), it must outlive what it describes (forgetting a caller deletes their profile
items, never the record that they were forgotten), and its writers differ (operators with their own AWS
credentials, and the post-call function for the sweep's deletions, which may only append to it).

A record holds who (the AWS principal's ARN from STS ``GetCallerIdentity``, ``local:<user>`` on ``make dev``,
or ``retention-sweep``), what (``action``), from where (``source``: ``tool``, ``console``, ``sweep``), when, the
caller masked (``observability.mask_caller``), ids (memory, conversation, note) and counts, the outcome;
never the content of a memory, a note, a name or a search.

Item: ``pk`` = ``audit#<YYYY-MM-DD>`` (UTC day), ``sk`` = ``<ISO 8601 time>#<random>``, so a day's records read in
time order with one query, and a listing walks back day by day.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.stores import aws_clients

DAY_PREFIX = "audit#"
MAX_DETAIL_ITEMS = 20
MAX_VALUE_CHARS = 200


class AuditUnavailable(RuntimeError):
    """The audit trail could not be written: whatever it was about is not done (fail closed)."""


def enabled(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).audit_table)


def _plain(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute for a short scalar (strings bounded, numbers as N)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)[:MAX_VALUE_CHARS]}


def _value(attribute: dict[str, Any]) -> Any:
    if "N" in attribute:
        number = float(attribute["N"])
        return int(number) if number.is_integer() else number
    if "BOOL" in attribute:
        return attribute["BOOL"]
    if "M" in attribute:
        return {key: _value(inner) for key, inner in attribute["M"].items()}
    return attribute.get("S", "")


def record(
    *,
    who: str,
    action: str,
    source: str,
    caller_masked: str = "",
    detail: dict[str, Any] | None = None,
    outcome: str = "requested",
    settings: Settings | None = None,
    now: float | None = None,
) -> dict[str, str] | None:
    """Append one record; returns its key (``{"pk", "sk"}``, for ``complete``), or ``None`` when the stack has no
    audit table. ``detail``: ids and counts only (at most 20 scalars; strings cut at 200 characters). Raises
    ``AuditUnavailable`` when DynamoDB refuses or fails."""
    settings = settings or get_settings()
    if not settings.audit_table:
        return None
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    key = {
        "pk": f"{DAY_PREFIX}{moment.date().isoformat()}",
        "sk": f"{moment.isoformat(timespec='microseconds')}#{secrets.token_hex(4)}",
    }
    expires = int(moment.timestamp()) + settings.audit_retention_days * 86_400
    item = {
        "pk": {"S": key["pk"]},
        "sk": {"S": key["sk"]},
        "at": {"S": moment.isoformat(timespec="seconds")},
        "who": {"S": (who or "unknown")[:MAX_VALUE_CHARS]},
        "action": {"S": action[:40]},
        "source": {"S": source[:40]},
        "caller": {"S": caller_masked[:40]},
        "outcome": {"S": outcome[:40]},
        "expires_at": {"N": str(expires)},
    }
    if detail:
        item["detail"] = {"M": {str(k)[:40]: _plain(v) for k, v in list(detail.items())[:MAX_DETAIL_ITEMS]}}
    try:
        aws_clients.client("dynamodb").put_item(
            TableName=settings.audit_table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
    except Exception as exc:
        raise AuditUnavailable(f"the audit trail could not be written: {type(exc).__name__}") from exc
    return key


def complete(
    key: dict[str, str] | None, outcome: str, detail: dict[str, Any] | None = None, *, settings: Settings | None = None
) -> None:
    """Set the outcome (``done``, ``failed``, ...) and more detail on a record ``record`` wrote. Best effort: the
    record already says the action was asked for, so a failure here raises ``AuditUnavailable`` for the caller
    to report, and changes nothing else."""
    settings = settings or get_settings()
    if key is None or not settings.audit_table:
        return
    names = {"#outcome": "outcome"}
    values: dict[str, Any] = {":outcome": {"S": outcome[:40]}}
    expression = "SET #outcome = :outcome"
    for index, (name, value) in enumerate(list((detail or {}).items())[:MAX_DETAIL_ITEMS]):
        names[f"#d{index}"] = str(name)[:40]
        values[f":d{index}"] = _plain(value)
        expression += f", detail.#d{index} = :d{index}"
    try:
        client = aws_clients.client("dynamodb")
        if detail:  # the map must exist before its keys are set
            client.update_item(
                TableName=settings.audit_table,
                Key={"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}},
                UpdateExpression="SET detail = if_not_exists(detail, :empty)",
                ExpressionAttributeValues={":empty": {"M": {}}},
            )
        client.update_item(
            TableName=settings.audit_table,
            Key={"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except Exception as exc:
        raise AuditUnavailable(f"the audit outcome could not be written: {type(exc).__name__}") from exc


def recent(
    *, days: int = 7, caller_masked: str | None = None, limit: int = 100, settings: Settings | None = None
) -> list[dict[str, Any]] | None:
    """The newest records of the last ``days`` days (newest first, at most ``limit``), optionally only those
    about ``caller_masked`` (a mask keeps the country code and the last two digits: another caller may share
    it; the ids in ``detail`` tell them apart). ``None`` without an audit table."""
    settings = settings or get_settings()
    if not settings.audit_table:
        return None
    client = aws_clients.client("dynamodb")
    today = datetime.now(UTC).date()
    found: list[dict[str, Any]] = []
    for back in range(max(1, days)):
        query: dict[str, Any] = {
            "TableName": settings.audit_table,
            "KeyConditionExpression": "pk = :day",
            "ExpressionAttributeValues": {":day": {"S": f"{DAY_PREFIX}{(today - timedelta(days=back)).isoformat()}"}},
            "ScanIndexForward": False,
        }
        if caller_masked:
            query["FilterExpression"] = "#caller = :caller"
            query["ExpressionAttributeNames"] = {"#caller": "caller"}
            query["ExpressionAttributeValues"][":caller"] = {"S": caller_masked}
        while len(found) < limit:
            page = client.query(**query)
            found.extend(
                {name: _value(value) for name, value in item.items() if name not in ("pk", "expires_at")}
                for item in page.get("Items", [])
            )
            if not page.get("LastEvaluatedKey"):
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if len(found) >= limit:
            break
    return found[:limit]
