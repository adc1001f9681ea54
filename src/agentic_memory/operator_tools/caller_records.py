"""Everything held about one caller, defined once: what an access request exports
(scripts/export_caller.py) and what a deletion request erases (scripts/forget_caller.py).

Held about a caller (their identity: ``+14155550123``, ``web:<id>``, ``whatsapp:<id>``):

* ``mem0_memories``: every Mem0 record whose ``user_id`` is the identity, in every agent scope
  (``app_id``) and including superseded facts; text, metadata (conversation id, agent, date, kind),
  timestamps and expiry, as Mem0 returns them.
* ``caller_profile``: the caller's item(s) in the DynamoDB profile table (``PROFILE_TABLE``): one per
  memory scope, read and deleted by ``profile_table.export`` / ``profile_table.forget``, when the stack has
  that table.

Not held about a caller, so neither exported nor erased: the idempotency table's records (Powertools
stores a hash of the write key and ``{"written": n}``; the "ingested" markers store a conversation id and
the caller masked as ``mask_caller`` does), and logs (callers appear masked only). ElevenLabs keeps its
own conversation history; erasing it is done in ElevenLabs (and a later backfill would otherwise import it
again, unless its "ingested" marker is still there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentic_memory.config import get_settings
from agentic_memory.domain.memory_labels import record_kind
from agentic_memory.stores import mem0, profile_table

MEM0_MEMORIES = "mem0_memories"
CALLER_PROFILE = "caller_profile"
HOLDINGS = {
    MEM0_MEMORIES: "Mem0: every memory whose user_id is the caller (all agent scopes, superseded facts included)",
    CALLER_PROFILE: "DynamoDB PROFILE_TABLE: the caller's profile items (one per memory scope), when the stack has one",
}


def profile_items(identity: str) -> list[dict[str, Any]]:
    """The caller's profile item(s) (every scope), as ``profile_table.export`` gives them; ``[]`` without a
    ``PROFILE_TABLE``."""
    return profile_table.export(identity) or []


def counts(identity: str, store: Any = None) -> dict[str, int]:
    """How much is held: ``{"mem0_memories": n, "caller_profile": n}``."""
    store = store or mem0.get_store("worker")
    return {
        MEM0_MEMORIES: len(store.every_record(identity)),
        CALLER_PROFILE: len(profile_items(identity)),
    }


def export(identity: str, store: Any = None) -> dict[str, Any]:
    """Everything held about ``identity``, as one JSON-ready document for an access request."""
    store = store or mem0.get_store("worker")
    settings = get_settings()
    records = store.every_record(identity)
    profile = profile_items(identity)
    return {
        "caller": identity,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "holdings": HOLDINGS,
        "sources": {
            MEM0_MEMORIES: {"host": settings.mem0_host},
            CALLER_PROFILE: {"table": settings.profile_table},
        },
        "counts": {MEM0_MEMORIES: len(records), CALLER_PROFILE: len(profile)},
        MEM0_MEMORIES: records,
        # What each memory is (call_summary, fact, conversation): a call's summary and facts share one
        # metadata in Mem0 since they are written in one add (domain.memory_labels.record_kind).
        "memory_kinds": {
            str(record.get("id")): record_kind(str(record.get("memory") or ""), record.get("metadata"))
            for record in records
        },
        CALLER_PROFILE: profile,
    }


def erase(identity: str, store: Any = None) -> None:
    """Delete everything held about ``identity``: its Mem0 memories (``delete_all``, which Mem0 may finish
    a moment later) and its profile item(s) (``profile_table.forget``)."""
    store = store or mem0.get_store("worker")
    store.forget(identity)
    profile_table.forget(identity)
