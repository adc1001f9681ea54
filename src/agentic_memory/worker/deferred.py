"""Jobs coming back from the SQS delay queue (``stores.defer_queue``) through the post-call function's event
source mapping, once their wait for a turn at Mem0 is over (issue 23; ``worker.throttling``).

The event is Lambda's SQS event (Lambda Developer Guide, "Using Lambda with Amazon SQS": ``Records[]`` with
``messageId``, ``body``, ``eventSource`` ``aws:sqs``); the answer, with ``ReportBatchItemFailures`` on the
mapping, names the records that failed (``batchItemFailures[].itemIdentifier``) and Lambda deletes the
others from the queue. A job that fails here for any reason but throttling is handed back to this function
as an asynchronous invocation, the webhook's own hand-off: Lambda's two retries and its on-failure
destination (the dead-letter queue that ``scripts/replay_dlq.py`` reads) then treat it like any job. Only
when that hand-off fails too is the record reported failed: SQS shows it again after the queue's
visibility timeout, and its redrive policy parks it in the same dead-letter queue after three receives.
"""

from __future__ import annotations

import json
from typing import Any

from agentic_memory.domain.job import is_job
from agentic_memory.observability import Metric, count, logger
from agentic_memory.stores import lambda_invoke
from agentic_memory.worker import job_runner


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run each queued job (``job_runner.run_job``); returns ``{"batchItemFailures": [{"itemIdentifier": id}]}``
    for the records neither written nor handed back. Never raises for one record's failure."""
    failures = []
    for record in event["Records"]:
        message_id = str(record.get("messageId", ""))
        try:
            job = json.loads(record.get("body") or "")
        except ValueError:
            job = None
        if not is_job(job):
            # Nothing but our own jobs is sent to this queue; a stray message cannot get better with retries.
            logger.error("message in the delay queue is not a post-call job; dropped")
            count(Metric.JOB_IGNORED)
            continue
        try:
            job_runner.run_job(job, context)
        except Exception as error:
            logger.warning(
                "queued job failed; handing it back to Lambda's retries", extra={"error": type(error).__name__}
            )
            try:
                lambda_invoke.invoke_async(context.function_name, json.dumps(job).encode())
            except Exception:
                logger.exception("could not hand the queued job back; SQS will show it again")
                failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
