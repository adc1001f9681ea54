"""The retention sweep end to end: the post-call function's worker writes calls (and their ledger lines) to the
Mem0 stand-in over HTTP with mem0ai's real client and to moto's DynamoDB, then the sweep's scheduled event
deletes what is due: gone from Mem0 (``get`` answers 404, as Mem0's openapi ``memories_read`` documents),
gone from the caller profile, recorded in the audit trail, and nothing that is not due touched."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agentic_memory.config import get_settings
from agentic_memory.domain.retention import SETTLE_SECONDS
from agentic_memory.stores import audit_log, aws_clients, retention_ledger
from agentic_memory.stores import mem0 as memory
from agentic_memory.worker import retention_sweep
from post_call.handler import lambda_handler as post_call_handler
from tests.support import CALLER, LambdaContext, http_event, load_event, post_call_body, signed_headers

OTHER = "+15550001111"
DAY = 86_400
SWEEP = {"kind": "retention_sweep"}


@pytest.fixture
def stack(mem0_server, profile_table, audit_table, monkeypatch):
    """Mem0's stand-in, the profile table (with the ledger's index) and the audit table, as deployed."""
    return mem0_server


def job_event(conversation: str, *, caller: str = CALLER, started: int, due: int | None) -> dict[str, Any]:
    event = load_event("post_call_job.json")
    event.update(conversation_id=conversation, caller_id=caller, start_time_unix_secs=started, event_timestamp=started)
    # Each call says something of its own: Mem0 (and its stand-in) keep a repeated fact only once.
    event["turns"] = [
        *event["turns"][:2],
        {"role": "user", "content": f"Please note the reference {conversation} for the delivery of my vases."},
    ]
    event["summary"] = f"The caller asked about the delivery with reference {conversation}."
    event["data_collection"] = {**event["data_collection"], "order_reference": conversation}
    if due is not None:
        event["delete_at"] = due
        event["expires_on"] = datetime.fromtimestamp(due, UTC).date().isoformat()
    return event


def write_call(server, conversation: str, **kwargs: Any) -> list[str]:
    """Run the worker on one call and wait until Mem0 has extracted it; the ids of its memories."""
    assert post_call_handler(job_event(conversation, **kwargs), LambdaContext())["status"] == "written"
    assert server.wait_idle(10)
    caller = kwargs.get("caller", CALLER)
    listed = server.store.get_all({"user_id": caller}, page_size=200, show_expired=True)[1]  # expired: only hidden
    ids = [r["id"] for r in listed if (r["metadata"] or {}).get("conversation_id") == conversation]
    assert ids, "the call left memories to sweep"
    return ids


def sweep(**kwargs: Any) -> dict[str, Any]:
    return post_call_handler(SWEEP, LambdaContext(**kwargs))


def mem0_get_status(server, memory_id: str) -> int:
    """What Mem0 answers to ``GET /v1/memories/{id}/``, over HTTP, as the platform would be asked."""
    response = httpx.get(f"{server.url}/v1/memories/{memory_id}/", headers={"Authorization": "Token test-mem0-key"})
    return response.status_code


def item(table: str, pk: str, sk: str) -> dict[str, Any] | None:
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return aws_clients.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def ledger_line(table: str, conversation: str, caller: str = CALLER) -> dict[str, Any] | None:
    return item(table, caller, retention_ledger.sort_key("call", conversation))


def test_a_memory_whose_retention_ended_is_gone_from_mem0_and_dynamodb_after_one_sweep(stack, profile_table):
    now = int(time.time())
    # Given a caller whose only call was 40 days ago and was due for deletion 10 days ago
    old_ids = write_call(stack, "conv_old", started=now - 40 * DAY, due=now - 10 * DAY)
    assert item(profile_table, CALLER, "shared") is not None
    assert ledger_line(profile_table, "conv_old") is not None
    assert all(mem0_get_status(stack, memory_id) == 200 for memory_id in old_ids)

    # When the sweep runs once
    outcome = sweep()

    # Then every memory of that call is deleted, not hidden: Mem0's get answers 404 for each
    assert outcome["status"] == "done"
    assert outcome["memories_deleted"] == len(old_ids)
    assert [mem0_get_status(stack, memory_id) for memory_id in old_ids] == [404] * len(old_ids)
    assert memory.get_store("worker").get(old_ids[0]) is None
    assert stack.store.count({"user_id": CALLER}) == 0
    # And the profile is gone from DynamoDB: nothing of the caller is left
    assert item(profile_table, CALLER, "shared") is None
    assert outcome["profiles_deleted"] == 1
    # And its ledger line waits one more look (Mem0 may still have been extracting a call written just now)
    line = ledger_line(profile_table, "conv_old")
    assert line is not None
    assert int(line["due_at"]["N"]) == int(line["recorded_at"]["N"]) + SETTLE_SECONDS


def test_a_call_with_a_deletion_time_in_the_past_is_deleted_by_the_next_sweep(stack, profile_table, lambda_invocations):
    # Given a post-call webhook whose workspace deletion time for the call has already passed
    now = int(time.time())
    payload = json.loads(post_call_body())
    metadata = payload["data"]["metadata"]
    metadata["start_time_unix_secs"] = now - 3_600
    metadata["deletion_settings"] = {"deletion_time_unix_secs": now - 60}
    raw = json.dumps(payload).encode()
    response = post_call_handler(http_event("/post-call", raw, signed_headers(raw)), LambdaContext())
    assert response["statusCode"] == 200
    [(_, _, job)] = lambda_invocations
    # The job carries the exact due time, and Mem0 gets a valid YYYY-MM-DD expiration date as a first line
    assert job["delete_at"] == now - 60
    assert job["expires_on"] == datetime.fromtimestamp(now - 60, UTC).date().isoformat()
    assert post_call_handler(job, LambdaContext())["status"] == "written"
    assert stack.wait_idle(10)
    caller = job["caller_id"]
    adds = [r.body for r in stack.requests if r.path.startswith("/v3/memories/add/")]
    assert adds
    assert {body["expiration_date"] for body in adds} == {job["expires_on"]}
    ids = [r["id"] for r in stack.store.get_all({"user_id": caller}, page_size=200, show_expired=True)[1]]
    assert ids

    # When the next sweep runs
    outcome = sweep()

    # Then the call's memories are deleted from Mem0 and its profile from DynamoDB
    assert outcome["memories_deleted"] == len(ids)
    assert {mem0_get_status(stack, memory_id) for memory_id in ids} == {404}
    assert item(profile_table, caller, "shared") is None
    # And the deletion is in the audit trail: ids and counts, the caller masked, no content
    [record] = [r for r in audit_log.recent(days=1) if r["action"] == "retention_delete"]
    assert record["who"] == "retention-sweep"
    assert record["detail"]["ref"] == job["conversation_id"]
    assert record["detail"]["memories_deleted"] == len(ids)
    assert caller not in json.dumps(record)


def test_a_sweep_interrupted_by_mem0_429s_resumes_and_finishes(stack, profile_table, monkeypatch):
    now = int(time.time())
    # Given three calls of one caller, written while still kept (a job waiting for its turn at Mem0 past its
    # memories' last day writes nothing: worker.throttling), each due before the sweep below
    written = {c: write_call(stack, c, started=now - 50 * DAY + i, due=now + 60 + i)
               for i, c in enumerate(("conv_a", "conv_b", "conv_c"))}  # fmt: skip
    later = now + 2 * SETTLE_SECONDS  # the lines are due and settled: a swept line is finished, not looked at again
    # And Mem0 starts throttling (429, Retry-After 7) right after the first line is swept: 4 requests refused
    finish = retention_ledger.finish
    throttled_once: list[bool] = []

    def finish_then_throttle(entry, **kwargs):
        finish(entry, **kwargs)
        if not throttled_once:
            throttled_once.append(True)
            stack.knobs.update(fail_status=429, fail_times=4, retry_after=7)

    monkeypatch.setattr(retention_ledger, "finish", finish_then_throttle)
    waits: list[float] = []
    settings = get_settings()

    # When a sweep runs: Retry-After is waited for (twice), then the run stops and leaves the rest
    first = retention_sweep.run(time_left=lambda: 25.0, settings=settings, now=later, sleep=waits.append)
    assert (first.status, first.retry_after, first.swept) == ("throttled", 7.0, 1)
    assert waits == [7.0, 7.0]
    assert all(stack.store.get(i) is None for i in written["conv_a"])  # (not over HTTP: Mem0 still throttles)
    assert stack.store.count({"user_id": CALLER}) == len(written["conv_b"]) + len(written["conv_c"])
    assert ledger_line(profile_table, "conv_a") is None
    assert ledger_line(profile_table, "conv_b") is not None
    assert ledger_line(profile_table, "conv_c") is not None

    # When the next sweep runs (Mem0 refuses once more, then recovers)
    stack.clear_requests()
    second = retention_sweep.run(time_left=lambda: 25.0, settings=settings, now=later, sleep=waits.append)

    # Then it resumes with what was left, never asks about the finished call again, and finishes
    assert (second.status, second.swept) == ("done", 2)
    assert waits == [7.0, 7.0, 7.0]
    assert stack.store.count({"user_id": CALLER}) == 0
    assert not any("conv_a" in json.dumps(r.body) for r in stack.requests)
    assert ledger_line(profile_table, "conv_b") is None
    assert ledger_line(profile_table, "conv_c") is None
    assert item(profile_table, CALLER, "shared") is None


def test_nothing_not_yet_due_is_touched(stack, profile_table):
    now = int(time.time())
    # Given a caller with one call due tomorrow and one due next month, and another caller with a call not
    # yet due, and a profile that counts both of the first caller's calls
    due_ids = write_call(stack, "conv_due", started=now - 29 * DAY, due=now + DAY)
    kept_ids = write_call(stack, "conv_kept", started=now - DAY, due=now + 29 * DAY)
    other_ids = write_call(stack, "conv_other", caller=OTHER, started=now - DAY, due=now + 29 * DAY)
    assert json.loads(item(profile_table, CALLER, "shared")["doc"]["S"])["calls"] == 2
    other_before = item(profile_table, OTHER, "shared")
    kept_line = ledger_line(profile_table, "conv_kept")
    stack.clear_requests()

    # When the sweep runs two days later
    outcome = retention_sweep.run(time_left=lambda: 25.0, settings=get_settings(), now=now + 2 * DAY).as_dict()

    # Then only the due call's memories were deleted, each by its own id
    deleted = {r.path.split("/")[3] for r in stack.requests if r.method == "DELETE"}
    assert deleted == set(due_ids)
    assert outcome["memories_deleted"] == len(due_ids)
    assert {mem0_get_status(stack, i) for i in kept_ids + other_ids} == {200}
    # And the caller's profile keeps the call not yet due (and only it), the other caller's is untouched
    profile = json.loads(item(profile_table, CALLER, "shared")["doc"]["S"])
    assert profile["calls"] == 1
    assert profile["last"]["conversation_id"] == "conv_kept"
    assert [entry[1] for entry in json.loads(item(profile_table, CALLER, "shared")["calls_seen"]["S"])] == ["conv_kept"]
    assert item(profile_table, OTHER, "shared") == other_before
    assert ledger_line(profile_table, "conv_kept") == kept_line
    assert ledger_line(profile_table, "conv_other", OTHER) is not None


def test_the_profile_loses_what_the_due_call_gave_and_the_greeting_follows(stack, profile_table):
    now = int(time.time())
    # Given an old call that gave the caller's name and collected fields, and a newer call not yet due
    write_call(stack, "conv_named", started=now - 29 * DAY, due=now + DAY)
    event = job_event("conv_plain", started=now - DAY, due=now + 29 * DAY)
    event.update(caller_name=None, data_collection={}, summary="A short follow-up call.")
    assert post_call_handler(event, LambdaContext())["status"] == "written"
    assert stack.wait_idle(10)
    before = json.loads(item(profile_table, CALLER, "shared")["doc"]["S"])
    assert before["name"]
    assert before["facts"]

    # When the sweep runs two days later, when the old call is due
    outcome = retention_sweep.run(time_left=lambda: 25.0, settings=get_settings(), now=now + 2 * DAY)
    assert outcome.profiles_trimmed == 1

    # Then the name and the fields of the deleted call are gone, and the Mem0 part was read again
    after = json.loads(item(profile_table, CALLER, "shared")["doc"]["S"])
    assert after["name"] == ""
    assert after["facts"] == {}
    assert after["mem0"]["read_at"] > before["mem0"]["read_at"]
    assert all("Maria" not in fact for fact in after["mem0"]["facts"])


def test_mem0_failing_keeps_the_line_counts_the_failure_and_deletes_nothing_else(stack, profile_table):
    now = int(time.time())
    write_call(stack, "conv_due", started=now - 40 * DAY, due=now - DAY)
    # Given Mem0 answering 500 to everything
    stack.knobs.update(fail_status=500)
    settings = get_settings()

    # When the sweep runs
    outcome = retention_sweep.run(time_left=lambda: 25.0, settings=settings, now=now, sleep=lambda _: None)

    # Then the line stays for the next run and the run says it failed to sweep it
    assert outcome.errors == 1
    assert outcome.swept == 0
    assert ledger_line(profile_table, "conv_due") is not None
    stack.knobs.update(fail_status=None)
    assert stack.store.count({"user_id": CALLER}) > 0
