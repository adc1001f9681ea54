"""Post-call payload -> job -> planned Mem0 writes."""

from __future__ import annotations

import json

from agentic_memory.elevenlabs import TranscriptionData
from agentic_memory.ingest import Job, JobTurn, build_job, plan_writes, said_name
from tests.support import load_event


def sample_data(**overrides) -> TranscriptionData:
    data = json.loads(load_event("post_call.json")["body"])["data"]
    data.update(overrides)
    return TranscriptionData.model_validate(data)


def job_for(data: TranscriptionData) -> Job:
    return build_job(data, caller_id="+16129782029", event_timestamp=1795253495, caller_name_field="caller_name")


def test_job_keeps_what_the_writes_need():
    job = job_for(sample_data())
    assert job.conversation_id == "conv_01jexample0000000000000001"
    assert job.caller_id == "+16129782029"
    assert job.caller_name == "Maria Lopez"
    assert job.data_collection == {"caller_name": "Maria Lopez", "delivery_preference": "weekday mornings"}
    assert job.call_successful == "success"
    assert [t.role for t in job.turns][:2] == ["assistant", "user"]
    assert all(t.content for t in job.turns)  # the null agent message is dropped


def test_job_matches_the_sample_worker_event():
    assert job_for(sample_data()).model_dump(mode="json") == load_event("post_call_job.json")


def test_at_most_three_writes_for_a_long_call():
    turns = [{"role": "user" if i % 2 else "agent", "message": f"turn {i} " + "words " * 40} for i in range(200)]
    writes = plan_writes(job_for(sample_data(transcript=turns)))
    assert len(writes) == 3
    conversation, summary, facts = writes
    assert conversation.infer is True
    assert summary.infer is False
    assert facts.infer is False
    assert summary.metadata["kind"] == "call_summary"
    assert summary.metadata["outcome"] == "success"
    assert summary.metadata["date"] == "2026-11-21"
    assert {w.metadata["conversation_id"] for w in writes} == {"conv_01jexample0000000000000001"}
    assert {w.metadata["agent_id"] for w in writes} == {"agent_7101k0example"}
    assert "Caller's name is Maria Lopez." in [m["content"] for m in facts.messages]
    assert facts.metadata["caller_name"] == "Maria Lopez"


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
        assert said_name([JobTurn(role="user", content="hi, my name is maria lopez and I need help")]) == "Maria"
        assert said_name([JobTurn(role="user", content="Hello, my name is Maria Lopez.")]) == "Maria Lopez"
        assert said_name([JobTurn(role="user", content="you can call me Sam")]) == "Sam"

    def test_only_the_callers_own_turns(self):
        assert said_name([JobTurn(role="assistant", content="My name is Alex, your assistant.")]) is None

    def test_no_guessing(self):
        assert said_name([JobTurn(role="user", content="I live on Harbor Street in Portland.")]) is None
        assert said_name([JobTurn(role="user", content="my name is not important")]) is None


def test_a_lowercase_word_after_the_name_is_not_part_of_it():
    assert said_name([JobTurn(role="user", content="My name is Maria and I need help")]) == "Maria"


def test_the_bound_counts_bytes_so_long_calls_in_any_script_fit_an_async_invoke():
    turns = [{"role": "user", "message": "你好我想查询我的订单" * 100} for _ in range(400)]
    job = job_for(sample_data(transcript=turns))
    assert len(job.model_dump_json().encode("utf-8")) < 256 * 1024
