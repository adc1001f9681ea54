"""Import past ElevenLabs conversations into memory, through the same job path as the webhook.

    python scripts/backfill.py --since 2026-01-01                       # the running `make dev`
    python scripts/backfill.py --since 2026-01-01 --stack agentic-memory --agent agent_123
    python scripts/backfill.py --since 2026-01-01 --dry-run             # count what would be imported
    python scripts/backfill.py --reconcile                              # one scheduled reconcile, now

How: the stack's own post-call function does the work. Each step invokes it synchronously with a
"reconcile window" event (src/agentic_memory/worker/reconcile.py): it lists the conversations that started in
the window, oldest first, and sends every finished one that was never ingested through the webhook's
job path (identity, skip rules, redaction, idempotent writes) with the stack's own settings, Mem0 and
tables, until its time runs short; it answers where to carry on. So nothing here needs the ElevenLabs
key, the Mem0 key or the stack's settings: only permission to invoke the function (deployed: your AWS
credentials; `make dev`: nothing). The stack must have ELEVENLABS_API_KEY set (`ElevenLabsApiKey`; with
`make dev`, in .env).

Once only: every conversation written is marked ingested and each write is idempotent, so running it
again (or alongside the reconcile schedule or a late webhook) writes nothing twice. Resumable: progress
is kept in .local/backfill/<stack>.json after every step (the window's end is fixed at the first run);
an interrupted run carries on from there; --restart starts over (still writing nothing twice).
Rate limits: the function honours 429 and Retry-After from ElevenLabs and Mem0 within a step; when a
wait is longer than a step can afford it answers "throttled" and this script sleeps that long.

Output names conversations by id only, never callers or transcripts. Exit status: 0 done, 1 some
conversations failed (run again to retry them) or the stack refused, 2 unusable arguments or stack.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

import stackfind  # noqa: E402

WINDOW_KIND = "reconcile_window"  # agentic_memory.worker.events.WINDOW_KIND
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
CHECKPOINT_DIR = ROOT / ".local" / "backfill"
COUNTED = (
    "recovered",
    "candidates",
    "already",
    "not_remembered",
    "silent",
    "unfinished",
    "failed_calls",
    "settling",
    "gone",
    "other_agents",
    "mismatched",
)
MAX_STALLS = 3
MAX_WAIT_SECONDS = 900.0


def pause(seconds: float) -> None:
    """Wait as a rate limit asked (a function of its own so tests can stand in for it)."""
    time.sleep(seconds)


class BackfillError(RuntimeError):
    """The function answered something a backfill cannot go on from; exit status 1."""


def parse_when(text: str) -> int:
    """Unix seconds from ``2026-01-31``, ``2026-01-31T08:00`` (UTC unless an offset is given) or seconds."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD), a time or unix seconds") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- invoking the function


class Invoker:
    """Synchronous invocations of the stack's post-call function."""

    def __init__(self, client: Any, function: str) -> None:
        self.client, self.function = client, function

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.invoke(
                FunctionName=self.function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
        except Exception as exc:
            raise BackfillError(f"could not invoke {self.function}: {type(exc).__name__}: {str(exc)[:160]}") from None
        raw = response["Payload"].read() if response.get("Payload") is not None else b""
        try:
            result = json.loads(raw) if raw else None
        except ValueError:
            result = None
        if response.get("FunctionError") or not isinstance(result, dict):
            kind = result.get("errorType", "Error") if isinstance(result, dict) else "Error"
            raise BackfillError(f"{self.function} failed: {response.get('FunctionError') or 'no answer'} {kind}")
        return result


def make_invoker(target: Any) -> Invoker:
    from botocore.config import Config

    # A step runs for up to the function's timeout; never let boto3 retry a step on a read timeout.
    config = Config(connect_timeout=5, read_timeout=300, retries={"max_attempts": 2, "mode": "standard"})
    function = target.function_name("post-call")
    if isinstance(target, stackfind.DeployedStack):
        return Invoker(target.client("lambda", config=config), function)
    target.apply()  # the local Lambda endpoint and dummy credentials of `make dev`
    import boto3

    return Invoker(boto3.client("lambda", config=config), function)


# --------------------------------------------------------------------------- checkpoint


def stack_key(target: Any) -> str:
    if isinstance(target, stackfind.DeployedStack):
        return f"{target.name}-{target.region}"
    return f"dev-{Path(target.path).parent.name}"


class Checkpoint:
    """Progress of one backfill (stack, start, agent) in .local/backfill/<stack>.json, saved after each step."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self._all: dict[str, Any] = {}
        if path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._all = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                self._all = {}
        self.state: dict[str, Any] = dict(self._all.get(key) or {})

    def save(self) -> None:
        self._all[self.key] = self.state
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._all, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.path)


# --------------------------------------------------------------------------- progress


class Progress:
    """One line, redrawn on a terminal; a line per step otherwise."""

    def __init__(self, since: int, until: int, *, stream: Any = None) -> None:
        self.since, self.until = since, until
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def show(self, position: int, totals: dict[str, int], note: str = "") -> None:
        span = max(1, self.until - self.since)
        fraction = min(1.0, max(0.0, (position - self.since) / span))
        bar = "#" * int(fraction * 30)
        line = (
            f"[{bar:<30}] {fraction:4.0%}  up to {day(max(position, self.since))}"
            f"  imported {totals['recovered']}  already {totals['already']}"
            f"  skipped {totals['not_remembered'] + totals['silent'] + totals['unfinished'] + totals['failed_calls']}"
            f"  errors {totals['errors']}"
        )
        if totals["candidates"]:
            line += f"  to import {totals['candidates']}"
        if note:
            line += f"  ({note})"
        if self.live:
            self.stream.write("\r" + line[:200].ljust(120))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- the loop


def backfill(
    invoke: Any,
    checkpoint: Checkpoint | None,
    *,
    since: int,
    until: int,
    agent: str | None,
    dry_run: bool,
    progress: Progress,
    sleep: Any = None,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Step through the window until the function says it is done; returns the totals and the failures."""
    state = checkpoint.state if checkpoint is not None else {}
    position = int(state.get("resume_after", since))
    totals = {name: int((state.get("totals") or {}).get(name, 0)) for name in (*COUNTED, "errors")}
    failures: list[dict[str, Any]] = list(state.get("failures") or [])
    stalls = 0
    while True:
        result = invoke(
            {
                "kind": WINDOW_KIND,
                "after_unix": position,
                "before_unix": until,
                "agent_id": agent,
                "dry_run": dry_run,
            }
        )
        status = result.get("status")
        if status in ("disabled", "invalid", "failed"):
            reason = result.get("reason") or {
                "disabled": "the stack has no ELEVENLABS_API_KEY (ElevenLabsApiKey; with make dev, in .env)",
                "invalid": "the function did not accept the window event (an older deployment?)",
            }.get(status, "")
            raise BackfillError(f"the function answered {status}: {reason}")
        for name in COUNTED:
            totals[name] += int(result.get(name) or 0)
        totals["errors"] += int(result.get("errors") or 0)
        failures.extend(result.get("failures") or [])
        resume = result.get("resume_after")
        moved = resume is not None and int(resume) > position
        # Progress is a later position or a conversation imported: a step that only meets what it met before
        # (already imported, still settling: an API that repeats a page) is no progress.
        worked = int(result.get("recovered") or 0) > 0
        if status == "done":
            position = until
        elif resume is not None:
            position = max(position, int(resume))
        if checkpoint is not None:
            checkpoint.state.update(
                since=since, until=until, agent=agent, resume_after=position, totals=totals, failures=failures[-200:]
            )
            checkpoint.save()
        if status == "done":
            progress.show(until, totals)
            return totals, failures
        if status == "throttled":
            wait = min(float(result.get("retry_after") or 1.0), MAX_WAIT_SECONDS)
            progress.show(position, totals, f"rate limited, waiting {wait:g} s")
            (sleep or pause)(wait)
            continue
        if status != "partial":
            raise BackfillError(f"the function answered an unknown status {status!r}")
        stalls = 0 if (moved or worked) else stalls + 1
        if stalls >= MAX_STALLS:
            raise BackfillError("no progress in several steps: is the function's timeout long enough for one call?")
        progress.show(position, totals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--since", type=parse_when, help="import conversations that started on or after this date (UTC)")
    what.add_argument(
        "--reconcile", action="store_true", help="run one scheduled reconcile now (the event EventBridge sends)"
    )
    parser.add_argument("--until", type=parse_when, help="and before this date (default: now, fixed at the first run)")
    parser.add_argument("--agent", help="only this agent's conversations (agent_...)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be imported; write nothing")
    parser.add_argument("--restart", action="store_true", help="ignore the saved progress and start over")
    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)

    try:
        target = stackfind.resolve(args)
        invoke = make_invoker(target)
    except stackfind.TargetError as exc:
        return stackfind.fail(exc)

    if args.reconcile:
        try:
            result = invoke(dict(SCHEDULED_EVENT))
        except BackfillError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        shown = {key: value for key, value in result.items() if value not in (None, 0, [], False)}
        print("reconcile: " + json.dumps(shown))
        if result.get("status") == "disabled":
            print(
                "error: the stack has no ELEVENLABS_API_KEY (ElevenLabsApiKey when deployed; with make dev, in .env)",
                file=sys.stderr,
            )
        return 0 if result.get("status") in ("done", "partial", "throttled") else 1

    since = args.since
    checkpoint = None
    state: dict[str, Any] = {}
    if not args.dry_run:
        key = f"since={since};agent={args.agent or '*'}"
        checkpoint = Checkpoint(CHECKPOINT_DIR / f"{stack_key(target)}.json", key)
        if args.restart:
            checkpoint.state = {}
        state = checkpoint.state
        if state.get("complete"):
            print(
                f"already complete: conversations since {day(since)} up to {day(state['until'])} were imported"
                " (--restart to go through them again; nothing is written twice)"
            )
            return 0
    until = int(state.get("until") or args.until or time.time())
    if until <= since:
        return stackfind.fail("--until must be later than --since")
    if state.get("resume_after"):
        print(f"resuming at {day(int(state['resume_after']))} (saved progress; --restart to start over)")
    progress = Progress(since, until)
    try:
        totals, failures = backfill(
            invoke, checkpoint, since=since, until=until, agent=args.agent, dry_run=args.dry_run, progress=progress
        )
    except BackfillError as exc:
        progress.done()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        progress.done()
        print("interrupted: run the same command again to carry on")
        return 130
    progress.done()
    if args.dry_run:
        print(
            f"dry run: {totals['candidates']} finished conversations not yet in memory would be imported;"
            f" {totals['already']} already are;"
            f" {totals['unfinished'] + totals['failed_calls']} are unfinished or failed"
        )
        return 0
    if checkpoint is not None:
        # Failed conversations are retried by the next run: it starts again just before the first of them.
        if failures:
            checkpoint.state["resume_after"] = max(since, min(int(f.get("start") or since) for f in failures) - 1)
            checkpoint.state["failures"] = []
            checkpoint.state["totals"] = {**totals, "errors": 0}
        else:
            checkpoint.state["complete"] = True
        checkpoint.save()
    print(
        f"imported {totals['recovered']}, already in memory {totals['already']}, not remembered"
        f" {totals['not_remembered'] + totals['silent']} (no caller, voicemail, silent), unfinished or failed calls"
        f" {totals['unfinished'] + totals['failed_calls']}, deleted meanwhile {totals['gone']}"
    )
    if failures:
        ids = ", ".join(str(f.get("conversation_id")) for f in failures[:10])
        print(
            f"{len(failures)} conversations failed ({ids}{', ...' if len(failures) > 10 else ''}); run again to retry"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
