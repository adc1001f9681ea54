"""Replay post-call jobs that Lambda gave up on, from the dead-letter queue or the local file.

A job fails three times (Mem0 down, say) and Lambda's on-failure destination parks its record in the
SQS dead-letter queue (`make dev` appends the same records to .local/dead-letters.jsonl). This runs
each parked job again and removes the record only when the job succeeded; the worker's writes are
idempotent, so a job that had half-succeeded writes only what is missing.

    python scripts/replay_dlq.py                                   # the running `make dev`'s dead letters
    python scripts/replay_dlq.py --stack agentic-memory            # queue and function from the stack
    python scripts/replay_dlq.py --queue-url URL [--function-name NAME]
    python scripts/replay_dlq.py --file FILE [--local]             # a file of records
    ... [--dry-run] [--max N] [--local] [--port N | --state FILE | --stack NAME [--region REGION]]

The stack is found as every script finds it (scripts/stackfind.py): with no source flag, the running
`make dev` (its dead-letter file, replayed through its local Lambda: nothing to set up); `--port N` or
`--state FILE` for another `make dev`; `--stack NAME` for a deployed stack's queue and function.
`--queue-url` and `--file` name a source directly; `--file` with a stack flag replays into that stack.

Through Lambda (the default) each job is invoked synchronously (RequestResponse) on --function-name,
the stack's post-call function, or the function named in the record. --local runs the handler in
this process instead, configured for the stack (its Mem0, idempotency table and endpoints), or with no
stack from the environment and .env (MEM0_API_KEY, MEM0_HOST, IDEMPOTENCY_TABLE). Output names a job by
conversation id and masked caller only, never transcript text. Exit status: 0 when nothing failed, 1 when
a job failed, 2 when the source or stack is unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from agentic_memory.observability import mask_caller  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import stackfind  # noqa: E402

from devstack.envfile import apply_env_file  # noqa: E402

SUCCESS = frozenset({"written", "duplicate"})
SQS_BATCH = 10
LOCAL_BUDGET_MS = 900_000
_NUMBERS = re.compile(r"\+?\d[\d\s().\-]{5,}\d")


class SourceError(RuntimeError):
    """The queue, stack or file cannot be used; the message is for the operator."""


def make_client(service: str, region: str | None) -> Any:
    """A boto3 client; a synchronous worker run can take minutes, hence the long read timeout."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=900, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client(service, region_name=region, config=config)


def redact(text: str, limit: int = 160) -> str:
    """An error message safe to print: anything shaped like a phone number is masked, and it is short."""
    return _NUMBERS.sub("<number>", " ".join(str(text).split()))[:limit]


# --------------------------------------------------------------------------- records


@dataclass
class Letter:
    """One dead-letter record and where it came from (an SQS message or a line of the file)."""

    ref: str
    raw: str
    receipt: str | None = None
    job: dict[str, Any] | None = None
    function_arn: str | None = None
    problem: str | None = None
    attempts: Any = None
    condition: Any = None


def parse_letter(ref: str, raw: str, receipt: str | None = None) -> Letter:
    """Read Lambda's destination record; a record that is not a post-call job gets a ``problem``."""
    from agentic_memory.domain.job import Job

    letter = Letter(ref=ref, raw=raw, receipt=receipt)
    try:
        record = json.loads(raw)
    except ValueError:
        letter.problem = "not JSON"
        return letter
    if isinstance(record, dict) and record.get("kind") == "post_call_job":
        # A job itself: what the wait queue's redrive policy parks when a waiting job could not be handed back
        # to Lambda three times (template.yaml, PostCallWaitQueue); no Lambda record around it.
        record = {"requestPayload": record, "requestContext": {"condition": "WaitQueueRedrive"}}
    if not isinstance(record, dict) or not isinstance(record.get("requestPayload"), dict):
        letter.problem = "not a Lambda destination record (no requestPayload object)"
        return letter
    context = record.get("requestContext") if isinstance(record.get("requestContext"), dict) else {}
    letter.function_arn = context.get("functionArn") if isinstance(context.get("functionArn"), str) else None
    letter.attempts, letter.condition = context.get("approximateInvokeCount"), context.get("condition")
    try:
        Job.model_validate(record["requestPayload"])
    except Exception:
        letter.problem = "its requestPayload is not a post-call job"
        return letter
    letter.job = record["requestPayload"]
    return letter


def describe(letter: Letter) -> str:
    job = letter.job or {}
    conversation = str(job.get("conversation_id", "?"))[:80]
    if not conversation.isprintable():
        conversation = repr(conversation)
    return f"{conversation}  caller {mask_caller(job.get('caller_id'))}"


# --------------------------------------------------------------------------- sources


class QueueSource:
    """The SQS dead-letter queue. Received messages stay invisible while the run lasts (so none is
    seen twice); those not deleted are made visible again at the end."""

    def __init__(self, client: Any, url: str, *, wait_seconds: int, visibility_seconds: int) -> None:
        self.client, self.url = client, url
        self.wait_seconds, self.visibility_seconds = wait_seconds, visibility_seconds
        self._held: dict[str, str] = {}

    def letters(self, limit: int | None) -> Iterator[Letter]:
        taken = 0
        while limit is None or taken < limit:
            batch = SQS_BATCH if limit is None else min(SQS_BATCH, limit - taken)
            try:
                response = self.client.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=batch,
                    WaitTimeSeconds=self.wait_seconds,
                    VisibilityTimeout=self.visibility_seconds,
                )
            except Exception as exc:
                raise SourceError(f"cannot read the queue: {redact(exc)}") from None
            messages = response.get("Messages", [])
            if not messages:
                return
            for message in messages:
                self._held[message["MessageId"]] = message["ReceiptHandle"]
                taken += 1
                yield parse_letter(message["MessageId"], message.get("Body", ""), message["ReceiptHandle"])

    def remove(self, letter: Letter) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=letter.receipt)
        self._held.pop(letter.ref, None)

    def finish(self) -> None:
        stuck = 0
        for receipt in self._held.values():
            try:
                self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=0)
            except Exception:
                stuck += 1
        if stuck:
            print(f"note: {stuck} kept message(s) stay hidden until their visibility timeout ends")
        self._held.clear()


class FileSource:
    """A JSON-lines file of records. Replayed lines are removed when the run ends, by an atomic
    rewrite that keeps any line appended meanwhile (the dev stack may still be writing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._original = path.read_bytes() if path.is_file() else b""
        self._removed: set[int] = set()

    def letters(self, limit: int | None) -> Iterator[Letter]:
        taken = 0
        for number, line in enumerate(self._original.decode("utf-8", "replace").splitlines()):
            if not line.strip():
                continue
            if limit is not None and taken >= limit:
                return
            taken += 1
            yield parse_letter(str(number + 1), line)

    def remove(self, letter: Letter) -> None:
        self._removed.add(int(letter.ref) - 1)

    def finish(self) -> None:
        if not self._removed:
            return
        current = self.path.read_bytes() if self.path.is_file() else b""
        appended = current[len(self._original) :] if current.startswith(self._original) else b""
        kept = [
            line
            for number, line in enumerate(self._original.decode("utf-8", "replace").splitlines(keepends=True))
            if number not in self._removed
        ]
        text = "".join(kept).encode("utf-8") + appended
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, self.path.stat().st_mode & 0o777)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._original, self._removed = text, set()


# --------------------------------------------------------------------------- runners


@dataclass
class LocalContext:
    """What the handler and Powertools read from a Lambda context."""

    function_name: str = "post-call-replay"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:post-call-replay"
    aws_request_id: str = field(default_factory=lambda: f"replay-{uuid.uuid4()}")
    log_group_name: str = "replay"
    log_stream_name: str = "replay"

    def get_remaining_time_in_millis(self) -> int:
        return LOCAL_BUDGET_MS


def run_local(job: dict[str, Any]) -> tuple[bool, str]:
    """The job through the post-call handler in this process; an exception is a failure."""
    from post_call.handler import lambda_handler

    try:
        result = lambda_handler(job, LocalContext())
    except Exception as exc:
        return False, f"{type(exc).__name__}: {redact(exc)}"
    return _outcome(result)


def run_lambda(client: Any, function: str, job: dict[str, Any]) -> tuple[bool, str]:
    """The job through Lambda, synchronously; a FunctionError is a failure."""
    try:
        response = client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(job).encode()
        )
    except Exception as exc:
        return False, f"invoke failed: {type(exc).__name__}: {redact(exc)}"
    raw = response["Payload"].read() if response.get("Payload") is not None else b""
    try:
        result = json.loads(raw) if raw else None
    except ValueError:
        result = None
    if response.get("FunctionError"):
        kind = result.get("errorType", "Error") if isinstance(result, dict) else "Error"
        message = result.get("errorMessage", "") if isinstance(result, dict) else ""
        return False, f"{response['FunctionError']} {kind}: {redact(message)}"
    return _outcome(result)


def _outcome(result: Any) -> tuple[bool, str]:
    status = result.get("status") if isinstance(result, dict) else None
    if status in SUCCESS:
        writes = result.get("writes")
        return True, f"{status}" + (f" ({writes} writes)" if isinstance(writes, int) else "")
    return False, f"the worker answered {redact(json.dumps(result, default=str), 80)}"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--queue-url", help="the dead-letter queue's URL (default: the stack's)")
    source.add_argument("--file", type=Path, help="a JSON-lines file of records (default: the stack's)")
    parser.add_argument(
        "--function-name", help="the function to run the jobs on (default: the stack's or the record's)"
    )
    parser.add_argument("--local", action="store_true", help="run the handler in this process instead of Lambda")
    parser.add_argument("--dry-run", action="store_true", help="list the records; replay and remove nothing")
    parser.add_argument("--max", type=int, default=None, metavar="N", help="handle at most N records")
    parser.add_argument(
        "--env-file", type=Path, default=ROOT / ".env", help="settings for --local without a stack (default .env)"
    )
    parser.add_argument("--wait", type=int, default=2, help="seconds to long-poll the queue (default 2)")
    parser.add_argument("--visibility", type=int, default=900, help="seconds messages stay hidden during the run")
    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.max is not None and args.max < 1:
        parser.error("--max must be at least 1")
    if args.queue_url and stackfind.chosen(args):
        parser.error(f"--queue-url and {stackfind.chosen(args)[0]} both name a source: give one")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    function = args.function_name
    region = args.region
    try:
        # A source named directly runs as before (the environment decides); otherwise find the stack.
        target = None
        if stackfind.chosen(args) or (args.queue_url is None and args.file is None):
            target = stackfind.resolve(args)
        if isinstance(target, stackfind.LocalStack):
            target.apply()  # its Lambda endpoint, DynamoDB, Mem0 stand-in and fake credentials
            function = function or target.function_name("post-call")
        elif isinstance(target, stackfind.DeployedStack):
            region = target.region
            function = function or target.function_name("post-call")
        path = target.dead_letters if isinstance(target, stackfind.LocalStack) else None
        path = args.file if args.file is not None else path
        if path is not None:
            if not path.is_file():
                print(f"no dead letters: {path} does not exist")
                return 0
            source: QueueSource | FileSource = FileSource(path)
        else:
            url = args.queue_url
            if isinstance(target, stackfind.DeployedStack):
                url = target.output("PostCallDeadLetterQueueUrl")
            sqs = make_client("sqs", region)
            source = QueueSource(sqs, url, wait_seconds=max(args.wait, 0), visibility_seconds=args.visibility)
        if args.local and not args.dry_run:
            if isinstance(target, stackfind.DeployedStack):
                target.apply()  # Mem0 and the idempotency table of the deployed worker
            elif target is None:
                apply_env_file(args.env_file)
            # The report is this script's output; the handler's own log lines and metrics are not needed.
            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        lambda_client = None if args.local or args.dry_run else make_client("lambda", region)
        return replay(source, args, function, lambda_client)
    except (SourceError, stackfind.TargetError) as exc:
        return stackfind.fail(exc)


def replay(source: QueueSource | FileSource, args: argparse.Namespace, function: str | None, client: Any) -> int:
    totals = {"replayed": 0, "failed": 0, "skipped": 0}
    verb = "would replay" if args.dry_run else "replayed"
    try:
        for letter in source.letters(args.max):
            if letter.problem:
                totals["skipped"] += 1
                print(f"skipped   record {letter.ref}: {letter.problem} (kept)")
                continue
            job = letter.job or {}
            if args.dry_run:
                totals["replayed"] += 1
                print(f"{verb}  {describe(letter)}  ({letter.condition}, {letter.attempts} attempts)")
                continue
            target = function or letter.function_arn
            if args.local:
                ok, detail = run_local(job)
            elif target:
                ok, detail = run_lambda(client, target, job)
            else:
                ok, detail = False, "no function to invoke: pass --function-name"
            if ok:
                source.remove(letter)
                totals["replayed"] += 1
                print(f"replayed  {describe(letter)}  {detail}; record removed")
            else:
                totals["failed"] += 1
                print(f"failed    {describe(letter)}  {detail}; record kept")
    finally:
        source.finish()
    label = "would replay" if args.dry_run else "replayed"
    print(f"{label} {totals['replayed']}, failed {totals['failed']}, skipped {totals['skipped']}")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
