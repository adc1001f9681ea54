"""The caller profile table in DynamoDB: the worker's writes, and the operators' export and forget. The read
a connecting call waits on is ``profile_reader``'s; the document's rules are ``domain.profile``'s.

Table ``PROFILE_TABLE``, key ``pk`` + ``sk`` (strings):

* **A profile**: ``pk`` = the caller's identity (``domain.identity``: ``+14155550123``, ``web:<id>``,
  ``whatsapp:<id>``), ``sk`` = the memory scope: ``shared``, or ``agent#<agent id>`` with
  ``MEMORY_SCOPE=agent`` (so agents' profiles stay apart exactly as their memories do). Attributes:
  ``kind`` = ``profile``; ``version`` (N, the optimistic lock); ``last_started`` (N, unix seconds of the
  newest call, for people reading the table); ``expires_at`` (N, unix seconds, the table's TTL
  attribute); ``doc`` (S, the profile document as JSON: all that ``client_data`` reads); ``calls_seen``
  (S, JSON ``[[start, conversation id], ...]`` of the calls counted: the worker's alone, never read while
  a call connects).
* **A retention ledger line** (``stores.retention_ledger``): ``pk`` = the caller, ``sk`` =
  ``retention#<call|note>#<id>``: when what that call (or note) left must be deleted.
* **Our own lines' marks** live in the same table under a partition of their own (``stores.line_marks``),
  never on a caller's item. Earlier versions set ``own_number`` = true on the item at a number's own key;
  such an attribute is kept as it is on a write and read as nothing.

**The newest call wins, whatever order jobs run in.** The worker reads the item (consistent read),
merges the call in (``domain.profile.merge``) and writes it back on condition that ``version`` is still
the one it read; when another job for the same caller wrote in between (``ConditionalCheckFailed``) it
reads and merges again. So two jobs at once lose nothing, and a repeated job writes nothing at all.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import identity
from agentic_memory.domain.profile import Mem0Snapshot, ProfileState, merge, without_call
from agentic_memory.observability import logger, mask_caller
from agentic_memory.stores import aws_clients
from agentic_memory.stores.profile_keys import (  # noqa: F401  (re-exported: where a profile lives)
    AGENT_SCOPE,
    KIND_PROFILE,
    SHARED_SCOPE,
    expired,
    item_key,
    scope_key,
)

if TYPE_CHECKING:
    from agentic_memory.domain.job import Job

MAX_WRITE_ATTEMPTS = 8
# What the worker manages on a profile item; anything else found there (an older version's own_number) is kept.
MANAGED = frozenset({"pk", "sk", "kind", "version", "last_started", "expires_at", "doc", "calls_seen"})


class ProfileConflict(Exception):
    """Other jobs kept winning the conditional write; the job fails and Lambda retries it."""


def dump(value: Any) -> str:
    """Compact, stable JSON for an item attribute."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _table(settings: Settings) -> str | None:
    return settings.profile_table


def _is_conflict(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _state(item: dict[str, Any] | None, now: float) -> ProfileState | None:
    """The profile of an item, or ``None`` when there is none (no item, a bare own-number mark, expired:
    DynamoDB deletes expired items only eventually, so the expiry is checked here too)."""
    if not item or item.get("kind", {}).get("S") != KIND_PROFILE or expired(item, now):
        return None
    doc = json.loads(item["doc"]["S"])
    seen = json.loads(item.get("calls_seen", {}).get("S") or "[]")
    return ProfileState(doc, seen)


def update(job: Job, mem0: Mem0Snapshot | None = None, *, verbatim: int = 0, settings: Settings | None = None) -> str:
    """Merge the call of ``job`` into its caller's profile (``profile.merge``; ``mem0`` and ``verbatim`` as
    it takes them): ``"written"``, ``"unchanged"`` (a repeat), or ``"disabled"`` (no ``PROFILE_TABLE``).

    Optimistic concurrency: read (consistent), ``merge``, ``PutItem`` on condition that ``version`` is
    unchanged; a lost race reads and merges again, up to ``MAX_WRITE_ATTEMPTS``. Raises DynamoDB's
    errors (boto3 has retried the passing ones) and ``ProfileConflict``: the job then fails and Lambda
    retries it, which is safe because the memory writes are idempotent and so is this.
    """
    return rewrite(
        job.caller_id,
        job.app_id,
        lambda current: _written(merge(current, job, mem0, verbatim=verbatim)),
        settings=settings,
    )


def remove_call(caller: str, app_id: str | None, conversation_id: str, *, settings: Settings | None = None) -> str:
    """Take the call ``conversation_id`` out of ``caller``'s profile (``profile.without_call``: an answering
    machine took it): ``"written"``, ``"unchanged"`` (the profile holds nothing of it, or there is none) or
    ``"disabled"``. The same optimistic concurrency and errors as ``update``."""
    return rewrite(caller, app_id, lambda current: _written(without_call(current, conversation_id)), settings=settings)


def _written(state: ProfileState | None) -> tuple[str, ProfileState | None]:
    """A pure change's result as ``rewrite`` takes it: ``None`` changes nothing."""
    return ("unchanged", None) if state is None else ("written", state)


def counts_call(job: Job, *, settings: Settings | None = None) -> bool:
    """Whether the caller's profile already counts ``job``'s conversation (a repeated delivery or a retried
    job): the profile then keeps the Mem0 part it has (``profile.merge``), so the worker need not read the
    caller's Mem0 memories for it (issue 23). One ``GetItem`` of the counted calls; ``False`` without
    ``PROFILE_TABLE`` or a profile. DynamoDB errors propagate."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return False
    found = (
        aws_clients.client("dynamodb")
        .get_item(TableName=table, Key=item_key(job.caller_id, job.app_id), ProjectionExpression="kind, calls_seen")
        .get("Item")
    )
    if not found or found.get("kind", {}).get("S") != KIND_PROFILE:
        return False
    seen = json.loads(found.get("calls_seen", {}).get("S") or "[]")
    return any(str(entry[1]) == job.conversation_id for entry in seen)


def read(caller: str, app_id: str | None, *, settings: Settings | None = None) -> ProfileState | None:
    """The profile of ``caller`` in ``app_id``'s scope (consistent read), or ``None``."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return None
    found = aws_clients.client("dynamodb").get_item(
        TableName=table, Key=item_key(_checked(caller), app_id), ConsistentRead=True
    )
    return _state(found.get("Item"), time.time())


def rewrite(
    caller: str,
    app_id: str | None,
    change: Callable[[ProfileState | None], tuple[str, ProfileState | None]],
    *,
    drop_expired: bool = False,
    settings: Settings | None = None,
) -> str:
    """Apply ``change`` to the profile of ``caller`` in ``app_id``'s scope, as ``update`` merges a call: read
    (consistent), ``change(state)`` -> ``("unchanged" | "written" | "deleted", new state)``, then write on
    condition that ``version`` is still the one read, again after a lost race. ``"deleted"`` removes the
    profile (an own-number mark on the same item is kept). Returns what was done, or ``"disabled"`` without
    ``PROFILE_TABLE``. Used by the retention sweep and the operators' edits (``domain.profile_edits``);
    ``drop_expired``: a profile past its ``expires_at`` that DynamoDB's TTL has not removed yet is deleted
    (the retention sweep) instead of being treated as absent. Raises DynamoDB's errors and ``ProfileConflict``."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return "disabled"
    client = aws_clients.client("dynamodb")
    key = item_key(_checked(caller), app_id)
    for attempt in range(MAX_WRITE_ATTEMPTS):
        found = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        now = time.time()
        if drop_expired and found and found.get("kind", {}).get("S") == KIND_PROFILE and expired(found, now):
            outcome, changed = "deleted", None
        else:
            outcome, changed = change(_state(found, now))
        if outcome == "unchanged" or (outcome == "deleted" and found is None):
            return "unchanged"
        version = int(found["version"]["N"]) if found and "version" in found else 0
        rest = {name: value for name, value in (found or {}).items() if name not in MANAGED}
        condition: dict[str, Any]
        if found is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        elif "version" not in found:
            condition = {"ConditionExpression": "attribute_not_exists(version)"}
        else:
            condition = {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(version)}},
            }
        try:
            if outcome == "deleted" and set(rest) <= {"pk", "sk"}:
                client.delete_item(TableName=table, Key=key, **condition)
            elif outcome == "deleted":
                client.put_item(TableName=table, Item={**rest, **key}, **condition)
            elif changed is not None:
                item = {**rest, **key, "kind": {"S": KIND_PROFILE}, "version": {"N": str(version + 1)}}
                item["doc"] = {"S": dump(changed.doc)}
                item["calls_seen"] = {"S": dump(changed.seen)}
                if changed.doc.get("last"):
                    item["last_started"] = {"N": str(int(changed.doc["last"]["started"]))}
                if changed.doc.get("expires_at"):
                    item["expires_at"] = {"N": str(int(changed.doc["expires_at"]))}
                client.put_item(TableName=table, Item=item, **condition)
        except Exception as error:
            if not _is_conflict(error):
                raise
            logger.info("profile changed meanwhile; changing it again", extra={"attempt": attempt + 1})
            # Jitter so racing jobs part ways; not security, so the standard generator is right here.
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # nosec B311
            continue
        return outcome
    raise ProfileConflict(f"the profile kept changing during {MAX_WRITE_ATTEMPTS} attempts")


def _items(client: Any, table: str, caller: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": caller}},
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**query)
        items.extend(page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _checked(caller: str) -> str:
    if not identity.is_identity(caller):
        raise ValueError("not a caller identity")
    return caller


def export(caller: str, *, settings: Settings | None = None) -> list[dict[str, Any]] | None:
    """Every item the profile table holds for ``caller`` (all scopes), as plain JSON-ready dicts:
    ``{"scope", "kind" ("profile" | "own_number"), "profile", "calls_counted", "expires_at", "version"}``.
    ``None`` without ``PROFILE_TABLE``. Raises ``ValueError`` for a non-identity, DynamoDB's errors."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return None
    exported = []
    for item in _items(aws_clients.client("dynamodb"), table, _checked(caller)):
        if item.get("kind", {}).get("S") == "retention":  # a retention ledger line (stores.retention_ledger)
            exported.append(
                {
                    "kind": "retention",
                    "deletes": item.get("entry_kind", {}).get("S", ""),
                    "ref": item.get("ref", {}).get("S", ""),
                    "due_at": int(item.get("due_at", {}).get("N") or 0),
                }
            )
            continue
        entry: dict[str, Any] = {
            "scope": item["sk"]["S"],
            "kind": "own_number" if item.get("own_number", {}).get("BOOL") else item.get("kind", {}).get("S", ""),
        }
        if "doc" in item:
            entry["profile"] = json.loads(item["doc"]["S"])
            entry["calls_counted"] = json.loads(item.get("calls_seen", {}).get("S") or "[]")
        for name in ("expires_at", "version"):
            if name in item:
                entry[name] = int(item[name]["N"])
        exported.append(entry)
    return exported


def forget(caller: str, *, settings: Settings | None = None) -> int | None:
    """Delete every item of ``caller`` in the profile table (all scopes); the number deleted, ``None``
    without ``PROFILE_TABLE``. Raises ``ValueError`` for a non-identity, DynamoDB's errors. A job still
    running for this caller can write a profile again afterwards, as it can write memories."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return None
    client = aws_clients.client("dynamodb")
    items = _items(client, table, _checked(caller))
    for item in items:
        client.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    logger.info("caller profile forgotten", extra={"caller": mask_caller(caller), "items": len(items)})
    return len(items)


def reset() -> None:
    """Nothing is cached here any more (earlier versions cached their own-number marks); kept for the
    tests' and SnapStart's after-restore hook, which call it."""
    return None
