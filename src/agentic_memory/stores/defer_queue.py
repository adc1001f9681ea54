"""The SQS delay queue a job waits in for its turn at Mem0 (``DEFER_QUEUE_URL``), and the post-call
function's event source mapping on it, which hands the job back to the same function when its delay ends.

Amazon SQS API Reference, ``SendMessage``: ``DelaySeconds`` 0 to 900 keeps the message invisible that
long; a message is at most 256 KiB (262,144 bytes), which a job (at most 200,000 bytes: ``domain.job``)
and its ``pacing`` object fit. The queue encrypts at rest (SQS-managed SSE, template.yaml). boto3's client
follows ``AWS_ENDPOINT_URL_SQS``, which is how ``make dev`` points it at its local queue.
"""

from __future__ import annotations

import json
from typing import Any

from agentic_memory.config import get_settings
from agentic_memory.domain.pacing import MAX_DELAY_SECONDS
from agentic_memory.stores import aws_clients

MAX_MESSAGE_BYTES = 262_144


def configured() -> bool:
    return bool(get_settings().defer_queue_url)


def send(event: dict[str, Any], delay_seconds: int) -> str:
    """Queue ``event`` (a job with its ``pacing``) to come back in ``delay_seconds`` (1 to 900); returns the
    message id. Raises ``ValueError`` when the event is over SQS's size limit, and boto3's errors."""
    url = get_settings().defer_queue_url
    if not url:
        raise RuntimeError("DEFER_QUEUE_URL is not set")
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ValueError("the job is over SQS's message size limit")
    delay = min(MAX_DELAY_SECONDS, max(0, int(delay_seconds)))
    answer = aws_clients.client("sqs").send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
    return str(answer.get("MessageId", ""))
