"""When what a call (or a note added by hand) left behind must go: the rules of retention, no I/O.

Mem0's ``expiration_date`` only hides a memory: "Expiration hides a memory, it does not delete it";
``get(memory_id)`` still returns it, ``show_expired`` brings it back, and a malformed date is treated as
never expiring (Mem0 docs, platform/features/memory-expiration; ../shared/platform-notes/refresh-2026-12.md
M1). So the promise that memories are kept ``MEMORY_RETENTION_DAYS`` days, or until the workspace's
deletion time for the call (``metadata.deletion_settings.deletion_time_unix_secs``, DESIGN.md 3.3), rests
on a real delete: the worker records each call's due time in a ledger (``stores.retention_ledger``) before
it writes anything, and a scheduled sweep (``worker.retention_sweep``) deletes what is due from Mem0 by id
and trims the caller profile (``domain.profile_edits.without``). ``expiration_date`` stays as a first line,
always a valid ``YYYY-MM-DD`` (UTC) of the due time, so that Mem0 hides what the sweep has not reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

SECONDS_PER_DAY = 86_400
# An entry recorded less than this long ago is looked at once more after it is swept: Mem0 extracts an
# ``infer=True`` add after answering it (DESIGN.md section 4; its own Zapier app waits up to 60 s, notes
# 2.2), so a call due at once could gain memories after the first sweep found none.
SETTLE_SECONDS = 3_600
# A due entry older than this is overdue: the sweep runs every 15 minutes, so it has failed for half a day, and the
# "within a day of the due date" promise is at risk (counted as RetentionSweepFailed, which alarms).
OVERDUE_SECONDS = 12 * 3_600

EntryKind = Literal["call", "note"]
CALL: EntryKind = "call"
NOTE: EntryKind = "note"
# The metadata key whose value names what an entry stands for: a call's memories carry the conversation
# id (domain.memory_writes), a note's its note id (domain.provenance.note_metadata).
REFERENCE_KEYS: dict[str, str] = {CALL: "conversation_id", NOTE: "note_id"}


def delete_at(started: int | None, deletion_time: int | None, retention_days: int | None, *, now: int) -> int | None:
    """Unix seconds when a call's memories are due for deletion: ``retention_days`` after the call's start
    (``now`` when the start is unknown), or the workspace's ``deletion_time`` for the call, whichever comes
    first; ``None`` keeps them."""
    candidates = []
    if retention_days:
        candidates.append((started or now) + retention_days * SECONDS_PER_DAY)
    if deletion_time:
        candidates.append(deletion_time)
    return min(candidates) if candidates else None


def expiration_day(due: int) -> date:
    """The day (UTC) Mem0's ``expiration_date`` names for a due time: Mem0 evaluates the date in UTC and
    keeps showing the memory through that day (memory-expiration docs), so it hides it from the next day on,
    and the sweep has deleted it by then."""
    return datetime.fromtimestamp(due, UTC).date()


def due_from_day(day: date) -> int:
    """A due time for a job written before due times were kept (it only had ``expires_on``): the end of
    that day, when Mem0 stops showing the memory."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + SECONDS_PER_DAY


def iso_day(seconds: int) -> str:
    """``YYYY-MM-DD`` (UTC) of unix ``seconds``, for people reading an export or the tool."""
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


@dataclass(frozen=True, slots=True)
class DueEntry:
    """One line of the retention ledger: what ``ref`` left under ``caller`` (in ``app_id``'s memory scope)
    must be deleted at ``due_at`` (unix seconds). ``kind``: ``call`` (``ref`` is the conversation id) or
    ``note`` (a note added by hand; ``ref`` is its note id). ``recorded_at``: when it was written."""

    caller: str
    kind: EntryKind
    ref: str
    due_at: int
    recorded_at: int
    app_id: str | None = None

    @property
    def reference_key(self) -> str:
        """The memories' metadata key that holds ``ref``."""
        return REFERENCE_KEYS[self.kind]

    def settled(self, now: int) -> bool:
        """Whether Mem0 has surely finished extracting what was written for it (``SETTLE_SECONDS``)."""
        return now >= self.recorded_at + SETTLE_SECONDS
