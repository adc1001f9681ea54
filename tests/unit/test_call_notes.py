"""A call's summary and collected facts in one Mem0 add (issue 23): planned as one write, and read back as
what each memory is, by every reader (greeting, profile, export), for new memories and for older ones."""

from __future__ import annotations

from agentic_memory.domain.job import Job
from agentic_memory.domain.memory_labels import (
    KIND_CONVERSATION,
    KIND_FACT,
    KIND_NOTES,
    KIND_SUMMARY,
    SUMMARY_DIGEST,
    record_kind,
    text_digest,
)
from agentic_memory.domain.memory_writes import plan_writes
from agentic_memory.domain.profile import snapshot
from agentic_memory.domain.remembered import MemoryRecord, from_records

CALLER = "+16129782029"


def job(**fields) -> Job:
    base = {
        "conversation_id": "conv_notes_1",
        "caller_id": CALLER,
        "agent_id": "agent_1",
        "start_time_unix_secs": 1_795_000_000,
        "turns": [{"role": "user", "content": "I'd like weekday morning deliveries."}],
        "summary": "Maria asked to move her deliveries to weekday mornings.",
        "title": "Delivery change",
        "call_successful": "success",
        "data_collection": {"delivery_preference": "weekday mornings", "order_id": "A-1042"},
        "caller_name": "Maria Lopez",
    }
    return Job(**(base | fields))


def stored(write) -> list[MemoryRecord]:
    """What Mem0 keeps of an infer=False add: each message verbatim, the add's metadata on every one
    (direct-import docs; openapi memories_add_v3: metadata is attached to each memory)."""
    return [
        MemoryRecord(message["content"], dict(write.metadata), f"2026-11-21T10:00:0{i}Z", f"m{i}")
        for i, message in enumerate(write.messages)
    ]


def test_a_call_is_two_adds_the_conversation_and_its_notes():
    conversation, notes = plan_writes(job())
    assert (conversation.kind, conversation.infer) == (KIND_CONVERSATION, True)
    assert (notes.kind, notes.infer) == (KIND_NOTES, False)
    texts = [message["content"] for message in notes.messages]
    assert texts[0] == job().summary
    assert texts[1:] == [
        "Caller's name is Maria Lopez.",
        "Delivery preference: weekday mornings",
        "Order id: A-1042",
    ]
    assert notes.metadata[SUMMARY_DIGEST] == text_digest(job().summary)
    assert notes.metadata["fields"] == ["delivery_preference", "order_id"]


def test_each_stored_note_reads_back_as_what_it_is():
    _, notes = plan_writes(job())
    kinds = [record_kind(record.text, record.metadata) for record in stored(notes)]
    assert kinds == [KIND_SUMMARY, KIND_FACT, KIND_FACT, KIND_FACT]


def test_the_summary_is_told_apart_whatever_whitespace_mem0_gives_back():
    _, notes = plan_writes(job())
    assert record_kind("  Maria asked to move her deliveries\nto weekday  mornings. ", notes.metadata) == KIND_SUMMARY


def test_older_memories_keep_their_own_kinds_and_unknown_ones_are_nothing_of_ours():
    assert record_kind("x", {"kind": "call_summary"}) == KIND_SUMMARY
    assert record_kind("x", {"kind": "fact"}) == KIND_FACT
    assert record_kind("x", {"kind": "conversation"}) == KIND_CONVERSATION
    assert record_kind("x", {"kind": "something else"}) == ""
    assert record_kind("x", None) == ""
    # A notes memory without a digest (no summary that call) is a fact
    assert record_kind("Order id: A-1", {"kind": KIND_NOTES}) == KIND_FACT


def test_a_call_with_facts_only_or_a_summary_only_is_still_one_notes_add():
    [_, facts_only] = plan_writes(job(summary=None, title=None))
    assert SUMMARY_DIGEST not in facts_only.metadata
    assert all(record_kind(r.text, r.metadata) == KIND_FACT for r in stored(facts_only))
    [_, summary_only] = plan_writes(job(data_collection={}, caller_name=None))
    assert [record_kind(r.text, r.metadata) for r in stored(summary_only)] == [KIND_SUMMARY]


def test_a_fact_worded_exactly_as_the_summary_is_stored_once_as_the_summary():
    [_, notes] = plan_writes(job(summary="Order id: A-1042"))
    texts = [message["content"] for message in notes.messages]
    assert texts.count("Order id: A-1042") == 1
    first = stored(notes)[0]
    assert record_kind(first.text, first.metadata) == KIND_SUMMARY


def test_the_greeting_reads_the_last_summary_and_the_collected_facts_from_notes():
    _, notes = plan_writes(job())
    remembered = from_records(4, list(reversed(stored(notes))))  # newest first, as MemoryStore.recent sorts
    assert remembered.last_summary == job().summary
    assert remembered.last_date == "2026-11-18"  # the call started at 1,795,000,000 (UTC)
    assert remembered.name == "Maria Lopez"
    assert "Delivery preference: weekday mornings" in remembered.facts
    assert job().summary not in remembered.facts


def test_the_profiles_mem0_part_leaves_the_summary_out():
    _, notes = plan_writes(job())
    part = snapshot(4, stored(notes), read_at=1.0)
    assert job().summary not in part.facts
    assert "Order id: A-1042" in part.facts
    assert part.name == "Maria Lopez"
