"""A caller's whole life cycle through the three handlers, the local Mem0 server and moto."""

from __future__ import annotations

from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

KEY = {"x-workspace-key": WORKSPACE_KEY}


def initiation():
    event = http_event("/client-data", {"caller_id": CALLER, "agent_id": "agent_7101k0example"}, KEY)
    return body_of(client_data(event, LambdaContext()))["dynamic_variables"]


def search(query):
    return body_of(retrieve(http_event("/retrieve", {"query": query, "user_id": CALLER}, KEY), LambdaContext()))


def test_a_new_caller_is_remembered_after_their_call(mem0_server, dynamodb_table, lambda_invocations):
    # Given a caller we have never heard from
    first = initiation()
    assert first["returning_caller"] == "no"
    assert search("vases")["memories"] == []

    # When their call ends and ElevenLabs delivers the signed post-call webhook (twice: a retry)
    body = post_call_body()
    for _ in range(2):
        event = http_event("/post-call", body, signed_headers(body))
        assert body_of(post_call(event, LambdaContext()))["status"] == "accepted"
    # ... and Lambda runs the queued jobs
    assert len(lambda_invocations) == 2
    results = [post_call(job, LambdaContext()) for _, _, job in lambda_invocations]
    assert [r["status"] for r in results] == ["written", "duplicate"]
    assert mem0_server.wait_idle()  # Mem0 extracts the conversation (infer=True) after answering the add

    # Then the next call recognises them by name, with what they said in the prompt context
    again = initiation()
    assert again["returning_caller"] == "yes"
    assert again["caller_name"] == "Maria Lopez"
    assert again["greeting"] == "Welcome back, Maria Lopez! How can I help you today?"
    assert "blue ceramic vases" in again["last_call_summary"]
    assert "Delivery preference: weekday mornings" in again["memory_context"]

    # And the mid-call tool finds what they said
    found = search("is the caller allergic to anything?")["memories"]
    assert any("allergic to latex" in memory for memory in found)
