"""The worker's own-line check, before anything of a call is written (DESIGN.md section 5).

A phone call's job carries the customer as ``external_number`` (its ``caller_id``), our line as
``agent_number`` and the call's ``direction``. ``domain.own_lines.after_call`` decides, with the configured
numbers and the marks read here (``stores.line_marks``, consistent reads), whether the customer is in fact
one of our lines (a staff call between two of them: nothing is stored under either) and which marks the
call makes (an outbound call's ``agent_number``) or flags (an inbound call from a marked number). The
marks are written first, so a job retried later finds them. DynamoDB errors propagate: Lambda retries the
job, as it does for the profile's writes.
"""

from __future__ import annotations

import time

from agentic_memory.config import Settings, get_settings
from agentic_memory.domain import identity, own_lines
from agentic_memory.domain.job import Job
from agentic_memory.observability import Metric, count, logger, mask_caller
from agentic_memory.stores import line_marks


def stored(job: Job, *, settings: Settings | None = None) -> bool:
    """``True`` when the call of ``job`` is to be written; ``False`` for a call whose customer is one of our
    lines (configured or marked). Writes the marks the call makes or flags (``PROFILE_TABLE`` set)."""
    settings = settings or get_settings()
    if not job.caller_id.startswith("+"):
        return True  # web and WhatsApp users are never our lines
    configured = identity.own_numbers(settings)
    agent = identity.phone(job.agent_number, settings) if job.agent_number else None
    # The agent's number only matters on an outbound call, whose mark it renews (keeping its other evidence).
    wanted = (job.caller_id, agent) if job.direction == own_lines.OUTBOUND else (job.caller_id,)
    numbers = [number for number in wanted if number and number not in configured]
    marks = line_marks.read(numbers, settings=settings) if numbers else []
    lines = own_lines.OwnLines.of(configured, marks, now=time.time())
    verdict = own_lines.after_call(
        direction=job.direction, agent_number=agent, external_number=job.caller_id, lines=lines
    )
    if verdict.marks:
        line_marks.write(verdict.marks, settings=settings)
    for number in verdict.flagged:
        count(Metric.OWN_LINE_MARK_FLAGGED)
        logger.warning(
            "an inbound call came from a number marked as ours: mark flagged, it lapses unless an outbound call"
            " renews it",
            extra={"number": mask_caller(number)},
        )
    if verdict.store:
        return True
    count(Metric.OWN_LINE_CALL)
    logger.info("a call between our own lines: nothing stored", extra={"caller": mask_caller(job.caller_id)})
    return False
