"""make dev's SQS (standins/sqs.py): the template's queues made in moto as CloudFormation would make them, and
Lambda's SQS event source mapping as the Lambda Developer Guide describes it: batches, deletes after success,
failed batches back after the visibility timeout and parked after maxReceiveCount, ReportBatchItemFailures,
MaximumConcurrency; and make dev parking what still waits when it stops."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from standins.aws_lambda import LambdaRuntime, LocalFunction
from standins.sam_template import Template
from standins.sqs import QueueDefinition, QueueEvent, SqsEventSource, create_queues, failed_ids, waiting_bodies


@pytest.fixture
def sqs(moto_server: str):
    return boto3.client(
        "sqs",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def queue_pair(sqs, visibility: int = 1, max_receives: int = 2) -> tuple[str, str, QueueDefinition]:
    suffix = uuid.uuid4().hex[:8]
    definitions = {
        "Dlq": QueueDefinition("Dlq", f"dlq-{suffix}"),
        "Work": QueueDefinition(
            "Work", f"work-{suffix}", {"VisibilityTimeout": str(visibility)}, "Dlq", max_receive_count=max_receives
        ),
    }
    urls = create_queues(sqs, definitions)
    return urls["Work"], urls["Dlq"], definitions["Work"]


def count(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(
        int(attributes[name])
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


class Recorder:
    """A function's invocations: each event, and the outcome to give (ok and result)."""

    def __init__(self, answer=None, ok: bool = True, pause: float = 0.0) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer, self.ok, self.pause = answer, ok, pause
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> Any:
        with self.lock:
            self.events.append(event)
        time.sleep(self.pause)
        answer = self.answer(event) if callable(self.answer) else self.answer
        return SimpleNamespace(ok=self.ok, result=answer)


def mapping(**changes) -> QueueEvent:
    return QueueEvent(**({"function": "f", "queue": "Work", "batch_size": 1, "maximum_concurrency": 2} | changes))


class TestTheTemplatesQueues:
    def test_the_wait_queue_its_redrive_and_its_mapping_are_read_from_the_template(self):
        template = Template.read()
        queues = template.queues()
        wait = queues["PostCallWaitQueue"]
        assert wait.name == "agentic-memory-dev-post-call-wait"
        assert wait.attributes == {"MessageRetentionPeriod": "1209600", "VisibilityTimeout": "180"}
        assert (wait.dead_letter, wait.max_receive_count) == ("PostCallDeadLetterQueue", 3)
        assert template.queue_variables() == {"DEFER_QUEUE_URL": "PostCallWaitQueue"}
        [event] = template.queue_events()
        assert event == QueueEvent(
            function="agentic-memory-dev-post-call",
            queue="PostCallWaitQueue",
            batch_size=1,
            report_failures=True,
            maximum_concurrency=20,  # the WaitingJobsConcurrency parameter's default
        )

    def test_queues_are_made_dead_letter_first_with_their_attributes(self, sqs):
        work, dlq, _ = queue_pair(sqs, visibility=7, max_receives=4)
        attributes = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
        assert attributes["VisibilityTimeout"] == "7"
        policy = json.loads(attributes["RedrivePolicy"])
        assert policy["maxReceiveCount"] == 4
        assert policy["deadLetterTargetArn"].endswith(dlq.rsplit("/", 1)[-1])


class TestTheEventSourceMapping:
    def test_a_batch_that_succeeds_is_deleted_and_the_event_is_lambdas_sqs_event(self, sqs):
        work, _, definition = queue_pair(sqs)
        sqs.send_message(QueueUrl=work, MessageBody='{"n": 1}')
        invoke = Recorder(answer={"batchItemFailures": []})
        source = SqsEventSource(sqs, work, definition.arn(), mapping(report_failures=True), invoke).start()
        try:
            assert wait_until(lambda: invoke.events and count(sqs, work) == 0)
        finally:
            source.close()
        [record] = invoke.events[0]["Records"]
        assert record["body"] == '{"n": 1}'
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == definition.arn()
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert {"messageId", "receiptHandle", "md5OfBody", "awsRegion", "messageAttributes"} <= set(record)

    def test_a_failed_batch_comes_back_after_the_visibility_timeout_then_goes_to_the_dead_letter_queue(self, sqs):
        work, dlq, definition = queue_pair(sqs, visibility=1, max_receives=2)
        sqs.send_message(QueueUrl=work, MessageBody="fails")
        invoke = Recorder(ok=False)
        source = SqsEventSource(sqs, work, definition.arn(), mapping(), invoke).start()
        try:
            assert wait_until(lambda: count(sqs, dlq) == 1, timeout=15)
        finally:
            source.close()
        receives = [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in invoke.events]
        assert receives == ["1", "2"]
        assert count(sqs, work) == 0

    def test_report_batch_item_failures_keeps_only_the_records_named(self, sqs):
        work, _, definition = queue_pair(sqs, visibility=30)
        for n in range(3):
            sqs.send_message(QueueUrl=work, MessageBody=f"m{n}")

        def fail_m1(event):
            return {
                "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "m1"]
            }

        invoke = Recorder(answer=fail_m1)
        source = SqsEventSource(sqs, work, definition.arn(), mapping(batch_size=3, report_failures=True), invoke)
        source.start()
        try:
            assert wait_until(lambda: sum(len(e["Records"]) for e in invoke.events) >= 3 and count(sqs, work) == 1)
        finally:
            source.close()
        assert count(sqs, work) == 1  # m1, invisible until its visibility timeout ends

    def test_an_answer_naming_an_unknown_record_fails_the_whole_batch(self):
        assert failed_ids({"batchItemFailures": [{"itemIdentifier": "x"}]}, ["a", "b"], True) is None
        assert failed_ids({"batchItemFailures": [{"nope": 1}]}, ["a"], True) is None
        assert failed_ids({"batchItemFailures": "a"}, ["a"], True) is None
        assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ["a", "b"], True) == {"a"}
        assert failed_ids({"batchItemFailures": []}, ["a"], True) == set()
        assert failed_ids(None, ["a"], True) == set()  # Lambda: an empty or null answer is a complete success
        assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ["a"], False) == set()  # not enabled

    def test_no_more_invocations_at_once_than_maximum_concurrency(self, sqs):
        work, _, definition = queue_pair(sqs, visibility=30)
        for n in range(8):
            sqs.send_message(QueueUrl=work, MessageBody=f"m{n}")
        invoke = Recorder(answer={}, pause=0.3)
        source = SqsEventSource(sqs, work, definition.arn(), mapping(maximum_concurrency=2), invoke).start()
        try:
            assert wait_until(lambda: len(invoke.events) == 8 and count(sqs, work) == 0, timeout=20)
        finally:
            source.close()
        assert source.peak_running == 2


def test_make_dev_parks_a_job_still_waiting_when_it_stops(sqs, tmp_path: Path):
    # Given the local Lambda and a job delayed in a queue for 15 minutes
    work, _, definition = queue_pair(sqs)
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"kind": "post_call_job", "n": 1}), DelaySeconds=900)
    runtime = LambdaRuntime(
        [LocalFunction("post-call", lambda event, context: None)], dead_letter_path=tmp_path / "dead-letters.jsonl"
    )
    # When the stack stops and reads what still waits
    bodies = waiting_bodies(definition.name)
    for body in bodies:
        runtime.abandon(runtime.functions["post-call"], json.loads(body))
    runtime.close(0)
    # Then it is in the dead-letter file, as an abandoned job replay_dlq.py can run
    [record] = [json.loads(line) for line in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestPayload"] == {"kind": "post_call_job", "n": 1}
