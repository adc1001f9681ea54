"""Logging, metrics and the masking that keeps caller data out of both.

Powertools' Logger writes structured JSON with the Lambda context; Metrics writes CloudWatch
embedded metric format (no API calls, flushed by the handler decorator). Log lines name callers
only through ``mask_caller``: no full phone number, transcript text or secret is ever logged.

The service name (the ``service`` log key and metric dimension, which the template's alarms match)
is ``POWERTOOLS_SERVICE_NAME``, set per function by the template. Powertools prefers an explicit
``service=`` argument to that variable, so the argument passed here is the variable's own value; each
handler names a default for runs without it (tests, ``make dev``, where one process serves all three).
The level comes from ``POWERTOOLS_LOG_LEVEL`` or ``LOG_LEVEL`` (INFO when neither is set).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "AgenticMemory"
SERVICE_ENV = "POWERTOOLS_SERVICE_NAME"
DEFAULT_SERVICE = "agentic-memory"


def service_name(default: str = DEFAULT_SERVICE) -> str:
    return os.environ.get(SERVICE_ENV, "").strip() or default


logger = Logger(service=service_name(), use_rfc3339=True)
metrics = Metrics(namespace=NAMESPACE, service=service_name())

# Libraries that log whole requests at DEBUG (botocore logs the self-invoke's payload: a transcript and
# the caller's number) stay at INFO, whatever LOG_LEVEL or the root logger says.
QUIET_LIBRARIES = ("botocore", "boto3", "urllib3")
for _name in QUIET_LIBRARIES:
    logging.getLogger(_name).setLevel(max(logging.getLogger(_name).level, logging.INFO))


def use_service(default: str) -> None:
    """Name this invocation's log lines and metrics: ``POWERTOOLS_SERVICE_NAME`` when set, else ``default``.

    Call it first in a handler, inside the Powertools decorators (they reset the log keys per invocation).
    The key is also set for this thread alone (Powertools' thread-safe keys, which win over the shared ones):
    where several functions share one process (``make dev`` runs the post-call worker on a thread while
    client-data answers on another), each line keeps its own function's name.
    """
    service = service_name(default)
    logger.append_keys(service=service)
    logger.thread_safe_append_keys(service=service)
    metrics.service = service  # Powertools adds it as the `service` dimension when it flushes


class Metric:
    """Metric names, shared with the template's alarms and the operations guide."""

    CALLER_RETURNING = "CallerReturning"
    CALLER_NEW = "CallerNew"
    MEMORIES_FOUND = "MemoriesFound"
    MEMORIES_WRITTEN = "MemoriesWritten"
    MEM0_LATENCY = "Mem0Latency"
    MEM0_ERRORS = "Mem0Errors"
    SIGNATURE_REJECTED = "SignatureRejected"
    AUTH_REJECTED = "AuthRejected"
    DEGRADED_ANSWER = "DegradedAnswer"
    JOB_ACCEPTED = "JobAccepted"
    JOB_IGNORED = "JobIgnored"
    JOB_DUPLICATE = "JobDuplicate"
    CONVERSATIONS_RECOVERED = "ConversationsRecovered"  # written by reconcile: their webhook never came
    RECONCILE_FAILED = "ReconcileFailed"  # a reconcile run could not list or fetch conversations
    PII_REDACTED = "PiiRedacted"  # numbers replaced by placeholders before storage (REDACT_PII)
    CALL_NOT_REMEMBERED = "CallNotRemembered"  # voicemail, failed, or the caller never spoke
    MEMORIES_EXPIRED = "MemoriesExpired"  # Mem0 memories the retention sweep deleted (their time was up)
    RETENTION_SWEEP_FAILED = "RetentionSweepFailed"  # a sweep run failed, was throttled out, or found work overdue
    AGENT_NOT_ENABLED = "AgentNotEnabled"  # a request or call of an agent without memory (MEMORY_AGENT_IDS)
    OWN_LINE_CALL = "OwnLineCall"  # a finished call between our own lines: nothing stored
    OWN_LINE_MARK_FLAGGED = "OwnLineMarkFlagged"  # an inbound call came from a number marked as ours
    JOB_DEFERRED = "JobDeferred"  # a job waits in the delay queue for its turn at Mem0 (issue 23)
    MEM0_THROTTLED = "Mem0Throttled"  # Mem0 answered 429 to the worker despite its schedule
    JOB_EXPIRED = "JobExpired"  # a waiting job dropped: its memories would already have expired


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_intake(result: Any) -> None:
    """Count and log what the one path from a conversation to a job decided (``domain.job``'s
    ``job_for_conversation``, used by the webhook and reconcile alike): a call a skip rule left out
    (``CallNotRemembered``), a call of an agent without memory (``AgentNotEnabled``), or the personal data
    a job's texts had redacted (``PiiRedacted``, counts per kind only, never values)."""
    rule = getattr(result, "rule", None)
    if rule == "agent_not_enabled":  # domain.job.AGENT_NOT_ENABLED: not a skip rule, an agent without memory
        count(Metric.AGENT_NOT_ENABLED)
    elif rule:
        count(Metric.CALL_NOT_REMEMBERED)
    redacted = getattr(result, "redacted", None)
    if redacted:
        count(Metric.PII_REDACTED, sum(redacted.values()))
        logger.info("personal data redacted before storage", extra={"redacted": dict(redacted)})


@contextmanager
def mem0_call(operation: str) -> Iterator[None]:
    """Time one Mem0 round trip and count its failures."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        count(Metric.MEM0_ERRORS)
        raise
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        metrics.add_metric(name=Metric.MEM0_LATENCY, unit=MetricUnit.Milliseconds, value=round(elapsed_ms, 1))
        logger.debug("mem0 call", extra={"operation": operation, "ms": round(elapsed_ms, 1)})


def mask_caller(caller: str | None) -> str:
    """A form safe for logs: a phone number keeps its country prefix and last two digits; any other id
    becomes a short stable hash, so lines about one caller can still be followed."""
    if not caller:
        return "-"
    if caller.startswith("+") and caller[1:].isdigit():
        return f"{caller[:2]}{'*' * (len(caller) - 4)}{caller[-2:]}"
    digest = hashlib.sha256(caller.encode("utf-8")).hexdigest()[:10]
    return f"id:{digest}"
