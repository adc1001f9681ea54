"""Reconcile: every finished conversation reaches memory, even when its post-call webhook never came.

ElevenLabs retries a failed webhook only when retries are switched on, and never for HIPAA workspaces
(DESIGN.md 3.3): one 5xx or a deploy at the wrong second and a call would be forgotten. ElevenLabs keeps
the conversation history (DESIGN.md 3.4), so a schedule (EventBridge, every 15 minutes, only when
``ELEVENLABS_API_KEY`` is set) invokes the post-call function, which lists the conversations started
in a look-back window that overlaps the previous runs (``RECONCILE_LOOKBACK_MINUTES``, 120 by default),
oldest first, and sends each finished one that was never ingested down the webhook's own path:
``domain.job.job_for_conversation`` (identity, skip rules, redaction, bounds) and then ``job_runner.run_job``,
in this process. ``run_job``'s writes are idempotent per caller, conversation and write, and it marks
the conversation ingested, so a conversation seen by both the webhook and reconcile is written once.

Only agents with memory (``domain.agents``: ``MEMORY_AGENT_IDS``) are listed, and each listed and fetched
conversation is checked again. Skipped: conversations of other agents, those not ``done`` (``failed``
ones are never remembered; ``initiated``, ``in-progress`` and ``processing`` ones wait for a later run),
those that ended less than ``SETTLE_SECONDS`` ago (their webhook is probably still being handled), those
already ingested, and, without fetching them, those whose list item says the caller said nothing
(``user_message_count`` 0; a ``null`` count is unknown and the conversation is fetched:
platform-notes/refresh-2026-12.md E3, E9). A fetched conversation whose ``conversation_id`` is not the one
asked for is counted, marked ingested (so it is not fetched again every run) and skipped. Listing one agent's
conversations ends when the API repeats a cursor or after ``MAX_PAGES`` pages, whatever ``has_more``
says: a cursor that never ends must not spend the run's requests.

With an API key, a scheduled run also reads the workspace's phone-number list and keeps the own-line
marks in step with it (``domain.own_lines.after_listing``); a failure there is logged and never fails the
run.

Pages hold at most 100 conversations (``page_size``'s maximum, E9). A subagent's conversation (E9, field
case 8) goes down the same path and is remembered as part of its parent call: the job path counts each
phone call once (``domain.profile.call_id``); a ``parent_conversation_id`` on the list item is passed on.

A run is bounded by the invocation's remaining time; what is left waits for the next run. The same
code serves backfill (``scripts/backfill.py``) through a "window" event: explicit start times, an
optional agent and a dry-run switch, answering where to resume. Log lines carry counts, conversation
ids and masked callers, never transcripts or numbers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from agentic_memory.config import Settings
from agentic_memory.domain import agents, identity, own_lines
from agentic_memory.domain.conversation import TranscriptionData
from agentic_memory.domain.job import AGENT_NOT_ENABLED, NotRemembered, job_for_conversation
from agentic_memory.errors import AppError
from agentic_memory.observability import Metric, count, count_intake, logger, mask_caller
from agentic_memory.stores import conversations_api as conversations
from agentic_memory.stores import idempotency, line_marks, mem0, secret_store
from agentic_memory.worker.events import WINDOW_KIND
from agentic_memory.worker.job_runner import run_job

FINISHED = "done"
NOT_YET = frozenset({"initiated", "in-progress", "processing"})
SETTLE_SECONDS = 300  # a conversation that ended more recently may still be on its webhook's path
MIN_RESERVE_SECONDS = 8.0
MAX_ERRORS = 5  # more failures than this in one run: something is down; stop and let the next run try
MAX_LISTED_FAILURES = 20
PAGE_SIZE = conversations.MAX_PAGE_SIZE
# Pages listed per agent in one run, at most: 200 pages of 100 is 20,000 conversations, far more than a
# 15-minute schedule or a backfill step meets; a run that reaches it stops "partial" and resumes.
MAX_PAGES = 200


class Window(BaseModel):
    """A backfill step: conversations started after ``after_unix`` (and up to ``before_unix``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: StrictStr
    after_unix: StrictInt = Field(ge=0)
    before_unix: StrictInt | None = Field(default=None, ge=0)
    agent_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    dry_run: StrictBool = False


@dataclass
class Outcome:
    """What a run did. ``status``: ``done`` (the window is exhausted), ``partial`` (time ran out),
    ``throttled`` (ElevenLabs or Mem0 asked to wait ``retry_after`` seconds), ``failed`` (ElevenLabs
    refused or kept failing), ``disabled`` (no API key), ``invalid`` (a window event that is not one).
    ``resume_after``: start (unix seconds) to pass as ``after_unix`` to carry on; ``None`` when done."""

    status: str = "done"
    source: str = "schedule"
    dry_run: bool = False
    listed: int = 0
    recovered: int = 0
    candidates: int = 0
    already: int = 0
    not_remembered: int = 0
    unfinished: int = 0
    failed_calls: int = 0
    silent: int = 0
    settling: int = 0
    gone: int = 0
    other_agents: int = 0
    mismatched: int = 0
    errors: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    resume_after: int | None = None
    retry_after: float | None = None
    reason: str | None = None
    lines_listed: int | None = None  # numbers on the workspace's phone-number list, when it was read

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Stop(Exception):
    """End the run now with ``status``; the conversation at hand (if any) is where to resume."""

    def __init__(self, status: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after = status, reason, retry_after


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The post-call function's entry for a reconcile event; returns ``Outcome.as_dict()``. Never raises:
    a failed run is logged and counted (``ReconcileFailed``) and the next scheduled run tries again,
    rather than Lambda retrying the event and parking it among the dead-letter jobs."""
    settings = secret_store.current()  # the ElevenLabs API key lives in the secret store on AWS
    if not settings.elevenlabs_api_key:
        logger.info("reconcile skipped: ELEVENLABS_API_KEY is not set")
        return Outcome(status="disabled").as_dict()
    now = int(time.time())
    window: Window | None = None
    if event.get("kind") == WINDOW_KIND:
        try:
            window = Window.model_validate(event)
        except ValidationError:
            logger.error("reconcile window event is malformed", extra={"keys": sorted(map(str, event))[:10]})
            return Outcome(status="invalid", source="backfill").as_dict()
    try:
        if window is not None:
            if window.agent_id is not None and not agents.memory_enabled(window.agent_id, settings):
                reason = agents.not_enabled_reason(window.agent_id) + ": nothing to import"
                logger.warning("backfill refused", extra={"reason": reason})
                count(Metric.AGENT_NOT_ENABLED)
                return Outcome(status="failed", source="backfill", dry_run=window.dry_run, reason=reason).as_dict()
            outcome = run(
                after_unix=window.after_unix,
                before_unix=window.before_unix,
                agent_ids=(window.agent_id,) if window.agent_id is not None else agents.agents_to_list(settings),
                dry_run=window.dry_run,
                source="backfill",
                context=context,
                settings=settings,
                now=now,
            )
        else:
            listed = refresh_own_lines(settings)
            outcome = run(
                after_unix=now - settings.reconcile_lookback_seconds,
                before_unix=None,
                agent_ids=agents.agents_to_list(settings),
                dry_run=False,
                source="schedule",
                context=context,
                settings=settings,
                now=now,
            )
            outcome.lines_listed = listed
    except Exception:
        logger.exception("reconcile failed")
        count(Metric.RECONCILE_FAILED)
        return Outcome(status="failed", reason="unexpected error").as_dict()
    return outcome.as_dict()


def run(
    *,
    after_unix: int,
    before_unix: int | None,
    agent_ids: tuple[str | None, ...],
    dry_run: bool,
    source: str,
    context: Any,
    settings: Settings,
    now: int,
) -> Outcome:
    """List, filter and ingest the conversations started after ``after_unix`` (unix seconds) and up to
    ``before_unix``, per agent in ``agent_ids`` (``None``: every agent the key can see; empty: no agent has
    memory, nothing is listed)."""
    outcome = Outcome(source=source, dry_run=dry_run)
    if not agent_ids:
        outcome.reason = "no agent has memory (MEMORY_AGENT_IDS): nothing to list"
        logger.info("reconcile finished", extra={"status": outcome.status, "reason": outcome.reason})
        return outcome
    remaining = _time_left(context)
    # Time kept back for the call at hand: about two Mem0 requests, but never most of the invocation (a
    # long MEM0_TIMEOUT must not leave a 30 s function unable to start a single call).
    reserve = min(
        max(MIN_RESERVE_SECONDS, settings.worker_timeout * 2 + 2), max(MIN_RESERVE_SECONDS, remaining() * 0.6)
    )
    position = after_unix
    cut_short: str | None = None  # why an agent's listing ended before the API said it had no more
    try:
        for agent_id in agent_ids:
            cursor: str | None = None
            cursors_seen: set[str] = set()
            pages = 0
            while True:
                if remaining() < reserve:
                    raise _Stop("partial", "out of time")
                if pages >= MAX_PAGES:
                    logger.warning("reconcile stopped listing an agent: page cap reached", extra={"pages": pages})
                    cut_short = f"{MAX_PAGES} pages listed for one agent in one run"
                    break
                pages += 1
                page = conversations.list_conversations(
                    after_unix, before_unix, agent_id, cursor, PAGE_SIZE, time_left=remaining, sort_direction="asc"
                )
                for summary in page["conversations"]:
                    start = _integer(summary.get("start_time_unix_secs"))
                    if remaining() < reserve:
                        position = max(position, start - 1)
                        raise _Stop("partial", "out of time")
                    _one(summary, outcome, context, settings, now, remaining)
                    # One second back: the API may read "after" strictly, and a conversation sharing this
                    # start second may be on the next page. Those already handled are skipped cheaply.
                    position = max(position, start - 1)
                cursor = page["next_cursor"]
                if not page["has_more"] or not cursor:
                    break
                if cursor in cursors_seen:  # the API went round in a circle: listing on would never end
                    logger.warning("reconcile stopped listing an agent: the conversations API repeated a cursor")
                    cut_short = "the conversations API repeated a cursor"
                    break
                cursors_seen.add(cursor)
    except _Stop as stop:
        outcome.status, outcome.reason, outcome.retry_after = stop.status, stop.reason, stop.retry_after
        outcome.resume_after = position
    except conversations.RateLimited as exc:
        outcome.status, outcome.reason, outcome.retry_after = "throttled", str(exc), exc.retry_after
        outcome.resume_after = position
    except conversations.ConversationsError as exc:
        outcome.status, outcome.reason = "failed", str(exc)
        outcome.resume_after = position
        count(Metric.RECONCILE_FAILED)
        logger.error("reconcile could not list conversations", extra={"reason": str(exc), "status": exc.status})
    if cut_short and outcome.status == "done":  # the window may hold more: the next step or run resumes
        outcome.status, outcome.reason, outcome.resume_after = "partial", cut_short, position
    if outcome.status == "partial" and len(agent_ids) > 1:
        outcome.resume_after = None  # one position cannot stand for several agents' lists
    logger.info(
        "reconcile finished",
        extra={key: value for key, value in outcome.as_dict().items() if key != "failures"},
    )
    return outcome


def _one(
    summary: dict[str, Any],
    outcome: Outcome,
    context: Any,
    settings: Settings,
    now: int,
    remaining: Callable[[], float],
) -> None:
    """One listed conversation: skip it, count it, or send it down the webhook's job path."""
    outcome.listed += 1
    conversation_id = summary.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id.strip() or not conversation_id.isprintable():
        outcome.errors += 1
        return
    if not agents.memory_enabled(summary.get("agent_id"), settings):
        outcome.other_agents += 1  # listed with "every agent" and an agent without memory: never fetched
        return
    status = summary.get("status")
    if status != FINISHED:
        if status == "failed":
            outcome.failed_calls += 1
        else:
            outcome.unfinished += 1
        return
    ended = _integer(summary.get("start_time_unix_secs")) + _integer(summary.get("call_duration_secs"))
    if now - ended < SETTLE_SECONDS:
        outcome.settling += 1
        return
    users = summary.get("user_message_count")
    if isinstance(users, int) and not isinstance(users, bool) and users == 0:
        outcome.silent += 1  # the caller said nothing: never remembered, so never fetched
        return
    try:
        if idempotency.was_ingested(conversation_id):
            outcome.already += 1
            return
        if outcome.dry_run:
            outcome.candidates += 1
            return
        raw = conversations.get_conversation(conversation_id, time_left=remaining)
        if raw.get("conversation_id") != conversation_id:
            # Another conversation came back: never ingest it under this id, and do not ask again each run.
            outcome.mismatched += 1
            logger.warning(
                "reconcile skipped a conversation: the API answered with another conversation id",
                extra={"conversation_id": conversation_id[:200], "answered": str(raw.get("conversation_id"))[:200]},
            )
            idempotency.mark_ingested(conversation_id, None)
            return
        parent = summary.get("parent_conversation_id")
        if isinstance(parent, str) and parent.strip() and isinstance(raw, dict):
            raw.setdefault("parent_conversation_id", parent)  # the list item knew the call it belongs to
        _ingest(raw, summary, outcome, context, settings)
    except conversations.NotFound:
        outcome.gone += 1  # deleted at ElevenLabs since it was listed
    except (_Stop, conversations.RateLimited, conversations.NotConfigured):
        raise
    except conversations.ConversationsError as exc:
        if exc.status in (401, 403):
            raise
        _failed(outcome, summary, f"fetching failed: {exc}")
    except Exception as exc:
        wait = mem0.throttled_for(exc)
        if wait is not None:
            raise _Stop("throttled", "Mem0 asked to slow down", wait) from None
        if _in_progress(exc):  # the webhook's own job holds this conversation right now
            outcome.settling += 1
            return
        _failed(outcome, summary, type(exc).__name__)


def _ingest(raw: dict[str, Any], summary: dict[str, Any], outcome: Outcome, context: Any, settings: Settings) -> None:
    try:
        data = TranscriptionData.model_validate(raw)
    except ValidationError:
        _failed(outcome, summary, "the conversation does not have the webhook's shape")
        return
    if data.status is not None and data.status != FINISHED:
        outcome.unfinished += 1
        return
    # The webhook's envelope time is when the call had ended and been analysed: its end is the closest
    # thing the history has.
    ended = _integer(data.metadata.start_time_unix_secs) + _integer(data.metadata.call_duration_secs)
    try:
        job = job_for_conversation(data, ended or None, settings)
    except AppError as exc:
        _failed(outcome, summary, exc.message)
        return
    count_intake(job)
    if isinstance(job, NotRemembered):
        if job.rule == AGENT_NOT_ENABLED:  # not marked: the agent may opt in later, and backfill import it
            outcome.other_agents += 1
            return
        outcome.not_remembered += 1
        idempotency.mark_ingested(summary["conversation_id"], None)  # nothing to write, ever: stop asking
        return
    result = run_job(json.loads(job.model_dump_json()), context)
    status = result.get("status") if isinstance(result, dict) else None
    if status == "written":
        outcome.recovered += 1
        if outcome.source == "schedule":
            count(Metric.CONVERSATIONS_RECOVERED)
        logger.info(
            "conversation recovered" if outcome.source == "schedule" else "conversation imported",
            extra={"conversation_id": job.conversation_id, "caller": mask_caller(job.caller_id)},
        )
    elif status == "duplicate":
        outcome.already += 1
    elif status == "deferred":  # it waits for its turn at Mem0 in the wait queue and is written then
        outcome.settling += 1
    elif status in ("own_line", "ignored", "machine", "expired"):  # ours; an agent that left; a machine; too late
        outcome.not_remembered += 1
    else:
        _failed(outcome, summary, f"the worker answered {status!r}")


def refresh_own_lines(settings: Settings) -> int | None:
    """Keep the own-line marks in step with the workspace's phone-number list (``GET /v1/convai/phone-numbers``;
    ``domain.own_lines.after_listing``): the number of phone numbers listed, or ``None`` when the list or
    the marks could not be read or written (logged; never raises) or there is no ``PROFILE_TABLE``."""
    if not settings.profile_table:
        return None
    try:
        listed_raw = conversations.list_phone_numbers(attempts=2)
        listed = [number for number in (identity.phone(raw, settings) for raw in listed_raw) if number]
        refresh = own_lines.after_listing(
            listed, line_marks.every_mark(settings=settings), identity.own_numbers(settings), now=int(time.time())
        )
        line_marks.write(refresh.marks, settings=settings)
        line_marks.clear(refresh.cleared, settings=settings)
    except Exception as exc:
        logger.warning("own lines not refreshed from the phone-number list", extra={"error": type(exc).__name__})
        return None
    logger.info(
        "own lines refreshed from the phone-number list",
        extra={"listed": len(listed), "written": len(refresh.marks), "cleared": len(refresh.cleared)},
    )
    return len(listed)


def _failed(outcome: Outcome, summary: dict[str, Any], reason: str) -> None:
    outcome.errors += 1
    conversation_id = str(summary.get("conversation_id"))[:200]
    if len(outcome.failures) < MAX_LISTED_FAILURES:
        outcome.failures.append(
            {"conversation_id": conversation_id, "start": _integer(summary.get("start_time_unix_secs"))}
        )
    logger.warning(
        "reconcile could not ingest a conversation", extra={"conversation_id": conversation_id, "reason": reason[:200]}
    )
    if outcome.errors > MAX_ERRORS:
        count(Metric.RECONCILE_FAILED)
        raise _Stop("failed", f"{outcome.errors} conversations failed in this run")


def _in_progress(exc: BaseException) -> bool:
    try:
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
    except ImportError:  # pragma: no cover - Powertools ships in the layer
        return False
    return isinstance(exc, IdempotencyAlreadyInProgressError)


def _time_left(context: Any) -> Callable[[], float]:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return lambda: math.inf
    return lambda: context.get_remaining_time_in_millis() / 1000


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return int(value)
