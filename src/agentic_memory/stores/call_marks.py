"""Two small records per outbound Twilio call, so that a call's memories and Twilio's answering-machine
verdict for it find each other whichever arrives first (``domain.answering_machine``; E1).

Both live in the idempotency table (``IDEMPOTENCY_TABLE``: key ``id``, TTL attribute ``expiration``, as
Powertools' records and ``idempotency.mark_ingested``'s marker do):

* **the machine mark** ``agentic-memory#machine#<conversation id>``: the verdict said a machine (or a fax)
  took the call. Holds the verdict and no personal data; kept ``MACHINE_EXPIRY_SECONDS`` (as long as the
  ingested marker, so that backfill months later still leaves the call out).
* **the written record** ``agentic-memory#call#<conversation id>``: the worker is writing (or wrote) this
  call's memories, and for whom: the caller's identity and the memory scope, which a verdict arriving
  later needs to find them (the verdict names the conversation only). It holds a caller's identity, so
  it is written only for calls a verdict can come for (outbound Twilio), kept ``CALL_EXPIRY_SECONDS``, and
  deleted once a verdict has been dealt with.

The worker writes its record before writing memories and looks for the mark after; the verdict's job
writes the mark before looking for the record (``worker.machine_verdict``). With consistent reads one of
the two always sees the other, so a machine's call is never left remembered by a race. Without
``IDEMPOTENCY_TABLE`` every function here does nothing (returns ``None`` / ``False``). DynamoDB's errors
propagate: the job fails and Lambda retries it.
"""

from __future__ import annotations

import time

from agentic_memory.config import get_settings
from agentic_memory.stores import aws_clients, idempotency

MACHINE_PREFIX = "agentic-memory#machine#"
CALL_PREFIX = "agentic-memory#call#"
MACHINE_EXPIRY_SECONDS = 400 * 86400
CALL_EXPIRY_SECONDS = 2 * 86400  # the verdict comes during the call or soon after it (E1)
SHARED = "-"  # the scope attribute of the shared memory scope (app_id None)


def note_machine(conversation_id: str, verdict: str) -> bool:
    """Record that a machine took ``conversation_id`` (Twilio's ``verdict``). ``False`` without a table."""
    written = idempotency.put_marker(
        MACHINE_PREFIX + conversation_id,
        expires_in=MACHINE_EXPIRY_SECONDS,
        status="MACHINE",
        attributes={"verdict": {"S": verdict[:40]}, "noted_at": {"N": str(int(time.time()))}},
    )
    return written is not None


def machine_verdict(conversation_id: str) -> str | None:
    """The machine verdict recorded for ``conversation_id``, or ``None`` (none, or no table)."""
    item = idempotency.get_marker(MACHINE_PREFIX + conversation_id)
    return (item.get("verdict", {}).get("S") or "machine") if item else None


def note_written(conversation_id: str, caller_id: str, app_id: str | None) -> bool:
    """Record that this call's memories are being written for ``caller_id`` in ``app_id``'s scope.
    ``False`` without a table."""
    written = idempotency.put_marker(
        CALL_PREFIX + conversation_id,
        expires_in=CALL_EXPIRY_SECONDS,
        status="WRITTEN",
        attributes={
            "caller": {"S": caller_id},
            "scope": {"S": SHARED if app_id is None else app_id},
            "written_at": {"N": str(int(time.time()))},
        },
    )
    return written is not None


def written_call(conversation_id: str) -> tuple[str, str | None, int] | None:
    """``(caller, app_id, written_at unix seconds)`` of the call whose memories were written, or ``None``."""
    item = idempotency.get_marker(CALL_PREFIX + conversation_id)
    if item is None or "caller" not in item:
        return None
    scope = item.get("scope", {}).get("S", SHARED)
    return item["caller"]["S"], None if scope == SHARED else scope, int(item.get("written_at", {}).get("N", "0"))


def forget_written(conversation_id: str) -> None:
    """Delete the written record (the caller's identity goes with it)."""
    table = get_settings().idempotency_table
    if table:
        aws_clients.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": CALL_PREFIX + conversation_id}})
