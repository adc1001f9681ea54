"""Which of the post-call function's own events this is, and the worker entry that runs it.

The post-call function receives, besides ElevenLabs' webhook (``edge.post_call``): its own jobs
(``job_runner``), jobs back from the wait queue (``deferred``, Lambda's SQS event), answering-machine
verdicts handed to itself (``machine_verdict``), the reconcile schedule and backfill windows
(``reconcile``), and the retention sweep's schedule (``retention_sweep``). The handler asks ``route`` and
falls back to the webhook for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentic_memory.worker import deferred, job_runner, machine_verdict, reconcile, retention_sweep

Entry = Callable[[dict[str, Any], Any], dict[str, Any]]

ROUTES: tuple[tuple[Callable[[Any], bool], Entry], ...] = (
    (job_runner.is_job, job_runner.run_job),
    (deferred.is_queue_event, deferred.handle),
    (machine_verdict.is_verdict_job, machine_verdict.run_verdict),
    (reconcile.is_reconcile_event, reconcile.handle),
    (retention_sweep.is_sweep_event, retention_sweep.handle),
)


def route(event: Any) -> Entry | None:
    """The worker entry for ``event`` (called as ``entry(event, context)``), or ``None`` when it is none of
    the function's own events (then it is an API Gateway request for the webhook)."""
    for matches, entry in ROUTES:
        if matches(event):
            return entry
    return None
