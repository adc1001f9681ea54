"""ElevenLabs' 2026 fields end to end (platform-notes/refresh-2026-12.md E1-E10): through the post-call
handler and its worker, reconcile over the local fake of the conversations API, client_data, the Mem0
stand-in and DynamoDB (moto's server, so that client_data's signed read sees what the worker wrote).

Each test names the field it is about; the corpus (tests/corpus) holds the payloads, the SDK validates them.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from agentic_memory.stores import call_marks
from agentic_memory.worker import job_runner, reconcile
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, signed_headers

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())["cases"]
OUTBOUND = json.loads((CORPUS / "post_call" / "outbound_twilio.json").read_text())
CUSTOMER = "+15550100124"  # outbound_twilio.json's customer, as dialled ("+1555010 0124")
OUR_NUMBER = "+15550100001"
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def deliver(body: dict[str, Any], lambda_invocations) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Sign and deliver one webhook body; run the job it queued (if any) as Lambda would. Returns the
    webhook's answer and the worker's results."""
    raw = json.dumps(body).encode()
    before = len(lambda_invocations)
    response = post_call(http_event("/post-call", raw, signed_headers(raw)), LambdaContext())
    assert response["statusCode"] == 200, body_of(response)
    results = [post_call(job, LambdaContext()) for _, _, job in lambda_invocations[before:]]
    return body_of(response), results


def outbound_call(conversation_id: str, start: int, *, title: str, name: str) -> dict[str, Any]:
    body = copy.deepcopy(OUTBOUND)
    data = body["data"]
    data["conversation_id"] = conversation_id
    data["metadata"]["start_time_unix_secs"] = start
    data["analysis"]["call_summary_title"] = title
    data["analysis"]["data_collection_results"]["caller_name"] = {"data_collection_id": "caller_name", "value": name}
    body["event_timestamp"] = start + 120
    return body


def verdict(conversation_id: str, answered_by: str = "machine_end_beep") -> dict[str, Any]:
    body = json.loads((CORPUS / "post_call" / "answering_machine_machine.json").read_text())
    body["data"].update(conversation_id=conversation_id, answered_by=answered_by)
    return body


def brief_of(caller: str) -> dict[str, str]:
    body = {"caller_id": caller, "agent_id": "agent_x", "called_number": OUR_NUMBER, "call_sid": "CA1"}
    response = client_data(http_event("/client-data", body, {"x-workspace-key": WORKSPACE_KEY}), LambdaContext())
    assert response["statusCode"] == 200
    return body_of(response)


def memories_of(mem0_server, caller: str) -> list[dict[str, Any]]:
    assert mem0_server.wait_idle(timeout=10)
    return mem0_server.store.get_all({"user_id": caller}, page_size=200)[1]


@pytest.fixture
def outbound_stack(monkeypatch, mem0_server, profile_table, lambda_invocations):
    from agentic_memory.config import get_settings

    monkeypatch.setenv("AGENT_PHONE_NUMBERS", OUR_NUMBER)
    get_settings.cache_clear()
    return mem0_server, lambda_invocations


# --------------------------------------------------------------------------- answering_machine_detection (E1)


def test_a_machine_verdict_after_the_call_removes_what_the_call_left(outbound_stack, monkeypatch):
    mem0_server, invocations = outbound_stack
    monkeypatch.setattr("agentic_memory.worker.machine_verdict.RESWEEP_SECONDS", 0.0)
    start = int(time.time()) - 7200
    # Given a first outbound call answered by the customer, and a second one whose job ran...
    deliver(outbound_call("conv_amd_human_0001", start, title="Check-up booked", name="Luis Ortega"), invocations)
    _, [result] = deliver(
        outbound_call("conv_amd_machine_01", start + 3600, title="Greeting", name="Rosa"), invocations
    )
    assert result["status"] == "written"
    assert {m["metadata"]["conversation_id"] for m in memories_of(mem0_server, CUSTOMER)} == {
        "conv_amd_human_0001",
        "conv_amd_machine_01",
    }
    # When Twilio's verdict for the second call arrives afterwards: a machine
    answer, [outcome] = deliver(verdict("conv_amd_machine_01"), invocations)
    # Then the webhook is answered 200 and the worker removed that call's memories and its place in the profile
    assert answer["status"] == "accepted"
    assert outcome["status"] == "removed"
    assert outcome["memories"] > 0
    assert {m["metadata"]["conversation_id"] for m in memories_of(mem0_server, CUSTOMER)} == {"conv_amd_human_0001"}
    variables = brief_of(CUSTOMER)["dynamic_variables"]
    assert variables["caller_name"] == "Luis Ortega"
    assert variables["caller_relationship"].startswith("1 call")
    assert "Greeting" not in variables["memory_context"]
    # and the record naming the caller for that conversation is gone
    assert call_marks.written_call("conv_amd_machine_01") is None


def test_a_machine_verdict_before_the_transcription_keeps_the_call_from_being_remembered(outbound_stack):
    mem0_server, invocations = outbound_stack
    # Given the verdict arrives first (during the call)
    answer, [outcome] = deliver(verdict("conv_amd_first_0001"), invocations)
    assert (answer["status"], outcome["status"]) == ("accepted", "suppressed")
    # When the call's transcription webhook follows
    _, [result] = deliver(
        outbound_call("conv_amd_first_0001", int(time.time()) - 600, title="Greeting", name="Rosa"), invocations
    )
    # Then nothing is written for the customer, and no profile exists
    assert result["status"] == "machine"
    assert memories_of(mem0_server, CUSTOMER) == []
    assert brief_of(CUSTOMER)["dynamic_variables"]["returning_caller"] == "no"


def test_a_verdict_arriving_while_the_job_writes_still_leaves_nothing(outbound_stack, monkeypatch):
    mem0_server, invocations = outbound_stack
    monkeypatch.setattr("agentic_memory.worker.machine_verdict.RESWEEP_SECONDS", 0.0)
    update = job_runner.profile_refresh.update_profile

    def verdict_meanwhile(*args: Any, **kwargs: Any) -> Any:
        # The verdict's job runs between the call's Mem0 writes and its profile update
        deliver(verdict("conv_amd_race_00001"), invocations)
        return update(*args, **kwargs)

    monkeypatch.setattr(job_runner.profile_refresh, "update_profile", verdict_meanwhile)
    _, [result] = deliver(
        outbound_call("conv_amd_race_00001", int(time.time()) - 600, title="Greeting", name="Rosa"), invocations
    )
    assert result["status"] == "machine"
    assert memories_of(mem0_server, CUSTOMER) == []
    assert brief_of(CUSTOMER)["dynamic_variables"]["returning_caller"] == "no"


@pytest.mark.parametrize("answered_by", ["human", "unknown"])
def test_a_person_or_an_unknown_verdict_changes_nothing(outbound_stack, answered_by):
    mem0_server, invocations = outbound_stack
    deliver(
        outbound_call("conv_amd_person_001", int(time.time()) - 600, title="Check-up booked", name="Luis"), invocations
    )
    before = memories_of(mem0_server, CUSTOMER)
    answer, results = deliver(verdict("conv_amd_person_001", answered_by), invocations)
    assert answer["status"] == "ignored"
    assert results == []
    assert memories_of(mem0_server, CUSTOMER) == before
    assert before


# --------------------------------------------------------------------------- reconcile over list items (E3, E9)


def test_reconcile_skips_silent_list_items_without_fetching_and_fetches_the_rest(
    mem0_server, dynamodb_table, elevenlabs_api, monkeypatch
):
    # Given the corpus's list page (SDK-validated) as the conversations API's answer, its items ended long ago
    page = json.loads((CORPUS / "conversations" / "list_page.json").read_text())
    expected = EXPECTED["conversations/list_page.json"]
    fetched: list[str] = []
    listed: list[int] = []
    base = json.loads((CORPUS / "post_call" / "fields_2026.json").read_text())["data"]

    def list_conversations(*args: Any, **kwargs: Any) -> dict[str, Any]:
        listed.append(args[4] if len(args) > 4 else kwargs["page_size"])
        return page

    def get_conversation(conversation_id: str, **kwargs: Any) -> dict[str, Any]:
        fetched.append(conversation_id)
        return {**copy.deepcopy(base), "conversation_id": conversation_id}

    monkeypatch.setattr(reconcile.conversations, "list_conversations", list_conversations)
    monkeypatch.setattr(reconcile.conversations, "get_conversation", get_conversation)
    now = max(item["start_time_unix_secs"] for item in page["conversations"]) + 3600
    # When reconcile runs
    outcome = reconcile.run(
        after_unix=now - 7200,
        before_unix=None,
        agent_ids=(None,),
        dry_run=False,
        source="schedule",
        context=LambdaContext(),
        settings=reconcile.secret_store.current(),
        now=now,
    )
    # Then the silent conversation was never fetched, the others were, and pages ask for at most 100
    assert sorted(fetched) == sorted(expected["fetched"])
    assert not set(fetched) & set(expected["not_fetched"])
    assert outcome.silent == 1
    assert listed
    assert all(size <= 100 for size in listed)


def test_a_subagent_conversation_found_by_reconcile_counts_as_part_of_its_call(
    mem0_server, profile_table, elevenlabs_api
):
    # Given a phone call whose caller was handed to a subagent: two conversations in ElevenLabs' history
    subagent = json.loads((CORPUS / "post_call" / "subagent_conversation.json").read_text())["data"]
    parent = json.loads((CORPUS / "post_call" / "fields_2026.json").read_text())["data"]
    subagent["analysis"]["transcript_summary"] = "The billing assistant explained Kenji's invoice for the night guard."
    start = int(time.time()) - 3600
    for data, offset in ((parent, 0), (subagent, 60)):
        data["metadata"]["phone_call"]["external_number"] = CALLER
        elevenlabs_api.app.add(data, start_time_unix_secs=start + offset)
    # When reconcile ingests both
    outcome = post_call(dict(SCHEDULED), LambdaContext())
    assert outcome["recovered"] == 2
    # Then the caller is remembered from both, and counted once
    conversations = {m["metadata"]["conversation_id"] for m in memories_of(mem0_server, CALLER)}
    assert conversations == {parent["conversation_id"], subagent["conversation_id"]}
    assert brief_of(CALLER)["dynamic_variables"]["caller_relationship"].startswith("1 call")


# --------------------------------------------------------------------------- the initiation answer's user_id (E5, E10)


@pytest.mark.parametrize(("setting", "expected"), [(None, None), ("false", None), ("true", "+15550100123")])
def test_user_id_is_the_callers_identity_only_when_switched_on(monkeypatch, mem0_server, setting, expected):
    from agentic_memory.config import get_settings

    if setting is not None:
        monkeypatch.setenv("SEND_USER_ID", setting)
    get_settings.cache_clear()
    answer = brief_of("+1 (555) 010-0123")
    assert answer.get("user_id") == expected
    # never a procedure or workflow field
    assert set(answer) <= {"type", "dynamic_variables", "user_id", "conversation_config_override"}


def test_a_withheld_caller_gets_no_user_id(monkeypatch, mem0_server):
    from agentic_memory.config import get_settings

    monkeypatch.setenv("SEND_USER_ID", "true")
    get_settings.cache_clear()
    assert "user_id" not in brief_of("anonymous")
