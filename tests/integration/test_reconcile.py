"""Reconcile through the post-call handler: the scheduled event, the local fake of ElevenLabs' conversations
API, the local Mem0 server and moto's DynamoDB. A call is written once whichever way it arrives."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest

from agentic_memory.config import get_settings
from agentic_memory.observability import logger
from agentic_memory.stores import idempotency
from agentic_memory.worker import events, reconcile
from post_call.handler import lambda_handler
from tests.support import CALLER, LambdaContext, finished_conversation, http_event, post_call_body, signed_headers

SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-30T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/agentic-memory-reconcile"],
    "detail": {},
}
ADD = ("POST", "/v3/memories/add/")
OTHER_CALLER = "+16125550147"


def reconcile_now(remaining_ms: int = 30_000) -> dict[str, Any]:
    return lambda_handler(dict(SCHEDULED), LambdaContext(remaining_ms=remaining_ms))


def adds(mem0_server) -> int:
    return mem0_server.knobs.count(*ADD)


def memories_of(mem0_server, caller: str) -> list[dict[str, Any]]:
    return mem0_server.store.get_all({"user_id": caller}, page_size=200)[1]


def conversations_in(records: list[dict[str, Any]]) -> set[str]:
    return {(record.get("metadata") or {}).get("conversation_id") for record in records}


def deliver_webhook(body: bytes, lambda_invocations) -> dict[str, Any]:
    """The signed webhook, then the job it queued, run as the asynchronous worker would."""
    before = len(lambda_invocations)
    response = lambda_handler(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert response["statusCode"] == 200
    [(_, _, job)] = lambda_invocations[before:]
    return lambda_handler(job, LambdaContext())


@pytest.fixture
def stack(mem0_server, dynamodb_table, elevenlabs_api):
    return mem0_server, elevenlabs_api


def test_a_call_whose_webhook_was_lost_is_written_exactly_once_by_the_next_reconcile(stack):
    # Given a finished call that ElevenLabs holds but whose webhook never arrived
    mem0_server, api = stack
    api.app.add(finished_conversation("conv_lost_1"))
    assert memories_of(mem0_server, CALLER) == []
    # When the schedule fires
    outcome = reconcile_now()
    # Then the call is remembered under the caller, through the webhook's own writes
    assert outcome["status"] == "done"
    assert outcome["recovered"] == 1
    written = adds(mem0_server)
    assert written >= 2  # the conversation, the summary and the collected facts
    assert conversations_in(memories_of(mem0_server, CALLER)) == {"conv_lost_1"}
    assert idempotency.was_ingested("conv_lost_1")
    # And the runs after it (the window overlaps) neither fetch nor write it again
    fetched = api.app.count("/v1/convai/conversations/")
    again = reconcile_now()
    assert again["recovered"] == 0
    assert again["already"] == 1
    assert adds(mem0_server) == written
    assert api.app.count("/v1/convai/conversations/") == fetched


def test_a_call_delivered_by_webhook_and_found_by_reconcile_is_written_once(stack, lambda_invocations):
    mem0_server, api = stack
    # Given a call whose webhook arrived and was written
    data = finished_conversation("conv_both_1")
    api.app.add(data)
    assert deliver_webhook(post_call_body(**data), lambda_invocations)["status"] == "written"
    written = adds(mem0_server)
    # When reconcile lists the same conversation
    outcome = reconcile_now()
    # Then it is skipped as already ingested, without fetching it or writing
    assert outcome["recovered"] == 0
    assert outcome["already"] == 1
    assert adds(mem0_server) == written
    assert api.app.count("/v1/convai/conversations/conv_both_1") == 0


def test_without_the_marker_the_per_write_idempotency_still_writes_once(stack, lambda_invocations, monkeypatch):
    mem0_server, api = stack
    # Given a webhook written while the "ingested" marker could not be stored (it only saves work)
    data = finished_conversation("conv_both_2")
    api.app.add(data)
    monkeypatch.setattr(idempotency, "mark_ingested", lambda conversation_id, caller_id: False)
    assert deliver_webhook(post_call_body(**data), lambda_invocations)["status"] == "written"
    monkeypatch.undo()
    written = adds(mem0_server)
    # When reconcile fetches it and sends it down the job path again
    outcome = reconcile_now()
    # Then every write is found done: nothing is written twice, and it is not counted as recovered
    assert outcome["recovered"] == 0
    assert outcome["already"] == 1
    assert api.app.count("/v1/convai/conversations/conv_both_2") == 1
    assert adds(mem0_server) == written


def test_a_late_webhook_after_reconcile_writes_nothing_more(stack, lambda_invocations):
    mem0_server, api = stack
    # Given reconcile recovered a call first
    data = finished_conversation("conv_late_1")
    api.app.add(data)
    assert reconcile_now()["recovered"] == 1
    written = adds(mem0_server)
    # When ElevenLabs' own retry finally delivers its webhook
    result = deliver_webhook(post_call_body(**data), lambda_invocations)
    # Then the worker finds it written
    assert result["status"] == "duplicate"
    assert adds(mem0_server) == written


def test_without_an_api_key_reconcile_does_nothing(mem0_server, dynamodb_table, elevenlabs_api, monkeypatch):
    # Given a held conversation, but no ELEVENLABS_API_KEY
    elevenlabs_api.app.add(finished_conversation("conv_nokey"))
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    get_settings.cache_clear()
    # When the event arrives anyway
    outcome = reconcile_now()
    # Then nothing is asked of ElevenLabs and nothing written
    assert outcome["status"] == "disabled"
    assert elevenlabs_api.app.requests == []
    assert adds(mem0_server) == 0


def test_only_finished_settled_calls_with_a_caller_are_written(stack):
    mem0_server, api = stack
    api.app.add(finished_conversation("conv_done", caller=OTHER_CALLER))
    api.app.add(finished_conversation("conv_failed", status="failed"))
    api.app.add(finished_conversation("conv_running", status="in-progress"))
    api.app.add(finished_conversation("conv_processing", status="processing"))
    api.app.add(finished_conversation("conv_just_ended", ended_ago=30))
    api.app.add(finished_conversation("conv_withheld", caller="anonymous"))
    outcome = reconcile_now()
    assert outcome["listed"] == 6
    assert (outcome["recovered"], outcome["failed_calls"], outcome["unfinished"]) == (1, 1, 2)
    assert (outcome["settling"], outcome["not_remembered"], outcome["errors"]) == (1, 1, 0)
    assert conversations_in(memories_of(mem0_server, OTHER_CALLER)) == {"conv_done"}
    assert memories_of(mem0_server, CALLER) == []
    # A call with nobody to remember is marked, so later runs stop fetching it; unfinished ones are not
    assert idempotency.was_ingested("conv_withheld")
    assert not idempotency.was_ingested("conv_running")
    assert not idempotency.was_ingested("conv_just_ended")


def test_the_lookback_window_and_agent_filter_decide_what_is_listed(stack, monkeypatch):
    mem0_server, api = stack
    monkeypatch.setenv("RECONCILE_LOOKBACK_MINUTES", "60")
    monkeypatch.setenv("RECONCILE_AGENT_IDS", "agent_a")
    get_settings.cache_clear()
    api.app.add(finished_conversation("conv_old", ended_ago=3 * 3600, agent_id="agent_a"))
    api.app.add(finished_conversation("conv_a", agent_id="agent_a"))
    api.app.add(finished_conversation("conv_b", caller=OTHER_CALLER, agent_id="agent_b"))
    outcome = reconcile_now()
    assert (outcome["listed"], outcome["recovered"]) == (1, 1)
    assert conversations_in(memories_of(mem0_server, CALLER)) == {"conv_a"}
    [listing] = [r for r in api.app.requests if r.path == "/v1/convai/conversations"]
    assert listing.query["agent_id"] == ["agent_a"]
    assert abs(int(listing.query["call_start_after_unix"][0]) - (int(time.time()) - 3600)) < 60


def test_reconcile_pages_through_the_whole_window(stack, monkeypatch):
    mem0_server, api = stack
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 2)
    callers = [f"+1612555{index:04d}" for index in range(5)]
    for index, caller in enumerate(callers):
        api.app.add(finished_conversation(f"conv_page_{index}", caller=caller, ended_ago=1800 + index))
    outcome = reconcile_now()
    assert outcome["recovered"] == 5
    assert api.app.count("/v1/convai/conversations") - api.app.count("/v1/convai/conversations/") == 3
    for index, caller in enumerate(callers):
        assert conversations_in(memories_of(mem0_server, caller)) == {f"conv_page_{index}"}


def test_a_run_stops_when_time_runs_short_and_the_next_one_finishes(stack):
    mem0_server, api = stack
    api.app.add(finished_conversation("conv_time_1"))
    api.app.add(finished_conversation("conv_time_2", caller=OTHER_CALLER))
    # Given an invocation with too little time left to write a call safely
    short = reconcile_now(remaining_ms=3_000)
    assert short["status"] == "partial"
    assert short["recovered"] == 0
    assert adds(mem0_server) == 0
    assert short["resume_after"] is not None
    # When the next run has time, Then both are written
    full = reconcile_now()
    assert (full["status"], full["recovered"]) == ("done", 2)


def test_a_429_with_retry_after_is_waited_out(stack):
    _mem0_server, api = stack
    api.app.add(finished_conversation("conv_busy"))
    api.app.knobs.update(fail_times=2, retry_after=0)
    outcome = reconcile_now()
    assert outcome["recovered"] == 1
    assert [r.status for r in api.app.requests][:3] == [429, 429, 200]


def test_a_429_longer_than_the_run_can_wait_leaves_the_call_for_the_next_run(stack):
    mem0_server, api = stack
    api.app.add(finished_conversation("conv_busy_long"))
    api.app.knobs.update(fail_times=1, retry_after=120)
    outcome = reconcile_now()
    assert outcome["status"] == "throttled"
    assert outcome["retry_after"] == 120
    assert adds(mem0_server) == 0
    assert reconcile_now()["recovered"] == 1  # the fake has recovered; the next run writes it


def test_a_wrong_key_fails_the_run_loudly_but_does_not_raise(stack, monkeypatch):
    mem0_server, api = stack
    api.app.add(finished_conversation("conv_wrong_key"))
    monkeypatch.setenv("ELEVENLABS_API_KEY", "not-the-key")
    get_settings.cache_clear()
    outcome = reconcile_now()
    assert outcome["status"] == "failed"
    assert "401" in outcome["reason"]
    assert adds(mem0_server) == 0


def test_recovered_calls_are_counted_and_logs_hold_no_number_or_transcript(stack, capsys):
    _mem0_server, api = stack
    api.app.add(finished_conversation("conv_metric_1"))
    api.app.add(finished_conversation("conv_metric_2", caller=OTHER_CALLER))
    handler = logger.registered_handler
    previous, handler.stream = handler.stream, sys.stdout
    try:
        capsys.readouterr()
        assert reconcile_now()["recovered"] == 2
        out = capsys.readouterr().out
    finally:
        handler.stream = previous
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line]
    recovered = [line["ConversationsRecovered"] for line in emf if "ConversationsRecovered" in line]
    assert recovered
    assert sum(v if isinstance(v, int | float) else sum(v) for v in recovered) == 2
    assert {line["service"] for line in emf} == {"post-call"}
    assert CALLER not in out
    assert OTHER_CALLER not in out
    assert "blue ceramic vases" not in out  # transcript text
    finished = [line for line in lines if line.get("message") == "reconcile finished"]
    assert finished
    assert finished[0]["recovered"] == 2


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (SCHEDULED, True),
        ({"kind": reconcile.WINDOW_KIND, "after_unix": 0}, True),
        ({"source": "aws.events", "detail-type": "Object Created"}, False),
        ({"kind": "post_call_job"}, False),
        ({"routeKey": "POST /post-call"}, False),
        ([], False),
    ],
)
def test_only_schedules_and_windows_are_reconcile_events(event, expected):
    assert events.is_reconcile_event(event) is expected


@pytest.mark.parametrize(
    "window",
    [
        {"after_unix": "yesterday"},
        {"after_unix": -1},
        {"after_unix": 0, "agent_id": ""},
        {"after_unix": 0, "dry_run": "yes"},
        {"after_unix": 0, "cursor": "x"},
    ],
)
def test_a_malformed_window_is_refused_without_reading_anything(stack, window):
    mem0_server, api = stack
    api.app.add(finished_conversation("conv_window"))
    outcome = lambda_handler({"kind": reconcile.WINDOW_KIND, **window}, LambdaContext())
    assert outcome["status"] == "invalid"
    assert api.app.requests == []
    assert adds(mem0_server) == 0


def test_a_long_mem0_timeout_still_leaves_time_to_recover_a_call(stack, monkeypatch):
    # Given MEM0_TIMEOUT at the template's maximum (25 s), two of which exceed the whole 30 s invocation
    _, api = stack
    monkeypatch.setenv("MEM0_TIMEOUT", "25")
    get_settings.cache_clear()
    api.app.add(finished_conversation("conv_slow_config"))
    # When the schedule fires, Then the call is still written
    assert reconcile_now()["recovered"] == 1
