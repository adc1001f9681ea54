"""MEMORY_SCOPE=agent: an agency running several businesses' agents from one stack shares nothing
between them (DESIGN.md section 6: Mem0 app_id = the agent on writes and in the filter on reads)."""

from __future__ import annotations

import pytest

from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

KEY = {"x-workspace-key": WORKSPACE_KEY}
BAKERY, CLINIC = "agent_bakery01", "agent_clinic01"


def call_ends(agent_id, lambda_invocations, mem0_server):
    body = post_call_body(agent_id=agent_id)
    answer = body_of(post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext()))
    assert answer["status"] == "accepted"
    for _, _, job in lambda_invocations:
        post_call(job, LambdaContext())
    lambda_invocations.clear()
    mem0_server.wait_idle()


def greeting(agent_id):
    event = http_event("/client-data", {"caller_id": CALLER, "agent_id": agent_id, "call_sid": "CA1"}, KEY)
    return body_of(client_data(event, LambdaContext()))["dynamic_variables"]


def search(agent_id, query):
    event = http_event("/retrieve", {"query": query, "caller_id": CALLER, "agent_id": agent_id}, KEY)
    return body_of(retrieve(event, LambdaContext()))["memories"]


def test_agent_scope_keeps_one_callers_memories_per_agent(monkeypatch, mem0_server, dynamodb_table, lambda_invocations):
    monkeypatch.setenv("MEMORY_SCOPE", "agent")
    mem0_server.clear_requests()
    # Given a caller who spoke to the bakery's agent
    call_ends(BAKERY, lambda_invocations, mem0_server)
    # Then the bakery's agent remembers them
    assert greeting(BAKERY)["returning_caller"] == "yes"
    assert any("latex" in memory for memory in search(BAKERY, "is the caller allergic to anything?"))
    # And the clinic's agent, same caller, same stack, knows nothing
    clinic = greeting(CLINIC)
    assert clinic["returning_caller"] == "no"
    assert clinic["caller_name"] == ""
    assert search(CLINIC, "is the caller allergic to anything?") == []
    # And every write carried its agent as app_id
    adds = [r.body for r in mem0_server.requests if "/memories/add" in r.path]
    assert adds
    assert {add.get("app_id") for add in adds} == {BAKERY}


@pytest.mark.parametrize("scope", ["shared"])
def test_shared_scope_serves_every_agent(monkeypatch, mem0_server, dynamodb_table, lambda_invocations, scope):
    monkeypatch.setenv("MEMORY_SCOPE", scope)
    call_ends(BAKERY, lambda_invocations, mem0_server)
    assert greeting(CLINIC)["returning_caller"] == "yes"
