"""Reconcile and backfill against a conversations API that misbehaves (issue 20, item 5 of its problem): a
cursor that never ends made 5,197 list requests in one run, and a detail answer carrying another
conversation's id was fetched again on every run. Also: the phone-number list reconcile reads, as the
official SDK reads it. Through the post-call handler, the local ElevenLabs API stand-in (its fault knobs),
the local Mem0 server and moto's DynamoDB.
"""

from __future__ import annotations

from typing import Any

import backfill
import pytest

from agentic_memory.stores import idempotency
from agentic_memory.worker import reconcile
from post_call.handler import lambda_handler as post_call
from tests.support import CALLER, LambdaContext, finished_conversation

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
LIST = "/v1/convai/conversations"


def run_schedule() -> dict[str, Any]:
    return post_call(dict(SCHEDULED), LambdaContext())


def list_requests(api) -> int:
    return sum(1 for r in api.requests if r.path == LIST)


@pytest.fixture
def stack(mem0_server, dynamodb_table, elevenlabs_api):
    return mem0_server, elevenlabs_api.app


def test_a_cursor_that_repeats_ends_the_run(stack):
    _mem0_server, api = stack
    # Given two finished calls, and an API whose cursor never ends (every page says has_more, same cursor)
    api.add(finished_conversation("conv_loop_1"))
    api.add(finished_conversation("conv_loop_2", ended_ago=1700))
    api.knobs.update(repeat_cursor=True)
    # When the schedule runs
    outcome = run_schedule()
    # Then listing stops at the repeated cursor: two list requests, not thousands; what was listed is written
    assert list_requests(api) == 2
    assert outcome["status"] == "partial"
    assert outcome["reason"] == "the conversations API repeated a cursor"
    assert outcome["recovered"] == 2


def test_a_backfill_over_a_cursor_that_repeats_ends(stack):
    _mem0_server, api = stack
    api.add(finished_conversation("conv_loop_3"))
    api.knobs.update(repeat_cursor=True)
    steps: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        steps.append(event)
        assert len(steps) < 20, "the backfill kept going"
        return post_call(event, LambdaContext())

    # When a backfill walks the window, Then it ends (no progress on the same page: an error, exit 1),
    # having imported what it could
    with pytest.raises(backfill.BackfillError, match="no progress"):
        backfill.backfill(
            invoke, None, since=0, until=2_000_000_000, agent=None, dry_run=False, progress=backfill.Progress(0, 1)
        )
    assert len(steps) <= backfill.MAX_STALLS + 2
    assert idempotency.was_ingested("conv_loop_3")


def test_a_page_cap_ends_a_list_that_has_more_forever(stack, monkeypatch):
    _mem0_server, api = stack
    # Given more pages than the cap allows (one conversation a page, a cap of two pages)
    for n in range(4):
        api.add(finished_conversation(f"conv_page_{n}", ended_ago=1800 + n))
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 1)
    monkeypatch.setattr(reconcile, "MAX_PAGES", 2)
    outcome = run_schedule()
    # Then the run lists two pages and stops, saying where to resume
    assert list_requests(api) == 2
    assert outcome["status"] == "partial"
    assert outcome["reason"] == "2 pages listed for one agent in one run"
    assert outcome["recovered"] == 2
    assert outcome["resume_after"] is not None


def test_a_detail_with_another_conversation_id_is_marked_and_skipped(stack):
    mem0_server, api = stack
    # Given a listed conversation whose detail answers with another conversation's record
    api.add(finished_conversation("conv_asked"))
    api.add(finished_conversation("conv_other_record", caller="+16125550147", status="initiated"))
    api.knobs.update(answer_as={"conv_asked": "conv_other_record"})
    # When reconcile runs
    outcome = run_schedule()
    # Then nothing is written from it, under either id, and it is counted
    assert outcome["mismatched"] == 1
    assert outcome["recovered"] == 0
    assert not [r for r in mem0_server.requests if r.path.startswith("/v3/memories/add")]
    # And the next runs do not fetch it again
    fetched = api.count(f"{LIST}/conv_asked")
    assert fetched == 1
    again = run_schedule()
    assert again["mismatched"] == 0
    assert api.count(f"{LIST}/conv_asked") == fetched
    assert idempotency.was_ingested("conv_asked")


def test_the_phone_number_list_is_what_the_sdk_reads(elevenlabs_api):
    # The stand-in's answer, read by the official SDK's client (elevenlabs 2.78: phone_numbers.list)
    from elevenlabs import ElevenLabs

    from agentic_memory.stores import conversations_api

    elevenlabs_api.app.add_phone_number("+15550100012", label="front desk", agent_id="agent_a")
    elevenlabs_api.app.add_phone_number("+15550100013")
    client = ElevenLabs(api_key="test-elevenlabs-key", base_url=elevenlabs_api.url)
    listed = client.conversational_ai.phone_numbers.list()
    assert [item.phone_number for item in listed] == ["+15550100012", "+15550100013"]
    assert listed[0].provider == "twilio"
    assert listed[0].assigned_agent.agent_id == "agent_a"
    # and our client reads the same numbers
    assert conversations_api.list_phone_numbers() == ["+15550100012", "+15550100013"]


def test_a_caller_still_reaches_memory_when_nothing_misbehaves(stack):
    # The same run without the faults: the calls are written, the list ends on its own
    mem0_server, api = stack
    api.add(finished_conversation("conv_plain_1"))
    outcome = run_schedule()
    assert outcome["status"] == "done"
    assert outcome["recovered"] == 1
    assert {r.body.get("user_id") for r in mem0_server.requests if r.path.startswith("/v3/memories/add")} == {CALLER}
