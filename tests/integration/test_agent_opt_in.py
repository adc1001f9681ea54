"""Agents opt in (issue 20, item 3 of its problem): a workspace's clinic intake agent and bakery agent share
one post-call webhook and one API key; only the agents named in MEMORY_AGENT_IDS are remembered, on every
path: the webhook, the worker, reconcile, backfill, client_data and retrieve. Another agent's call is
answered 200, counted (AgentNotEnabled) and logged without caller data; nothing is read or written.

Through the real handlers, the local Mem0 server, moto's DynamoDB and the local ElevenLabs API stand-in.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentic_memory.config import get_settings
from agentic_memory.observability import logger
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import (
    CALLER,
    WORKSPACE_KEY,
    LambdaContext,
    body_of,
    finished_conversation,
    http_event,
    load_event,
    post_call_body,
    signed_headers,
)

BAKERY = "agent_bakery0000000000000001"
CLINIC = "agent_clinic0000000000000002"
KEY = {"x-workspace-key": WORKSPACE_KEY}
ADD = ("POST", "/v3/memories/add/")
SECRET = "reported an HIV diagnosis"


@pytest.fixture
def bakery_only(monkeypatch):
    monkeypatch.setenv("MEMORY_AGENT_IDS", BAKERY)
    get_settings.cache_clear()


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """Run a handler; return its answer and the JSON lines it printed (logs and EMF metrics)."""
    handler = logger.registered_handler
    previous = handler.stream

    def run(function: Callable[..., Any], event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        capsys.readouterr()
        handler.stream = sys.stdout
        answer = function(event, LambdaContext())
        lines = []
        for raw in capsys.readouterr().out.splitlines():
            try:
                parsed = json.loads(raw)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                lines.append(parsed)
        return answer, lines

    yield run
    handler.stream = previous


def counted(lines: list[dict[str, Any]], metric: str) -> float:
    values = [line[metric] for line in lines if "_aws" in line and metric in line]
    return sum(sum(v) if isinstance(v, list) else v for v in values)


def clinic_call(conversation_id: str = "conv_clinic_0001") -> bytes:
    transcript = [
        {"role": "agent", "message": "Intake line. How can I help?", "time_in_call_secs": 0},
        {"role": "user", "message": f"Hi, my name is Maria Lopez and I {SECRET} last week.", "time_in_call_secs": 4},
    ]
    return post_call_body(
        agent_id=CLINIC,
        conversation_id=conversation_id,
        transcript=transcript,
        analysis={"transcript_summary": f"The caller {SECRET}.", "call_successful": "success"},
    )


def deliver(body: bytes, lambda_invocations) -> dict[str, Any]:
    response = post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert response["statusCode"] == 200
    return body_of(response)


def test_the_clinic_call_is_never_read_out_by_the_bakery_greeting(
    mem0_server, profile_table, lambda_invocations, bakery_only, invoke
):
    # Given the clinic agent (not opted in) takes a call from Maria's number
    answer, lines = invoke(post_call, http_event("/post-call", clinic_call(), signed_headers(clinic_call())))
    # Then the webhook answers 200 "ignored", queues no job, counts it, and logs no caller data
    assert answer["statusCode"] == 200
    assert body_of(answer) == {"status": "ignored", "reason": f"agent {CLINIC} has no memory (not in MEMORY_AGENT_IDS)"}
    assert lambda_invocations == []
    assert counted(lines, "AgentNotEnabled") == 1
    printed = json.dumps(lines)
    assert CALLER not in printed
    assert CALLER[-10:] not in printed
    assert SECRET not in printed
    # When the bakery agent (opted in) greets the same number
    greeting = client_data(
        http_event("/client-data", {"caller_id": CALLER, "agent_id": BAKERY, "called_number": "+15550100001"}, KEY),
        LambdaContext(),
    )
    # Then nothing of the clinic call is there: no memory, no profile
    dynamic = body_of(greeting)["dynamic_variables"]
    assert dynamic["returning_caller"] == "no"
    assert SECRET not in json.dumps(dynamic)
    assert mem0_server.knobs.count(*ADD) == 0


def test_a_job_of_an_agent_without_memory_writes_nothing(mem0_server, profile_table, bakery_only, invoke):
    # Given a job queued for the clinic agent (before it left MEMORY_AGENT_IDS, or replayed from the queue)
    job = load_event("post_call_job.json") | {"agent_id": CLINIC}
    answer, lines = invoke(post_call, job)
    # Then the worker drops it: nothing reaches Mem0 or the profile table
    assert answer == {"status": "ignored", "writes": 0}
    assert counted(lines, "AgentNotEnabled") == 1
    assert mem0_server.requests == []
    import boto3

    table = boto3.client("dynamodb").scan(TableName=profile_table)["Items"]
    assert table == []


def test_client_data_of_an_agent_without_memory_reads_nothing(mem0_server, profile_table, bakery_only, invoke):
    # Given memories and a profile of the caller, written for the bakery
    job = load_event("post_call_job.json") | {"agent_id": BAKERY}
    assert post_call(job, LambdaContext())["status"] == "written"
    mem0_server.clear_requests()
    # When the clinic agent's call connects
    event = http_event("/client-data", {"caller_id": CALLER, "agent_id": CLINIC, "call_sid": "CA1"}, KEY)
    answer, lines = invoke(client_data, event)
    # Then it gets the full new-caller answer, and neither DynamoDB's profile nor Mem0 was read
    assert answer["statusCode"] == 200
    dynamic = body_of(answer)["dynamic_variables"]
    assert dynamic["returning_caller"] == "no"
    assert dynamic["caller_name"] == ""
    assert dynamic["memory_context"] == ""
    assert answer["headers"]["x-memory-source"] == "none"
    assert mem0_server.requests == []
    assert counted(lines, "AgentNotEnabled") == 1
    # while the bakery's own call is greeted from the profile
    bakery = client_data(
        http_event("/client-data", {"caller_id": CALLER, "agent_id": BAKERY, "call_sid": "CA2"}, KEY), LambdaContext()
    )
    assert body_of(bakery)["dynamic_variables"]["caller_name"] == "Maria Lopez"


def test_retrieve_of_an_agent_without_memory_searches_nothing(mem0_server, bakery_only, invoke):
    body = {"query": "diagnosis", "caller_id": CALLER, "called_number": "+15550100001", "agent_id": CLINIC}
    answer, lines = invoke(retrieve, http_event("/retrieve", body, KEY))
    assert answer["statusCode"] == 200
    assert body_of(answer) == {
        "memories": [],
        "note": "Memory is not enabled for this agent, so there is nothing remembered to search.",
    }
    assert mem0_server.requests == []
    assert counted(lines, "AgentNotEnabled") == 1
    # the earlier tool schema sent no agent id: with a list of agents, that is no agent with memory
    legacy = retrieve(http_event("/retrieve", {"query": "x", "user_id": CALLER}, KEY), LambdaContext())
    assert body_of(legacy)["memories"] == []
    assert mem0_server.requests == []


def test_unset_nobody_is_remembered(mem0_server, profile_table, lambda_invocations, monkeypatch):
    # Given a deployment that never named an agent (the code's default)
    monkeypatch.delenv("MEMORY_AGENT_IDS")
    get_settings.cache_clear()
    # Then even the sample call is answered and ignored
    assert deliver(post_call_body(), lambda_invocations)["status"] == "ignored"
    assert lambda_invocations == []


class TestReconcileAndBackfill:
    SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    @pytest.fixture
    def history(self, mem0_server, dynamodb_table, elevenlabs_api, bakery_only):
        api = elevenlabs_api.app
        api.add(finished_conversation("conv_bakery_001", agent_id=BAKERY))
        api.add(finished_conversation("conv_clinic_001", agent_id=CLINIC, caller="+16125550147"))
        return mem0_server, api

    def test_reconcile_lists_only_agents_with_memory(self, history):
        mem0_server, api = history
        outcome = post_call(dict(self.SCHEDULED), LambdaContext())
        assert outcome["status"] == "done"
        assert outcome["recovered"] == 1
        listed = [r for r in api.requests if r.path == "/v1/convai/conversations"]
        assert listed
        assert all(r.query.get("agent_id") == [BAKERY] for r in listed)
        assert api.count("/v1/convai/conversations/conv_clinic_001") == 0
        written = {r.body.get("user_id") for r in mem0_server.requests if r.path.startswith("/v3/memories/add")}
        assert written == {CALLER}

    def test_with_every_agent_listed_another_agents_conversation_is_never_fetched(self, history, monkeypatch):
        _mem0_server, api = history
        # Given the clinic's conversation listed (every agent the key sees) while only the bakery has memory
        monkeypatch.setattr("agentic_memory.domain.agents.agents_to_list", lambda settings: (None,))
        outcome = post_call(dict(self.SCHEDULED), LambdaContext())
        # Then it is counted and skipped without fetching it, and not marked (the clinic may opt in later)
        assert outcome["other_agents"] == 1
        assert outcome["recovered"] == 1
        assert api.count("/v1/convai/conversations/conv_clinic_001") == 0
        from agentic_memory.stores import idempotency

        assert not idempotency.was_ingested("conv_clinic_001")

    def test_a_backfill_of_an_agent_without_memory_is_refused(self, history):
        _mem0_server, api = history
        window = {"kind": "reconcile_window", "after_unix": 0, "agent_id": CLINIC, "dry_run": False}
        outcome = post_call(window, LambdaContext())
        assert outcome["status"] == "failed"
        assert "has no memory" in outcome["reason"]
        assert api.requests == []
        # and the script says so and exits 1
        import backfill

        progress = backfill.Progress(0, 10)
        with pytest.raises(backfill.BackfillError, match="has no memory"):
            backfill.backfill(
                lambda event: post_call(event, LambdaContext()),
                None,
                since=0,
                until=2_000_000_000,
                agent=CLINIC,
                dry_run=False,
                progress=progress,
            )

    def test_a_backfill_of_every_agent_imports_only_those_with_memory(self, history):
        mem0_server, _ = history
        window = {"kind": "reconcile_window", "after_unix": 0, "dry_run": False}
        outcome = post_call(window, LambdaContext())
        assert outcome["status"] == "done"
        assert outcome["recovered"] == 1
        written = {r.body.get("user_id") for r in mem0_server.requests if r.path.startswith("/v3/memories/add")}
        assert written == {CALLER}
