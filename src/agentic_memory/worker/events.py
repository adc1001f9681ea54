"""Which of the post-call function's own events this is, and the worker entry that runs it.

The post-call function receives, besides ElevenLabs' webhook (``edge.post_call``): its own jobs
(``job_runner``), jobs back from the wait queue (``deferred``, Lambda's SQS event), answering-machine
verdicts handed to itself (``machine_verdict``), the reconcile schedule and backfill windows
(``reconcile``), and the retention sweep's schedule (``retention_sweep``). The handler asks ``route`` and
falls back to the webhook for anything else.

The predicates live here and need nothing the webhook's acknowledgement has not loaded already; the worker
module that runs an event is imported only when such an event comes (about 14 ms of imports: the Mem0
store, the quota's pace, the sweep, reconcile's models), so the acknowledgement's cold start never pays it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from agentic_memory.domain.answering_machine import is_verdict_job
from agentic_memory.domain.job import is_job

Entry = Callable[[dict[str, Any], Any], dict[str, Any]]

# Lambda's SQS event: every record says where it came from (Lambda Developer Guide, "Using Lambda with
# Amazon SQS", the event's ``eventSource``).
SQS_SOURCE = "aws:sqs"
# EventBridge's scheduled event (``{"source": "aws.events", "detail-type": "Scheduled Event"}``, EventBridge's
# documented shape) and backfill's window events (``scripts/backfill.py``).
SCHEDULED_SOURCE = "aws.events"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"
WINDOW_KIND = "reconcile_window"
# The retention sweep's rule sends this constant input (template.yaml, RetentionSweepSchedule).
SWEEP_KIND = "retention_sweep"


def is_queue_event(event: Any) -> bool:
    """Whether ``event`` is Lambda's SQS event (every record from ``aws:sqs``)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == SQS_SOURCE for r in records)
    )


def is_reconcile_event(event: Any) -> bool:
    """An EventBridge scheduled event or a backfill window (``{"kind": "reconcile_window", ...}``)."""
    if not isinstance(event, dict):
        return False
    scheduled = event.get("source") == SCHEDULED_SOURCE and event.get("detail-type") == SCHEDULED_DETAIL_TYPE
    return scheduled or event.get("kind") == WINDOW_KIND


def is_sweep_event(event: Any) -> bool:
    """The sweep's scheduled event: ``{"kind": "retention_sweep"}``, the constant input of its EventBridge rule
    (template.yaml), or the same sent by ``scripts/memory_admin.py sweep``."""
    return isinstance(event, dict) and event.get("kind") == SWEEP_KIND


# (predicate, worker module, its entry), in the order they are tried.
ROUTES: tuple[tuple[Callable[[Any], bool], str, str], ...] = (
    (is_job, "job_runner", "run_job"),
    (is_queue_event, "deferred", "handle"),
    (is_verdict_job, "machine_verdict", "run_verdict"),
    (is_reconcile_event, "reconcile", "handle"),
    (is_sweep_event, "retention_sweep", "handle"),
)


def route(event: Any) -> Entry | None:
    """The worker entry for ``event`` (called as ``entry(event, context)``), its module imported now, or
    ``None`` when it is none of the function's own events (then it is an API Gateway request for the
    webhook)."""
    for matches, module, entry in ROUTES:
        if matches(event):
            return getattr(importlib.import_module(f"agentic_memory.worker.{module}"), entry)
    return None
