"""Issue 10's "What fails today" list, end to end: each input through the real handlers, the Mem0 twin
(asynchronous extraction, speaker split, unspecified get_all order) and moto's DynamoDB."""

from __future__ import annotations

import json

import pytest

from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

KEY = {"x-workspace-key": WORKSPACE_KEY}
OURS = "+15550100001"
CUSTOMER = "+15550100042"


@pytest.fixture(autouse=True)
def our_numbers(monkeypatch):
    monkeypatch.setenv("AGENT_PHONE_NUMBERS", f"{OURS},+15550100002")


def initiation(body):
    return body_of(client_data(http_event("/client-data", body, KEY), LambdaContext()))["dynamic_variables"]


def search(body):
    return body_of(retrieve(http_event("/retrieve", body, KEY), LambdaContext()))


def deliver(body: bytes, lambda_invocations) -> dict:
    """Deliver a signed post-call webhook, then run whatever job it queued; the webhook's answer."""
    before = len(lambda_invocations)
    answer = body_of(post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext()))
    for _, _, job in lambda_invocations[before:]:
        post_call(job, LambdaContext())
    return answer


def remember(server, user_id, *facts, metadata=None):
    server.store.add(
        [{"role": "user", "content": fact} for fact in facts], user_id=user_id, metadata=metadata or {}, infer=False
    )


def mem0_requests(server, path_part):
    return [r for r in server.requests if path_part in r.path]


@pytest.mark.parametrize("wildcard", ["*", " * "])
def test_a_wildcard_caller_id_reads_nobody(mem0_server, wildcard):
    # Given memories of a real caller
    remember(mem0_server, CALLER, "My card ends in 4242")
    mem0_server.clear_requests()
    # When the tool and the initiation webhook are sent "*" as the caller
    found = search({"query": "card", "user_id": wildcard})
    dynamic = initiation({"caller_id": wildcard, "called_number": OURS})
    # Then nothing is read, and nothing about anybody comes back
    assert found["memories"] == []
    assert "note" in found
    assert dynamic["returning_caller"] == "no"
    assert mem0_requests(mem0_server, "/memories") == []


@pytest.mark.parametrize(
    "withheld", ["Unknown Caller", "blocked", "null", "<sip:anonymous@anonymous.invalid>", "+266696687"]
)
def test_strangers_with_withheld_numbers_share_nothing(mem0_server, dynamodb_table, lambda_invocations, withheld):
    # Given a first anonymous caller who gave their name
    body = post_call_body(
        metadata={"phone_call": {"type": "twilio", "external_number": withheld, "agent_number": OURS}}
    )
    answer = deliver(body, lambda_invocations)
    # Then nothing was remembered for them
    assert answer["status"] == "ignored"
    assert mem0_server.store.count() == 0
    # And a second anonymous caller is a stranger
    dynamic = initiation({"caller_id": withheld, "called_number": OURS, "call_sid": "CA2"})
    assert dynamic["returning_caller"] == "no"
    assert dynamic["caller_name"] == ""


def test_outbound_calls_greet_and_search_the_customer(mem0_server):
    # Given what we remember of a customer
    remember(mem0_server, CUSTOMER, "Prefers delivery after 5pm", metadata={"kind": "fact", "caller_name": "Ana"})
    # When we call them (ElevenLabs sends our number as caller_id on outbound calls)
    dynamic = initiation({"caller_id": OURS, "called_number": CUSTOMER, "agent_id": "a", "call_sid": "CA3"})
    found = search({"query": "delivery time", "caller_id": OURS, "called_number": CUSTOMER})
    # Then the greeting and the tool are about the customer, never our own number
    assert dynamic["caller_id"] == CUSTOMER
    assert dynamic["caller_name"] == "Ana"
    assert any("after 5pm" in memory for memory in found["memories"])
    filters = [json.dumps(r.body) for r in mem0_requests(mem0_server, "/memories")]
    assert filters
    assert all(OURS not in f for f in filters)


def test_what_the_agent_confirmed_is_remembered_for_the_caller(mem0_server, dynamodb_table, lambda_invocations):
    # Given a call where the agent confirms a booking
    body = post_call_body(
        transcript=[
            {"role": "agent", "message": "Hello, how can I help?"},
            {"role": "user", "message": "I would like to book a delivery slot next week please."},
            {"role": "agent", "message": "Done: your delivery is booked for Tuesday at 8am."},
        ]
    )
    # When the call is written
    assert deliver(body, lambda_invocations)["status"] == "accepted"
    mem0_server.wait_idle()
    # Then no add carried agent_id (Mem0 would file the agent's words under the agent alone)
    adds = [r.body for r in mem0_requests(mem0_server, "/memories/add")]
    assert adds
    assert all("agent_id" not in add for add in adds)
    # And the booking is found when searching the caller's memories
    found = search({"query": "when is my delivery booked Tuesday", "caller_id": CALLER})
    assert any("Tuesday at 8am" in memory for memory in found["memories"])


def test_a_long_time_caller_hears_their_latest_call(mem0_server):
    # Given a caller with 500 memories, the newest call summary written last
    for i in range(499):
        remember(mem0_server, CALLER, f"Old fact number {i} about order {1000 + i}", metadata={"kind": "conversation"})
    remember(
        mem0_server,
        CALLER,
        "Asked to move the delivery to Friday.",
        metadata={"kind": "call_summary", "date": "2026-11-29"},
    )
    mem0_server.clear_requests()
    # When they call again
    dynamic = initiation({"caller_id": CALLER, "called_number": OURS, "call_sid": "CA4"})
    # Then the last call is the newest one, whatever order Mem0 serves pages in, in a bounded number of reads
    assert dynamic["last_call_summary"] == "Asked to move the delivery to Friday."
    assert dynamic["memory_count"] == "500"
    assert len(mem0_requests(mem0_server, "/memories")) == 3


@pytest.mark.parametrize(
    "overrides",
    [
        {"metadata": {"termination_reason": "webhook_detected_voicemail"}},
        {"status": "failed"},
        {"transcript": [{"role": "agent", "message": "Hi, this is the pharmacy. Are you there?"}]},
    ],
    ids=["voicemail", "failed", "caller-silent"],
)
def test_voicemail_failed_and_silent_calls_are_not_remembered(
    mem0_server, dynamodb_table, lambda_invocations, overrides
):
    answer = deliver(post_call_body(**overrides), lambda_invocations)
    assert answer["status"] == "ignored"
    assert lambda_invocations == []
    assert mem0_server.store.count() == 0


def test_a_start_time_in_milliseconds_is_written_not_parked(mem0_server, dynamodb_table, lambda_invocations):
    body = post_call_body(metadata={"start_time_unix_secs": 1795253400123, "call_duration_secs": 84})
    assert deliver(body, lambda_invocations)["status"] == "accepted"
    result = post_call(lambda_invocations[0][2], LambdaContext())
    assert result["status"] in ("written", "duplicate")
    dynamic = initiation({"caller_id": CALLER, "called_number": OURS, "call_sid": "CA5"})
    assert "(2026-11-21)" in dynamic["memory_context"]


@pytest.mark.parametrize("conversation_id", ["", "   ", "\u200b", "\u200b\u200b", "conv 1", 'conv"1'])
def test_blank_or_invisible_conversation_ids_are_refused(mem0_server, lambda_invocations, conversation_id):
    body = post_call_body(conversation_id=conversation_id)
    response = post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert response["statusCode"] == 400
    assert lambda_invocations == []
