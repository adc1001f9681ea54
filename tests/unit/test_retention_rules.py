"""Retention's rules, the profile's changes other than a call, and a memory's provenance: pure functions."""

from __future__ import annotations

import json
from datetime import date

import pytest

from agentic_memory.domain import profile_edits, provenance, retention
from agentic_memory.domain.job import Job
from agentic_memory.domain.profile import Mem0Snapshot, ProfileState, merge, remembered
from agentic_memory.domain.remembered import MemoryRecord
from tests.support import CALLER, load_event

DAY = 86_400
NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("started", "deletion", "days", "expected"),
    [
        (NOW, None, None, None),  # nothing says to delete: kept
        (NOW, None, 30, NOW + 30 * DAY),
        (NOW, NOW + DAY, 30, NOW + DAY),  # the workspace's deletion time comes first
        (NOW, NOW + 40 * DAY, 30, NOW + 30 * DAY),
        (NOW, NOW - 60, None, NOW - 60),  # a deletion time already past: due at once
        (None, None, 2, NOW + 2 * DAY),  # no start: counted from now
    ],
)
def test_the_due_time_is_the_earlier_of_retention_and_the_deletion_settings(started, deletion, days, expected):
    assert retention.delete_at(started, deletion, days, now=NOW) == expected


def test_mem0s_expiration_date_is_the_due_days_utc_date_and_old_jobs_are_due_when_it_ends():
    due = 1_800_003_599  # 2027-01-15 08:59:59 UTC
    assert retention.expiration_day(due) == date(2027, 1, 15)
    assert retention.expiration_day(due).isoformat() == "2027-01-15"
    assert retention.due_from_day(date(2027, 1, 15)) == 1_800_057_600  # 2027-01-16 00:00 UTC
    old = Job.model_validate({**load_event("post_call_job.json"), "expires_on": "2027-01-15"})
    assert old.delete_at is None
    assert old.due_at == 1_800_057_600
    new = Job.model_validate({**load_event("post_call_job.json"), "delete_at": due, "expires_on": "2027-01-15"})
    assert new.due_at == due


def test_a_line_is_settled_an_hour_after_it_was_recorded():
    entry = retention.DueEntry(CALLER, retention.CALL, "conv_1", NOW, recorded_at=NOW)
    assert not entry.settled(NOW + retention.SETTLE_SECONDS - 1)
    assert entry.settled(NOW + retention.SETTLE_SECONDS)
    assert entry.reference_key == "conversation_id"
    assert retention.DueEntry(CALLER, retention.NOTE, "note-0123456789ab", NOW, NOW).reference_key == "note_id"


def _job(conversation: str, started: int, **changes) -> Job:
    event = load_event("post_call_job.json")
    event.update(conversation_id=conversation, start_time_unix_secs=started, **changes)
    return Job.model_validate(event)


def _two_calls() -> ProfileState:
    state = merge(None, _job("conv_old", NOW, caller_name="Maria Lopez", data_collection={"city": "Portland"}))
    return merge(state, _job("conv_new", NOW + DAY, caller_name=None, data_collection={"plan": "gold"}))


def test_without_takes_out_what_the_due_call_gave_and_keeps_the_rest():
    state = _two_calls()
    fresh = Mem0Snapshot(("Likes jazz.",), "", 3, NOW + 2 * DAY)
    outcome, trimmed = profile_edits.without(state, calls={"conv_old"}, snapshot=fresh)
    assert outcome == profile_edits.WRITE
    assert [entry[1] for entry in trimmed.seen] == ["conv_new"]
    assert trimmed.doc["calls"] == 1
    assert trimmed.doc["name"] == ""  # the name came from the due call
    assert set(trimmed.doc["facts"]) == {"plan"}
    assert trimmed.doc["last"]["conversation_id"] == "conv_new"
    assert trimmed.doc["mem0"]["facts"] == ["Likes jazz."]
    assert trimmed.doc["first_seen"] == NOW + DAY


def test_without_rebuilds_the_last_call_from_mem0_when_the_newest_call_is_due_first():
    state = _two_calls()
    older = MemoryRecord(
        "The caller asked about vases.",
        {"kind": "call_summary", "conversation_id": "conv_old", "started": NOW, "date": "2027-01-15", "title": "Vases"},
    )
    # Given a profile that keeps its recent calls (the caller brief): the last call is the newest one left there
    outcome, trimmed = profile_edits.without(state, calls={"conv_new"}, remaining=[older])
    assert outcome == profile_edits.WRITE
    assert trimmed.doc["last"]["conversation_id"] == "conv_old"
    assert trimmed.doc["last"]["summary"] == state.doc["recent"][1]["summary"]
    # Given a profile written before the brief (no recent calls): the last call is rebuilt from Mem0's summaries
    before_brief = ProfileState({key: value for key, value in state.doc.items() if key != "recent"}, state.seen)
    outcome, trimmed = profile_edits.without(before_brief, calls={"conv_new"}, remaining=[older])
    assert outcome == profile_edits.WRITE
    assert trimmed.doc["last"]["conversation_id"] == "conv_old"
    assert trimmed.doc["last"]["summary"] == "The caller asked about vases."


def test_without_deletes_the_profile_when_nothing_is_left_and_changes_nothing_for_another_call():
    state = _two_calls()
    assert profile_edits.without(state, calls={"conv_old", "conv_new"}) == (profile_edits.DELETE, None)
    assert profile_edits.without(state, calls={"conv_elsewhere"}) == (profile_edits.KEEP, None)
    assert profile_edits.without(None, calls={"conv_old"}) == (profile_edits.KEEP, None)


def test_a_note_leads_the_greeting_and_goes_with_its_ledger_line():
    note = {"id": "note-0123456789ab", "text": "Call after 10 am.", "author": "local:ana", "added_at": NOW}
    state = profile_edits.with_note(_two_calls(), note)
    assert remembered(state.doc).facts[0] == "Call after 10 am."
    # a profile with only a note still greets the caller as known
    alone = profile_edits.with_note(None, note)
    assert remembered(alone.doc).returning
    outcome, trimmed = profile_edits.without(alone, notes={"note-0123456789ab"})
    assert (outcome, trimmed) == (profile_edits.DELETE, None)


def test_a_name_set_by_hand_holds_until_a_newer_call_gives_one():
    state = profile_edits.renamed(_two_calls(), "Mary Lopez", NOW + 2 * DAY)
    assert remembered(state.doc).name == "Mary Lopez"
    later = merge(state, _job("conv_later", NOW + 3 * DAY, caller_name="Maria Lopez"))
    assert remembered(later.doc).name == "Maria Lopez"
    with pytest.raises(ValueError, match="not a usable name"):
        profile_edits.renamed(state, "{{system__prompt}}", NOW)


def test_removing_a_fact_memory_takes_its_field_out_of_the_profile():
    state = _two_calls()
    fact = MemoryRecord("Plan: gold", {"kind": "fact", "conversation_id": "conv_new"})
    outcome, changed = profile_edits.after_removed(state, fact, None)
    assert outcome == profile_edits.WRITE
    assert "plan" not in changed.doc["facts"]
    assert "city" in changed.doc["facts"]


def test_provenance_says_which_call_or_who_added_it():
    call = provenance.of(
        {"kind": "fact", "conversation_id": "conv_1", "agent_id": "agent_7", "date": "2026-11-02"}, "2026-11-02T10:00"
    )
    assert call.describe() == "call conv_1 on 2026-11-02, agent agent_7 (collected by the agent)"
    note = provenance.of(provenance.note_metadata("note-0123456789ab", "arn:aws:sts::1:assumed-role/Ops/ana", NOW))
    assert note.describe() == "added by hand by arn:aws:sts::1:assumed-role/Ops/ana on 2027-01-15"
    corrected = provenance.of(provenance.corrected_metadata({"conversation_id": "conv_1"}, "local:bo", NOW))
    assert corrected.describe().endswith("; corrected by local:bo")
    assert provenance.of(None).source == "unknown"
    with pytest.raises(ValueError, match="note id"):
        provenance.note_metadata("note-x", "a", NOW)


def test_a_due_calls_brief_leaves_with_it():
    # Given a caller whose newer call left a follow-up and a preference, and an older call that left neither
    older = _job("conv_old", NOW, caller_name="Maria Lopez", data_collection={"city": "Portland"})
    newer = _job(
        "conv_new",
        NOW + DAY,
        caller_name=None,
        data_collection={"follow_up": "Call back about the refund.", "preferences": "contact: email"},
    )
    state = merge(merge(None, older), newer)
    assert remembered(state.doc).follow_up == "Call back about the refund."
    # When retention deletes the newer call
    outcome, trimmed = profile_edits.without(state, calls={"conv_new"})
    # Then its follow-up, its preference and its place among the recent calls are gone; the older call stays
    assert outcome == profile_edits.WRITE
    brief = remembered(trimmed.doc)
    assert brief.follow_up == ""
    assert not any("email" in fact for fact in brief.facts)
    assert [entry["conversation_id"] for entry in trimmed.doc["recent"]] == ["conv_old"]
    assert "refund" not in json.dumps(trimmed.doc)
