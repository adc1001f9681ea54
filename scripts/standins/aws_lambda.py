"""A local Lambda: run handlers with a Lambda-like context, and serve the Invoke API.

The documents it follows: the Lambda API Reference's `Invoke` (its path, `InvocationType`, status codes
and error shape), the Lambda Developer Guide's pages on the Python context object, on asynchronous
invocation (retries, `MaximumRetryAttempts`, on-failure destination records) and on quotas (payloads).

Why: `post_call` hands its job to itself with an unchanged Lambda `Invoke` (`InvocationType` Event:
SigV4-signed httpx, or boto3 where the environment holds no credentials; agentic_memory/stores/lambda_invoke.py).
Both follow `AWS_ENDPOINT_URL_LAMBDA`: pointing it at `LambdaInvokeServer` makes that call land here, where the job
runs on a background worker with Lambda's asynchronous semantics: a failed invocation is retried
(`MaximumRetryAttempts`, 2 by default) after a delay, then parked in a dead-letter file whose lines
have the shape of Lambda's on-failure destination record, so the same replay script reads both.

Differences from Lambda, on purpose: every function shares one process and one module state (no
container isolation, so Powertools' log keys of concurrent invocations can mix), a handler that
overruns its timeout is not killed but reported as timed out when it returns, retry delays are
seconds rather than minutes, and jobs waiting for a retry live in memory only.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from standins.serving import BackgroundServer, BurstServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 256 * 1024
DEFAULT_RETRY_DELAYS = (1.0, 2.0)
RETRIES_EXHAUSTED = "RetriesExhausted"
# Lambda's condition for an event dropped before its retries ran out; used for jobs `make dev`
# abandons when it stops, so they can be replayed like any other dead letter.
ABANDONED = "EventAgeExceeded"

_INVOKE_PATH = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")


def _utc_stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class LocalFunction:
    """A handler and the configuration Lambda would give it."""

    name: str
    handler: Callable[[Any, Any], Any]
    timeout: float = 3.0
    memory_mb: int = 128
    async_retries: int = 2

    def arn(self, region: str = REGION, account: str = ACCOUNT) -> str:
        return f"arn:aws:lambda:{region}:{account}:function:{self.name}"


class LambdaContext:
    """The context object handlers and Powertools read: names, request id, remaining time."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, function: LocalFunction, request_id: str, *, region: str = REGION) -> None:
        self.function_name = function.name
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = function.arn(region)
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(slots=True)
class Outcome:
    """One invocation's result: the handler's JSON-ready return value, or Lambda's error payload."""

    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(order=True, slots=True)
class _Pending:
    due: float
    seq: int
    function: LocalFunction = field(compare=False)
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    attempts: int = field(default=0, compare=False)
    last_error: dict[str, Any] | None = field(default=None, compare=False)


def _error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """What the Python runtime reports for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


class LambdaRuntime:
    """Runs registered functions synchronously (`invoke`) or on background workers (`submit`)."""

    def __init__(
        self,
        functions: Iterable[LocalFunction],
        *,
        dead_letter_path: Path,
        retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
        workers: int = 2,
        region: str = REGION,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.functions = {function.name: function for function in functions}
        self.dead_letter_path = Path(dead_letter_path)
        self.retry_delays = tuple(float(delay) for delay in retry_delays) or (0.0,)
        self.region = region
        self.log = log or (lambda line: None)
        self.dead_letters = 0
        self._heap: list[_Pending] = []
        self._running: set[str] = set()
        self._running_jobs: dict[str, _Pending] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._accepting = True
        self._closing = False
        self._file_lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._work, name=f"lambda-async-{i}", daemon=True) for i in range(max(1, workers))
        ]
        for worker in self._workers:
            worker.start()

    # ------------------------------------------------------------------ lookup and synchronous calls

    def function(self, name_or_arn: str) -> LocalFunction | None:
        """A function by name, partial ARN or ARN, ignoring a ``$LATEST`` qualifier like Lambda."""
        name = name_or_arn.split(":function:", 1)[-1] if ":function:" in name_or_arn else name_or_arn
        name, _, qualifier = name.partition(":")
        if qualifier not in ("", "$LATEST"):
            return None
        return self.functions.get(name)

    def invoke(self, function: LocalFunction, event: Any, *, request_id: str | None = None) -> Outcome:
        """Run ``function`` now, in this thread. The event and the result go through JSON as on Lambda."""
        request_id = request_id or str(uuid.uuid4())
        context = LambdaContext(function, request_id, region=self.region)
        started = time.monotonic()
        outcome = Outcome(request_id)
        try:
            result = function.handler(json.loads(json.dumps(event)), context)
            outcome.result = json.loads(json.dumps(result))
        except Exception as exc:
            outcome.error = _error_payload(exc, request_id)
        elapsed = time.monotonic() - started
        outcome.duration_ms = elapsed * 1000
        if outcome.ok and elapsed > function.timeout:
            outcome.result = None
            outcome.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {function.timeout:.2f} seconds",
            }
        return outcome

    # ------------------------------------------------------------------ asynchronous calls

    def submit(self, function: LocalFunction, event: Any) -> str:
        """Queue an asynchronous invocation (InvocationType=Event); returns its request id."""
        request_id = str(uuid.uuid4())
        with self._cond:
            if not self._accepting:
                raise RuntimeError("the local Lambda is shutting down")
            heapq.heappush(self._heap, _Pending(time.monotonic(), next(self._seq), function, event, request_id))
            self._cond.notify()
        return request_id

    def pending(self) -> int:
        """Invocations queued, waiting for a retry, or running."""
        with self._cond:
            return len(self._heap) + len(self._running)

    def drain(self, timeout: float) -> bool:
        """Wait until every queued invocation finished (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, grace: float = 5.0) -> int:
        """Stop accepting, let work finish for up to ``grace`` seconds, then abandon the rest.

        Abandoned invocations go to the dead-letter file (condition EventAgeExceeded), so stopping
        `make dev` never loses a job. Returns how many were abandoned.
        """
        with self._cond:
            self._accepting = False
        self.drain(grace)
        with self._cond:
            self._closing = True
            left = [*self._heap, *self._running_jobs.values()]
            self._heap.clear()
            self._cond.notify_all()
        for job in left:
            self._dead_letter(job, ABANDONED)
        return len(left)

    def _next_job(self) -> _Pending | None:
        with self._cond:
            while not self._closing:
                now = time.monotonic()
                if self._heap and self._heap[0].due <= now:
                    job = heapq.heappop(self._heap)
                    self._running.add(job.request_id)
                    self._running_jobs[job.request_id] = job
                    return job
                self._cond.wait(self._heap[0].due - now if self._heap else None)
        return None

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            job.attempts += 1
            outcome = self.invoke(job.function, job.event, request_id=job.request_id)
            allowed = 1 + job.function.async_retries
            where = f"{job.function.name} job {job.request_id[:8]} attempt {job.attempts}/{allowed}"
            if not outcome.ok:
                job.last_error = outcome.error
            with self._cond:
                # Once out of _running_jobs, close() no longer abandons this job: this worker owns it.
                self._running_jobs.pop(job.request_id, None)
                taken = self._closing  # close() already dead-lettered it as abandoned
            exhausted = not outcome.ok and job.attempts >= allowed
            if exhausted and not taken:
                # Written before the job leaves _running, so drain() returns only after the record exists.
                self._dead_letter(job, RETRIES_EXHAUSTED)
            abandon = False
            delay = 0.0
            with self._cond:
                self._running.discard(job.request_id)
                if not outcome.ok and not exhausted and not taken:
                    if self._closing:
                        abandon = True
                    else:
                        delay = self.retry_delays[min(job.attempts, len(self.retry_delays)) - 1]
                        job.due = time.monotonic() + delay
                        heapq.heappush(self._heap, job)
                self._cond.notify_all()
            if abandon:
                self._dead_letter(job, ABANDONED)
            if taken:
                return
            if outcome.ok:
                self.log(f"{where}: ok in {outcome.duration_ms:.0f} ms -> {json.dumps(outcome.result)[:120]}")
            elif exhausted:
                self.log(f"{where}: FAILED ({_describe(outcome.error)}); gave up, saved to {self.dead_letter_path}")
            elif not abandon:
                self.log(f"{where}: FAILED ({_describe(outcome.error)}); retry in {delay:g} s")

    # ------------------------------------------------------------------ dead letters

    def dead_letter_record(self, job: _Pending, condition: str) -> dict[str, Any]:
        """Lambda's on-failure destination record for ``job``."""
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": _utc_stamp(),
            "requestContext": {
                "requestId": job.request_id,
                "functionArn": f"{job.function.arn(self.region)}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": job.attempts,
            },
            "requestPayload": job.event,
        }
        if job.last_error is not None:
            record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
            record["responsePayload"] = job.last_error
        return record

    def abandon(self, function: LocalFunction, event: Any) -> None:
        """Park ``event`` for ``function`` in the dead-letter file as abandoned (condition EventAgeExceeded),
        never run: what `make dev` does with a job still waiting in a local queue when it stops."""
        self._dead_letter(_Pending(time.monotonic(), next(self._seq), function, event, str(uuid.uuid4())), ABANDONED)

    def _dead_letter(self, job: _Pending, condition: str) -> None:
        line = json.dumps(self.dead_letter_record(job, condition), ensure_ascii=False)
        with self._file_lock:
            self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letter_path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
            self.dead_letters += 1


def _describe(error: dict[str, Any] | None) -> str:
    error = error or {}
    return f"{error.get('errorType', 'Error')}: {str(error.get('errorMessage', ''))[:160]}"


# ---------------------------------------------------------------------- the Invoke API over HTTP


class _InvokeHandler(BaseHTTPRequestHandler):
    server: _InvokeHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "local-lambda"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # the runtime logs what matters
        return

    def do_POST(self) -> None:
        runtime = self.server.runtime
        match = _INVOKE_PATH.fullmatch(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length > 0 else b""
        if match is None:
            self._error(404, "UnknownOperationException", f"Unknown operation {self.command} {self.path}")
            return
        function = runtime.function(unquote(match.group(1)))
        if function is None:
            arn = f"arn:aws:lambda:{runtime.region}:{ACCOUNT}:function:{unquote(match.group(1))}"
            self._error(404, "ResourceNotFoundException", f"Function not found: {arn}")
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            self._error(413, "RequestEntityTooLargeException", f"Request must be smaller than {limit} bytes")
            return
        try:
            event = json.loads(payload) if payload.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._error(400, "InvalidRequestContentException", "Could not parse request body into json")
            return
        if invocation_type == "DryRun":
            self._send(204, b"", {})
        elif invocation_type == "Event":
            try:
                request_id = runtime.submit(function, event)
            except RuntimeError as exc:
                self._error(503, "ServiceException", str(exc))
                return
            self._send(202, b"", {"x-amzn-RequestId": request_id})
        elif invocation_type == "RequestResponse":
            outcome = runtime.invoke(function, event)
            result = "ok" if outcome.ok else f"FAILED ({_describe(outcome.error)})"
            runtime.log(f"{function.name} invoked (RequestResponse): {result} in {outcome.duration_ms:.0f} ms")
            headers = {"x-amzn-RequestId": outcome.request_id, "X-Amz-Executed-Version": "$LATEST"}
            if not outcome.ok:
                headers["X-Amz-Function-Error"] = "Unhandled"
            body = outcome.result if outcome.ok else outcome.error
            self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
        else:
            self._error(400, "InvalidParameterValueException", f"Unknown X-Amz-Invocation-Type {invocation_type!r}")

    def _error(self, status: int, kind: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        self._send(status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": kind})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _InvokeHTTPServer(BurstServer):
    def __init__(self, address: tuple[str, int], runtime: LambdaRuntime) -> None:
        self.runtime = runtime
        super().__init__(address, _InvokeHandler)


class LambdaInvokeServer(BackgroundServer):
    """`POST /2015-03-31/functions/{name}/invocations` on 127.0.0.1, the REST path boto3 uses."""

    thread_name = "lambda-invoke"

    def __init__(self, runtime: LambdaRuntime, host: str = "127.0.0.1", port: int = 0) -> None:
        self.runtime = runtime
        super().__init__(_InvokeHTTPServer((host, port), runtime))
