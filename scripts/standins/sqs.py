"""Amazon SQS and Lambda's SQS event source mapping, for `make dev` and the tests.

The queues are moto's: the moto server that `standins.dynamodb` starts serves every AWS service on its
port, SQS included. They are made as template.yaml defines them (`AWS::SQS::Queue`: `VisibilityTimeout`,
`MessageRetentionPeriod`, `DelaySeconds`, `RedrivePolicy`; `sam_template.Template.queues`) through
`CreateQueue` (Amazon SQS API Reference). moto keeps what the product relies on: a message sent with
`DelaySeconds` (0 to 900) stays invisible that long, a received message is invisible for the visibility
timeout and counts its receives, and one received `maxReceiveCount` times moves to the dead-letter queue
(moto/sqs/models.py).

What this module adds is Lambda's side, the event source mapping, as the Lambda Developer Guide describes
it ("Using Lambda with Amazon SQS", "Handling errors for an SQS event source in Lambda", "Configuring
scaling behavior for SQS event source mappings"): pollers long-poll the queue and invoke the function
synchronously with a batch of at most `BatchSize` records (the event's shape is the guide's example:
`messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`, `md5OfBody`, `eventSource`
`aws:sqs`, `eventSourceARN`, `awsRegion`); a batch that succeeds is deleted; with
`ReportBatchItemFailures` only the records the answer does not name in `batchItemFailures` are (an answer
naming an id that is not in the batch, or not JSON-shaped as documented, fails the whole batch); a batch
that fails is left to come back after the visibility timeout. `ScalingConfig.MaximumConcurrency` bounds
the invocations the mapping has running at once.

Differences, on purpose: the pollers are threads and there are exactly MaximumConcurrency of them (Lambda
scales its pollers up to that bound; with no bound, `DEFAULT_POLLERS`), each long poll lasts at most a
second so `make dev` stops quickly, and the queues live in memory: when `make dev` stops, what still
waits in a queue is written to the local Lambda's dead-letter file as abandoned, so it can be replayed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_POLLERS = 5
POLL_SECONDS = 1
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


@dataclass(frozen=True, slots=True)
class QueueDefinition:
    """A queue as template.yaml defines it: CreateQueue's attributes and the redrive to ``dead_letter``."""

    logical_id: str
    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    dead_letter: str | None = None
    max_receive_count: int | None = None

    def arn(self, region: str = REGION, account: str = ACCOUNT) -> str:
        return f"arn:aws:sqs:{region}:{account}:{self.name}"


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """A function's SQS event source mapping (SAM's SQS event)."""

    function: str
    queue: str  # the queue's logical id
    batch_size: int = 10
    report_failures: bool = False
    maximum_concurrency: int | None = None


def create_queues(client: Any, definitions: dict[str, QueueDefinition]) -> dict[str, str]:
    """Create every queue (dead-letter queues first, as CloudFormation orders them by reference) through
    ``client`` (boto3's SQS client); returns logical id -> queue URL."""
    urls: dict[str, str] = {}
    pending = dict(definitions)
    while pending:
        ready = [d for d in pending.values() if d.dead_letter is None or d.dead_letter in urls]
        if not ready:
            raise ValueError(f"queues whose redrive targets form a cycle: {sorted(pending)}")
        for definition in ready:
            attributes = dict(definition.attributes)
            if definition.dead_letter is not None:
                target = definitions[definition.dead_letter].arn()
                policy = {"deadLetterTargetArn": target, "maxReceiveCount": definition.max_receive_count}
                attributes["RedrivePolicy"] = json.dumps(policy)
            urls[definition.logical_id] = client.create_queue(QueueName=definition.name, Attributes=attributes)[
                "QueueUrl"
            ]
            del pending[definition.logical_id]
    return urls


def sqs_record(message: dict[str, Any], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """One SQS message (as ReceiveMessage returns it) as a record of Lambda's SQS event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": dict(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(result: Any, batch: list[str], report_failures: bool) -> set[str] | None:
    """The message ids of a batch to keep (not delete) after a successful invocation that answered
    ``result``; ``None`` when the whole batch counts as failed (an answer naming an id not in the batch or
    not shaped as ``{"batchItemFailures": [{"itemIdentifier": id}]}``). Without ReportBatchItemFailures the
    answer is ignored and nothing is kept."""
    if not report_failures or result is None:
        return set()
    if not isinstance(result, dict):
        return set()
    items = result.get("batchItemFailures", [])
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    kept: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return None
        kept.add(identifier)
    return kept


class SqsEventSource:
    """One event source mapping: ``pollers`` threads reading ``queue_url`` into ``invoke(function, event)``
    (the local Lambda's synchronous invoke, returning its outcome: ``.ok`` and ``.result``)."""

    def __init__(
        self,
        client: Any,
        queue_url: str,
        queue_arn: str,
        mapping: QueueEvent,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.mapping = mapping
        self.invoke = invoke
        self.log = log or (lambda line: None)
        self.invocations = 0
        self.running = 0
        self.peak_running = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        pollers = mapping.maximum_concurrency or DEFAULT_POLLERS
        self._threads = [
            threading.Thread(target=self._poll, name=f"sqs-{mapping.queue}-{i}", daemon=True) for i in range(pollers)
        ]

    def start(self) -> SqsEventSource:
        for thread in self._threads:
            thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.client.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(10, self.mapping.batch_size),
                    WaitTimeSeconds=POLL_SECONDS,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as exc:  # the queue went away while stopping, or moto hiccupped: try again
                if self._stop.wait(0.2):
                    return
                self.log(f"{self.mapping.queue}: receive failed ({type(exc).__name__}); polling again")
                continue
            messages = answer.get("Messages") or []
            if messages:
                self._deliver(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_record(message, self.queue_arn) for message in messages]}
        with self._lock:
            self.invocations += 1
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
        try:
            outcome = self.invoke(event)
        finally:
            with self._lock:
                self.running -= 1
        ids = [message["MessageId"] for message in messages]
        kept = failed_ids(outcome.result, ids, self.mapping.report_failures) if outcome.ok else None
        if kept is None:
            self.log(f"{self.mapping.function} from {self.mapping.queue}: batch of {len(ids)} failed; it comes back")
            return
        for message in messages:
            if message["MessageId"] not in kept:
                with contextlib.suppress(Exception):  # a receipt gone stale: SQS shows the message again
                    self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def waiting_bodies(queue_name: str, region: str = REGION) -> list[str]:
    """The bodies of every message still in one of moto's queues, delayed and in flight included (the SQS API
    cannot list delayed messages; moto runs in this process, so its backend is read directly). For `make
    dev`'s shutdown only, so that nothing waiting is lost."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[ACCOUNT][region].get_queue(queue_name)
    return [message.body for message in list(queue._messages)]
