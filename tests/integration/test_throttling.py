"""The worker at Mem0's quota (issue 23): it takes its turn on the shared schedule, sleeps a moment or waits in
the SQS delay queue, comes back through the queue's event source mapping, and meets a 429 by waiting again,
never by failing into Lambda's retries; with the real mem0ai client against the Mem0 stand-in's quota, and
DynamoDB and SQS through moto."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from agentic_memory.config import get_settings
from agentic_memory.stores import pace_ledger
from agentic_memory.worker.throttling import Throttled
from post_call.handler import lambda_handler
from standins.mem0_quota import Limit
from standins.sqs import sqs_record, waiting_bodies
from tests.support import LambdaContext, load_event

ADDS = "/v3/memories/add/"


@pytest.fixture
def wait_queue(dynamodb_table, monkeypatch):
    """The delay queue (moto's SQS, inside the same mock as the idempotency table), named by DEFER_QUEUE_URL."""
    url = boto3.client("sqs").create_queue(QueueName="post-call-wait")["QueueUrl"]
    monkeypatch.setenv("DEFER_QUEUE_URL", url)
    get_settings.cache_clear()
    pace_ledger.reset()
    yield url
    pace_ledger.reset()


def paced(monkeypatch, limit: str) -> None:
    monkeypatch.setenv("MEM0_ADD_LIMIT", limit)
    get_settings.cache_clear()


def job_event(n: int, **changes) -> dict:
    event = load_event("post_call_job.json")
    event["conversation_id"] = f"conv_throttle_{n:03d}"
    event.update(changes)
    return event


def adds(server) -> int:
    return sum(1 for r in server.requests if r.path == ADDS)


def received(queue_url: str, wait: int = 0) -> list[dict]:
    """What the queue shows now (or within ``wait`` seconds): a delayed message only once its delay is over."""
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=wait
    )
    return messages.get("Messages", [])


def waiting(queue_url: str) -> list[dict]:
    """Every job in the queue, delayed or not (moto's own view: SQS cannot list delayed messages)."""
    return [json.loads(body) for body in waiting_bodies(queue_url.rsplit("/", 1)[-1])]


def come_back(message: dict, *, turn_now: bool = False) -> dict:
    """The event source mapping's event for ``message`` (its time come: with ``turn_now`` the slot it carries
    is moved to now, as if its delay had passed)."""
    if turn_now:
        body = json.loads(message["Body"])
        body["pacing"]["slot"] = time.time()
        message = {**message, "Body": json.dumps(body)}
    return {"Records": [sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:post-call-wait")]}


class TestTheSchedule:
    def test_concurrent_reservations_get_distinct_slots_spaced_by_their_cost(self, wait_queue, monkeypatch):
        # Given 12 workers reserving at the same moment, each for 0.5 s of schedule
        now = time.time()
        slots: list[float] = []
        lock = threading.Lock()

        def take() -> None:
            slot = pace_ledger.reserve(0.5, now=now)
            with lock:
                slots.append(slot)

        threads = [threading.Thread(target=take) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Then each got its own turn, 0.5 s after the one before, the first at once
        assert sorted(slots) == pytest.approx([now + 0.5 * i for i in range(12)])

    def test_a_429_holds_everyone_off_and_never_moves_the_schedule_back(self, wait_queue):
        now = time.time()
        pace_ledger.hold_off(now + 30)
        assert pace_ledger.reserve(1.0, now=now) == pytest.approx(now + 30)
        pace_ledger.hold_off(now + 10)  # an earlier hold cannot shorten it
        assert pace_ledger.reserve(1.0, now=now) == pytest.approx(now + 31)


class TestAJobTakesItsTurn:
    def test_a_burst_is_written_at_the_pace_the_later_ones_waiting_in_the_queue(
        self, mem0_server, wait_queue, monkeypatch
    ):
        # Given Mem0 allowing 4 adds per 8 s, and the worker told so (each job: 2 adds, 4.4 s of schedule)
        mem0_server.quota.configure(add_limit="4/8s")
        paced(monkeypatch, "4/8s")
        # When three calls' jobs arrive at once
        results = [lambda_handler(job_event(n), LambdaContext()) for n in range(3)]
        # Then the first is written at once, the two others wait in the queue for their turns
        assert [r["status"] for r in results] == ["written", "deferred", "deferred"]
        queued = waiting(wait_queue)
        assert [job["conversation_id"] for job in queued] == ["conv_throttle_001", "conv_throttle_002"]
        assert [job["pacing"]["deferrals"] for job in queued] == [1, 1]
        first, second = (job["pacing"]["slot"] for job in queued)
        assert second - first == pytest.approx(2 * 8 / (4 * 0.9), abs=0.01)  # spaced by a job's cost
        # And nothing was refused: Mem0 was never asked faster than its quota
        assert adds(mem0_server) == 2
        # When the event source mapping brings each back as its delay ends (before its turn, never after)
        for _ in range(2):
            [message] = received(wait_queue, wait=8)
            turn = json.loads(message["Body"])["pacing"]["slot"]
            assert time.time() <= turn + 0.5
            answer = lambda_handler(come_back(message), LambdaContext())
            # Then it sleeps to its turn and is written
            assert answer == {"batchItemFailures": []}
            assert time.time() >= turn
        assert adds(mem0_server) == 6
        assert mem0_server.quota.peaks()["add"]["throttled"] == 0
        assert mem0_server.quota.peaks()["add"]["peak"] <= 4

    def test_a_429_despite_the_schedule_makes_the_job_wait_again_not_fail(self, mem0_server, wait_queue, monkeypatch):
        # Given the worker told 1,000 adds a minute, but Mem0 allowing only 1 (another client on the project)
        mem0_server.quota.configure(add_limit=Limit(1, 60.0))
        paced(monkeypatch, "1000/min")
        # When a call's job runs: its conversation goes through, its notes get a 429
        result = lambda_handler(job_event(1), LambdaContext())
        # Then it does not raise (Lambda would retry, then park it): it waits in the queue, held past Retry-After
        assert result["status"] == "deferred"
        [queued] = waiting(wait_queue)
        slot = queued["pacing"]["slot"]
        assert slot >= time.time() + 50  # Mem0's Retry-After: the rest of its minute
        # And every other worker's next turn is after it too
        assert pace_ledger.reserve(0.1) >= slot
        # When its turn comes (Mem0's minute over)
        mem0_server.quota.configure(add_limit=None)
        mem0_server.clear_requests()
        message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": json.dumps(queued)}
        assert lambda_handler(come_back(message, turn_now=True), LambdaContext()) == {"batchItemFailures": []}
        # Then only the refused write is made, without asking Mem0 what it holds: the 429 stored nothing
        assert [r.path for r in mem0_server.requests] == [ADDS]
        assert mem0_server.requests[0].body["metadata"]["kind"] == "call_notes"

    def test_without_a_queue_a_long_wait_fails_so_lambda_retries(self, mem0_server, dynamodb_table, monkeypatch):
        paced(monkeypatch, "1000/min")
        pace_ledger.hold_off(time.time() + 120)  # the quota known spent for two minutes
        with pytest.raises(Throttled):
            lambda_handler(job_event(1), LambdaContext())
        assert adds(mem0_server) == 0

    def test_a_waiting_job_past_its_memories_expiry_is_dropped(self, mem0_server, wait_queue, monkeypatch):
        paced(monkeypatch, "1000/min")
        pace_ledger.hold_off(time.time() + 120)
        yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        assert lambda_handler(job_event(1, expires_on=yesterday), LambdaContext()) == {"status": "expired", "writes": 0}
        assert waiting(wait_queue) == []
        assert adds(mem0_server) == 0

    def test_a_job_that_waited_too_long_gives_up_and_is_parked(self, mem0_server, wait_queue, monkeypatch):
        monkeypatch.setenv("MEM0_THROTTLE_MAX_WAIT_HOURS", "1")
        paced(monkeypatch, "1000/min")
        pace_ledger.hold_off(time.time() + 600)
        event = job_event(1, pacing={"since": time.time() - 3500})
        with pytest.raises(Throttled):
            lambda_handler(event, LambdaContext())

    def test_a_repeated_delivery_of_a_written_call_takes_no_turn(self, mem0_server, wait_queue, monkeypatch):
        paced(monkeypatch, "1000/min")
        assert lambda_handler(job_event(1), LambdaContext())["status"] == "written"
        pace_ledger.hold_off(time.time() + 600)  # the quota spent meanwhile
        assert lambda_handler(job_event(1), LambdaContext()) == {"status": "duplicate", "writes": 0}
        assert waiting(wait_queue) == []


class TestACopyOfTheSameCall:
    def test_a_copy_that_finds_the_other_writing_waits_a_moment_instead_of_failing(
        self, mem0_server, wait_queue, monkeypatch
    ):
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        from agentic_memory.worker import job_runner, throttling

        # Given a repeated delivery whose twin is writing the same call right now (Powertools' record in progress)
        def busy(*args, **kwargs):
            raise IdempotencyAlreadyInProgressError("Execution already in progress with idempotency key")

        monkeypatch.setattr(job_runner, "_write", busy)
        # When it runs, Then it does not fail into Lambda's retries: it looks again a few seconds later
        answer = lambda_handler(job_event(3), LambdaContext())
        assert answer == {"status": "deferred", "writes": 0, "delay_seconds": throttling.COPY_WAIT_SECONDS}
        [queued] = waiting(wait_queue)
        # And without a turn of its own: it takes one when it comes back, should the twin have failed
        assert queued["pacing"]["slot"] is None
        assert queued["pacing"]["deferrals"] == 1

    def test_without_a_queue_the_copy_fails_so_lambda_retries_it(self, mem0_server, dynamodb_table, monkeypatch):
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        from agentic_memory.worker import job_runner

        def busy(*args, **kwargs):
            raise IdempotencyAlreadyInProgressError("Execution already in progress with idempotency key")

        monkeypatch.setattr(job_runner, "_write", busy)
        with pytest.raises(IdempotencyAlreadyInProgressError):
            lambda_handler(job_event(3), LambdaContext())


class TestTheQueuesEvents:
    def test_a_failing_job_goes_back_to_lambdas_retries_and_a_stray_message_is_dropped(
        self, mem0_server, wait_queue, lambda_invocations
    ):
        mem0_server.knobs.update(fail_status=503)
        job = job_event(7, pacing={"slot": time.time()})
        records = [
            {"MessageId": "m-job", "ReceiptHandle": "r1", "Body": json.dumps(job)},
            {"MessageId": "m-stray", "ReceiptHandle": "r2", "Body": "not a job"},
        ]
        event = {"Records": [sqs_record(m, "arn:aws:sqs:us-east-1:123456789012:q") for m in records]}
        # When both come back, Mem0 failing
        answer = lambda_handler(event, LambdaContext())
        # Then neither is reported failed: the job was handed back as an asynchronous invocation (its retries
        # and the dead-letter queue are Lambda's now), the stray message dropped
        assert answer == {"batchItemFailures": []}
        [(_, invocation_type, handed)] = lambda_invocations
        assert invocation_type == "Event"
        assert handed["conversation_id"] == "conv_throttle_007"

    def test_a_job_that_cannot_be_handed_back_is_reported_so_sqs_shows_it_again(
        self, mem0_server, wait_queue, lambda_invocations
    ):
        mem0_server.knobs.update(fail_status=503)
        lambda_invocations.fail_with = ConnectionError("Lambda unreachable")
        job = job_event(8, pacing={"slot": time.time()})
        message = {"MessageId": "m-8", "ReceiptHandle": "r8", "Body": json.dumps(job)}
        answer = lambda_handler(come_back(message), LambdaContext())
        assert answer == {"batchItemFailures": [{"itemIdentifier": "m-8"}]}
