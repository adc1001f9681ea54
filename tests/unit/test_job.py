"""Post-call payload -> job -> planned Mem0 writes."""

from __future__ import annotations

import json

import pytest

from agentic_memory.config import load_settings
from agentic_memory.domain.conversation import TranscriptionData
from agentic_memory.domain.job import MAX_JOB_BYTES, Job, build_job, unix_seconds
from agentic_memory.domain.memory_labels import record_kind
from agentic_memory.domain.memory_writes import plan_writes
from agentic_memory.domain.names import said_name
from agentic_memory.domain.worth_remembering import reason_not_remembered as not_remembered
from tests.support import load_event


def sample_data(**overrides) -> TranscriptionData:
    data = json.loads(load_event("post_call.json")["body"])["data"]
    data.update(overrides)
    return TranscriptionData.model_validate(data)


def job_for(data: TranscriptionData, **env) -> Job:
    return build_job(data, caller_id="+16129782029", event_timestamp=1795253495, settings=load_settings())


def test_job_keeps_what_the_writes_need():
    job = job_for(sample_data())
    assert job.conversation_id == "conv_01jexample0000000000000001"
    assert job.caller_id == "+16129782029"
    assert job.caller_name == "Maria Lopez"
    # The checked name travels as caller_name; the raw field is not repeated as a fact.
    assert job.data_collection == {"delivery_preference": "weekday mornings"}
    assert job.call_successful == "success"
    assert [t.role for t in job.turns][:2] == ["assistant", "user"]
    assert all(t.content for t in job.turns)  # the null agent message is dropped


def test_job_matches_the_sample_worker_event():
    assert job_for(sample_data()).model_dump(mode="json") == load_event("post_call_job.json")


def test_at_most_two_writes_for_a_long_call():
    turns = [{"role": "user" if i % 2 else "agent", "message": f"turn {i} " + "words " * 40} for i in range(200)]
    writes = plan_writes(job_for(sample_data(transcript=turns)))
    # The conversation, then the notes: the summary and the collected facts in one add (issue 23)
    assert len(writes) == 2
    conversation, notes = writes
    assert conversation.infer is True
    assert notes.infer is False
    assert notes.metadata["kind"] == "call_notes"
    assert notes.metadata["outcome"] == "success"
    assert notes.metadata["date"] == "2026-11-21"
    assert {w.metadata["conversation_id"] for w in writes} == {"conv_01jexample0000000000000001"}
    assert {w.metadata["agent_id"] for w in writes} == {"agent_7101k0example"}  # the agent in metadata only
    texts = [m["content"] for m in notes.messages]
    assert "Caller's name is Maria Lopez." in texts
    assert notes.metadata["caller_name"] == "Maria Lopez"
    # Each stored message reads back as what it is, by the one metadata they share
    kinds = [record_kind(text, notes.metadata) for text in texts]
    assert kinds == ["call_summary"] + ["fact"] * (len(texts) - 1)


def test_a_huge_transcript_is_bounded_keeping_start_and_end():
    turns = [{"role": "user", "message": f"turn {i} " + "x" * 1990} for i in range(400)]
    job = job_for(sample_data(transcript=turns))
    assert len(job.model_dump_json()) < 200_000
    assert job.turns[0].content.startswith("turn 0 ")
    assert job.turns[-1].content.startswith("turn 399 ")


def test_empty_call_plans_no_writes():
    data = sample_data(transcript=[], analysis={})
    assert plan_writes(job_for(data)) == []


class TestSaidName:
    def test_explicit_phrasings(self):
        assert said_name(["hi, my name is maria lopez and I need help"]) == "Maria"
        assert said_name(["Hello, my name is Maria Lopez."]) == "Maria Lopez"
        assert said_name(["you can call me Sam"]) == "Sam"

    def test_names_in_other_scripts_are_kept_as_written(self):
        assert said_name(["Hi, my name is Łukasz Nowak."]) == "Łukasz Nowak"
        assert said_name(["Здравствуйте, меня зовут Анна"]) == "Анна"
        assert said_name(["me llamo José"]) == "José"

    def test_no_guessing(self):
        assert said_name(["I live on Harbor Street in Portland."]) is None
        assert said_name(["my name is not important"]) is None

    def test_only_the_callers_own_turns_count(self):
        data = sample_data(
            transcript=[
                {"role": "agent", "message": "My name is Alex, your assistant."},
                {"role": "user", "message": "I need help with an order."},
            ],
            analysis={},
        )
        assert job_for(data).caller_name is None


def test_a_lowercase_word_after_the_name_is_not_part_of_it():
    assert said_name(["My name is Maria and I need help"]) == "Maria"


def test_a_placeholder_name_from_data_collection_is_no_name():
    data = sample_data(
        analysis={"data_collection_results": {"caller_name": {"value": "Unknown"}}},
        transcript=[{"role": "user", "message": "I need help with an order."}],
    )
    job = job_for(data)
    assert job.caller_name is None
    assert "caller_name" not in job.data_collection


def test_a_name_in_another_script_from_data_collection_is_kept():
    data = sample_data(analysis={"data_collection_results": {"caller_name": {"value": "Łukasz"}}})
    assert job_for(data).caller_name == "Łukasz"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1795253400, 1795253400),
        (1795253400123, 1795253400),  # milliseconds
        (1795253400123456, 1795253400),  # microseconds
        (17, None),
        (-5, None),
        (float("nan"), None),
        (True, None),
        ("1795253400", None),
    ],
)
def test_unix_seconds(value, expected):
    assert unix_seconds(value) == expected


def test_a_start_time_in_milliseconds_becomes_a_job_the_worker_can_use():
    data = sample_data(metadata={"start_time_unix_secs": 1795253400123, "call_duration_secs": 84})
    job = job_for(data)
    assert job.start_time_unix_secs == 1795253400
    assert plan_writes(job)[1].metadata["date"] == "2026-11-21"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"metadata": {"termination_reason": "webhook_detected_voicemail"}}, "voicemail"),
        ({"status": "failed"}, "failed"),
        ({"transcript": [{"role": "agent", "message": "Hello? Anyone there?"}]}, "caller_silent"),
        ({"transcript": [{"role": "user", "message": None}, {"role": "agent", "message": "Hi"}]}, "caller_silent"),
        ({}, None),
    ],
)
def test_calls_that_are_not_remembered(overrides, reason):
    assert not_remembered(sample_data(**overrides)) == reason


def test_the_bound_counts_bytes_so_long_calls_in_any_script_fit_an_async_invoke():
    turns = [{"role": "user", "message": "你好我想查询我的订单" * 100} for _ in range(400)]
    job = job_for(sample_data(transcript=turns))
    assert len(job.model_dump_json().encode("utf-8")) <= MAX_JOB_BYTES


def test_a_9000_turn_call_fits_whole_with_its_json_overhead():
    turns = [{"role": "user" if i % 2 else "agent", "message": f"ok {i}"} for i in range(9000)]
    job = job_for(sample_data(transcript=turns))
    assert len(job.model_dump_json().encode("utf-8")) <= MAX_JOB_BYTES
    assert job.turns[0].content == "ok 0"
    assert job.turns[-1].content == "ok 8999"


def test_a_call_full_of_control_characters_and_quotes_fits():
    nasty = ("\x00\x01\x1f\u202e" + '"\\' * 300) * 3
    turns = [{"role": "user", "message": nasty} for _ in range(2000)]
    summary = '"' * 4000
    data = sample_data(transcript=turns, analysis={"transcript_summary": summary})
    job = job_for(data)
    assert len(job.model_dump_json().encode("utf-8")) <= MAX_JOB_BYTES
    assert "\x00" not in job.model_dump_json()
    assert "\u202e" not in job.turns[0].content


def test_retention_sets_an_expiry_and_the_workspace_deletion_wins_when_sooner(monkeypatch):
    monkeypatch.setenv("MEMORY_RETENTION_DAYS", "30")
    settings = load_settings()
    data = sample_data(metadata={"start_time_unix_secs": 1795253400})
    job = build_job(data, caller_id="+16129782029", event_timestamp=None, settings=settings)
    assert job.expires_on.isoformat() == "2026-12-21"
    data = sample_data(
        metadata={"start_time_unix_secs": 1795253400, "deletion_settings": {"deletion_time_unix_secs": 1795858200}}
    )
    job = build_job(data, caller_id="+16129782029", event_timestamp=None, settings=settings)
    assert job.expires_on.isoformat() == "2026-11-28"


def test_agent_scope_sets_the_app_id(monkeypatch):
    monkeypatch.setenv("MEMORY_SCOPE", "agent")
    job = build_job(sample_data(), caller_id="+16129782029", event_timestamp=None, settings=load_settings())
    assert job.app_id == "agent_7101k0example"
    monkeypatch.delenv("MEMORY_SCOPE")
    assert job_for(sample_data()).app_id is None


def test_a_job_refuses_a_caller_id_that_is_not_an_identity():
    with pytest.raises(ValueError, match="not a caller identity"):
        Job(conversation_id="c", caller_id="*")


def test_the_brief_s_items_travel_in_the_job():
    # Given a call whose analysis filled the caller brief's data-collection items
    data = json.loads(load_event("post_call.json")["body"])["data"]
    results = data["analysis"]["data_collection_results"]
    results["follow_up"] = {"data_collection_id": "follow_up", "value": "Send the revised quote by Friday"}
    results["follow_up_done"] = {"data_collection_id": "follow_up_done", "value": True}
    results["preferences"] = {"data_collection_id": "preferences", "value": "contact: email"}
    job = job_for(TranscriptionData.model_validate(data))
    # Then the follow-up and preferences are collected facts (Mem0 keeps them too), and the settled flag
    # is the job's own field, never a fact worth a memory
    assert job.data_collection == {
        "delivery_preference": "weekday mornings",
        "follow_up": "Send the revised quote by Friday",
        "preferences": "contact: email",
    }
    assert job.follow_up_done is True
    assert "Follow up done" not in json.dumps([write.messages for write in plan_writes(job)])
    # Without the item the flag is unknown
    assert job_for(sample_data()).follow_up_done is None


def test_a_subagent_conversation_and_an_outbound_twilio_call_are_marked():
    data = json.loads(load_event("post_call.json")["body"])["data"]
    assert (job_for(TranscriptionData.model_validate(data)).subagent, job_for(sample_data()).machine_detectable) == (
        False,
        False,
    )
    data["metadata"]["conversation_initiation_source"] = "subagent_tool"
    data["metadata"]["phone_call"]["direction"] = "outbound"
    job = job_for(TranscriptionData.model_validate(data))
    assert job.subagent is True
    assert job.parent_conversation_id is None  # the SDK names no parent field: unknown
    assert job.machine_detectable is True  # Twilio's answering-machine verdict may come (E1)
    # A parent id the payload carries (GUESS: the list filter's name) is read and kept
    data["parent_conversation_id"] = "conv_parent_0001"
    assert job_for(TranscriptionData.model_validate(data)).parent_conversation_id == "conv_parent_0001"
