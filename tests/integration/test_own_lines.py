"""Our own lines are never callers, on every path (issue 20, items 2 and 4 of its problem), end to end: the
signed webhook, the worker, the caller profile and the marks in moto's DynamoDB, the local Mem0 server,
client_data and retrieve. AGENT_PHONE_NUMBERS is unset throughout, as it is by default: what is ours is
learnt from evidence (an outbound call's agent_number; the workspace's phone-number list).
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from agentic_memory.config import get_settings
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

LINE_A = "+15550100011"  # our line that dials out (never configured)
LINE_B = "+15550100012"  # our line that takes calls
CUSTOMER = "+16129782029"
OTHER = "+16125550147"
KEY = {"x-workspace-key": WORKSPACE_KEY}
SEARCH = "/v3/memories/search/"
MARKS_PK = "own-lines"  # stores/line_marks.py: the marks' own partition (checked there against the module)


def call(conversation_id: str, *, external: str, agent: str, direction: str, said: str = "") -> bytes:
    """The sample post-call webhook as a call between ``external`` and our ``agent`` number."""
    data = json.loads(post_call_body())["data"]
    data["conversation_id"] = conversation_id
    data["metadata"]["phone_call"].update(external_number=external, agent_number=agent, direction=direction)
    if said:
        data["transcript"] = [
            {"role": "agent", "message": "Hello, how can I help?", "time_in_call_secs": 0},
            {"role": "user", "message": said, "time_in_call_secs": 3},
        ]
        data["analysis"]["data_collection_results"].pop("caller_name", None)  # the name is the one said
    return post_call_body(**data)


def finish(body: bytes, lambda_invocations) -> dict[str, Any]:
    """The signed webhook, then the job it queued run as the worker; the worker's answer."""
    before = len(lambda_invocations)
    answer = post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert body_of(answer)["status"] == "accepted"
    [(_, _, job)] = lambda_invocations[before:]
    return post_call(job, LambdaContext())


def item(table: str, pk: str, sk: str = "shared") -> dict[str, Any] | None:
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def mark_item(table: str, number: str) -> dict[str, Any] | None:
    return item(table, MARKS_PK, number)


def added_for(mem0_server) -> set[str]:
    return {r.body.get("user_id") for r in mem0_server.requests if r.path.startswith("/v3/memories/add")}


def greet(caller_id: str, called: str) -> tuple[dict[str, str], str]:
    body = {"caller_id": caller_id, "called_number": called, "agent_id": "agent_7101k0example", "call_sid": "CA1"}
    answer = client_data(http_event("/client-data", body, KEY), LambdaContext())
    assert answer["statusCode"] == 200
    return body_of(answer)["dynamic_variables"], answer["headers"]["x-memory-source"]


@pytest.fixture
def stack(mem0_server, profile_table, lambda_invocations):
    return mem0_server, profile_table, lambda_invocations


def test_a_staff_call_from_a_marked_line_is_stored_under_neither_line(stack):
    mem0_server, table, invocations = stack
    # Given line A dialled a customer once (ElevenLabs' outbound call: agent_number A, direction outbound)
    assert (
        finish(call("conv_out_1", external=CUSTOMER, agent=LINE_A, direction="outbound"), invocations)["status"]
        == "written"
    )
    assert int(mark_item(table, LINE_A)["outbound_until"]["N"]) > time.time()
    mem0_server.clear_requests()
    # When staff call line B from line A to test it (inbound: external_number A, agent_number B)
    said = "Testing testing, this is Dave from the warehouse, the Tuesday shipment is late."
    result = finish(call("conv_staff_1", external=LINE_A, agent=LINE_B, direction="inbound", said=said), invocations)
    # Then nothing is stored under either line: no Mem0 write, no profile
    assert result == {"status": "own_line", "writes": 0}
    assert added_for(mem0_server) == set()
    assert item(table, LINE_A) is None
    assert item(table, LINE_B) is None
    # and A's mark is flagged (an inbound call came from it): it lapses in 7 days unless A dials out again
    flagged = mark_item(table, LINE_A)
    assert "flagged_at" in flagged
    assert int(flagged["outbound_until"]["N"]) <= time.time() + 7 * 86_400 + 5


def test_outbound_retrieve_and_greeting_find_the_customer_not_our_line(stack):
    mem0_server, _table, invocations = stack
    # Given the customer's own call, and an outbound call from line A that marked it
    said = "Hi, my name is Maria Lopez, I'd like weekday morning deliveries."
    finish(call("conv_in_1", external=CUSTOMER, agent=LINE_B, direction="inbound", said=said), invocations)
    finish(call("conv_out_2", external=CUSTOMER, agent=LINE_A, direction="outbound"), invocations)
    assert mem0_server.wait_idle(timeout=10)
    mem0_server.clear_requests()
    # When A calls the customer again: system__caller_id is A, system__called_number the customer
    tool = {"query": "delivery", "caller_id": LINE_A, "called_number": CUSTOMER, "call_sid": "CA9", "agent_id": "a"}
    answer = retrieve(http_event("/retrieve", tool, KEY), LambdaContext())
    # Then retrieve searched the customer's memories, not line A's
    searched = [r.body["filters"] for r in mem0_server.requests if r.path == SEARCH]
    assert searched
    assert all(json.dumps(CUSTOMER) in json.dumps(f) for f in searched)
    assert LINE_A not in json.dumps(searched)
    assert body_of(answer)["memories"]
    # and the greeting is the customer's
    dynamic, source = greet(LINE_A, CUSTOMER)
    assert source == "profile"
    assert dynamic["caller_id"] == CUSTOMER
    assert dynamic["caller_name"] == "Maria Lopez"


def test_an_inbound_calls_agent_number_never_silences_a_customer(stack):
    _mem0_server, table, invocations = stack
    # Given a customer with a profile
    said = "Hi, my name is Priya Shah, calling about my order."
    finish(call("conv_priya_1", external=OTHER, agent=LINE_B, direction="inbound", said=said), invocations)
    # When a misrouted SIP call arrives showing the customer's number as agent_number
    finish(call("conv_misrouted", external=CUSTOMER, agent=OTHER, direction="inbound"), invocations)
    # Then no mark was made from it, and the customer is still greeted by name
    assert mark_item(table, OTHER) is None
    assert item(table, OTHER) is not None
    assert "own_number" not in item(table, OTHER)
    dynamic, source = greet(OTHER, LINE_B)
    assert source == "profile"
    assert dynamic["caller_name"] == "Priya Shah"


def test_a_mark_expires_and_the_number_is_a_caller_again(stack):
    _mem0_server, table, invocations = stack
    # Given a caller with a profile, whose number then placed an outbound call of ours (a number that was
    # ours once and went to a customer, or a payload that said so wrongly)
    said = "Hi, my name is Ana Silva."
    finish(call("conv_ana_1", external=OTHER, agent=LINE_B, direction="inbound", said=said), invocations)
    finish(call("conv_out_3", external=CUSTOMER, agent=OTHER, direction="outbound"), invocations)
    assert mark_item(table, OTHER) is not None
    # While the mark lives, the number calling in is taken for our line (the other party is asked for)
    _, source = greet(OTHER, LINE_B)
    assert source != "profile"
    # When its evidence runs out (DynamoDB's TTL deletes the item only eventually)
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": MARKS_PK}, "sk": {"S": OTHER}},
        UpdateExpression="SET outbound_until = :past, expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 60)}},
    )
    # Then the number is a caller again
    dynamic, source = greet(OTHER, LINE_B)
    assert source == "profile"
    assert dynamic["caller_name"] == "Ana Silva"


def test_a_new_outbound_call_renews_a_flagged_mark(stack):
    _mem0_server, table, invocations = stack
    finish(call("conv_out_4", external=CUSTOMER, agent=LINE_A, direction="outbound"), invocations)
    finish(call("conv_staff_2", external=LINE_A, agent=LINE_B, direction="inbound"), invocations)
    assert "flagged_at" in mark_item(table, LINE_A)
    finish(call("conv_out_5", external=CUSTOMER, agent=LINE_A, direction="outbound"), invocations)
    renewed = mark_item(table, LINE_A)
    assert "flagged_at" not in renewed
    assert int(renewed["outbound_until"]["N"]) > time.time() + 29 * 86_400


class TestThePhoneNumberList:
    SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    def test_listed_lines_are_ours_and_a_flagged_unlisted_mark_is_cleared(self, stack, elevenlabs_api):
        mem0_server, table, invocations = stack
        api = elevenlabs_api.app
        # Given the workspace lists line B, and line A carries a flagged mark (an inbound call came from it)
        api.add_phone_number(LINE_B, label="front desk")
        finish(call("conv_out_6", external=CUSTOMER, agent=LINE_A, direction="outbound"), invocations)
        finish(call("conv_staff_3", external=LINE_A, agent=LINE_B, direction="inbound"), invocations)
        # When reconcile runs (it reads the list with the API key)
        outcome = post_call(dict(self.SCHEDULED), LambdaContext())
        # Then B is marked as listed, and A's flagged mark, which the list does not hold, is cleared
        assert outcome["lines_listed"] == 1
        assert int(mark_item(table, LINE_B)["listed_until"]["N"]) > time.time()
        assert mark_item(table, LINE_A) is None
        # And a call from B (listed) is a staff call: not stored, and its mark is not flagged
        mem0_server.clear_requests()
        result = finish(call("conv_staff_4", external=LINE_B, agent=LINE_A, direction="inbound"), invocations)
        assert result["status"] == "own_line"
        assert added_for(mem0_server) == set()
        assert "flagged_at" not in mark_item(table, LINE_B)
        # while A, no longer ours on any evidence, is a caller again
        result = finish(call("conv_a_again", external=LINE_A, agent=LINE_B, direction="inbound"), invocations)
        assert result["status"] == "written"

    def test_a_list_that_cannot_be_read_never_fails_the_run(self, stack, elevenlabs_api, monkeypatch):
        from agentic_memory.stores import conversations_api

        def broken(**_: Any) -> list[str]:
            raise conversations_api.ConversationsError("the phone-numbers API answered 403", status=403)

        monkeypatch.setattr(conversations_api, "list_phone_numbers", broken)
        outcome = post_call(dict(self.SCHEDULED), LambdaContext())
        assert outcome["status"] == "done"
        assert outcome["lines_listed"] is None

    def test_without_a_profile_table_nothing_is_listed(self, mem0_server, dynamodb_table, elevenlabs_api):
        get_settings.cache_clear()
        outcome = post_call(dict(self.SCHEDULED), LambdaContext())
        assert outcome["lines_listed"] is None
        assert elevenlabs_api.app.count("/v1/convai/phone-numbers") == 0
