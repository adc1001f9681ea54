"""Where a caller's profile lives in the profile table: its key and the two attributes every reader checks.

Shared by the worker's writes (``profile_table``) and the reads a caller waits on (``profile_reader``), so
that ``retrieve``, which reads only our lines' marks through the profile reader, never loads the worker's
profile code (``profile_table``'s merge, ``domain.profile``).
"""

from __future__ import annotations

from typing import Any

SHARED_SCOPE = "shared"
AGENT_SCOPE = "agent#"
KIND_PROFILE = "profile"


def scope_key(app_id: str | None) -> str:
    """The sort key of a scope: ``shared`` (``app_id`` None), else ``agent#<app_id>``."""
    return SHARED_SCOPE if app_id is None else f"{AGENT_SCOPE}{app_id}"


def item_key(pk: str, app_id: str | None) -> dict[str, Any]:
    """The DynamoDB key (``pk``, ``sk``) of ``pk`` in ``app_id``'s scope."""
    return {"pk": {"S": pk}, "sk": {"S": scope_key(app_id)}}


def expired(item: dict[str, Any], now: float) -> bool:
    """Whether an item's ``expires_at`` (unix seconds) has passed: DynamoDB's TTL deletes expired items
    only eventually, so every read checks it too."""
    raw = item.get("expires_at", {}).get("N")
    return raw is not None and int(raw) <= now
