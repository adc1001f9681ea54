"""The post-call acknowledgement's hand-off to the worker: one asynchronous Lambda ``Invoke`` of itself.

Importing boto3 and building its Lambda client cost about 125 ms of that function's cold start
(docs/performance.md), while one ``Invoke`` is a single signed HTTP request: ``invoke_async`` sends it
over httpx (``aws_signed_http``) with the credentials the Lambda runtime puts in the environment. Where
the environment has none (SnapStart serves them from a container endpoint), boto3's client serves.
The endpoint follows boto3's ``AWS_ENDPOINT_URL_LAMBDA`` (read by config.py), which is how ``make dev``
points the self-invoke at its local Invoke endpoint.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

from agentic_memory.config import Settings, get_settings
from agentic_memory.stores import aws_clients, aws_signed_http

# The self-invoke's limits, as aws_clients' worker clients have them: connect 2 s, read 5 s, 3 attempts in all.
INVOKE_CONNECT_SECONDS = 2.0
INVOKE_READ_SECONDS = 5.0
INVOKE_ATTEMPTS = 3
INVOKE_BACKOFF_SECONDS = 0.05
# Lambda API reference, "Invoke": POST /2015-03-31/functions/FunctionName/invocations, the invocation type
# in X-Amz-Invocation-Type, the payload as the body; an asynchronous invocation is accepted with 202.
INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
ACCEPTED = 202
# What boto3's "standard" retry mode also retries: throttling and server-side failures (AWS SDKs and
# Tools reference guide, "Retry behavior").
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


_lock = threading.Lock()


class SignedInvoker:
    """Lambda's ``Invoke`` API over httpx, signed with httpx-auth's ``AWS4Auth`` with the environment's
    credentials (``Settings.aws_credentials``). One connection pool per container, its TLS context shared
    with the other httpx clients (``tls``). ``transport`` is httpx's, for tests."""

    def __init__(self, settings: Settings, transport: Any = None) -> None:
        import httpx

        self.base = aws_signed_http.service_url("lambda", settings, settings.lambda_endpoint)
        self.http = aws_signed_http.signed_client(
            settings,
            "lambda",
            read_seconds=INVOKE_READ_SECONDS,
            connect_seconds=INVOKE_CONNECT_SECONDS,
            max_connections=64,
            transport=transport,
        )
        self._transport_error = httpx.TransportError

    def request(self, function_name: str, payload: bytes) -> Any:
        """One ``Invoke`` with ``InvocationType=Event`` (``httpx.Response``); passing failures (a transport
        error, throttling, 5xx) are tried again, ``INVOKE_ATTEMPTS`` in all. Raises httpx's transport errors."""
        url = self.base + INVOKE_PATH.format(name=quote(function_name, safe=""))
        headers = {"X-Amz-Invocation-Type": "Event"}
        for attempt in range(1, INVOKE_ATTEMPTS + 1):
            try:
                response = self.http.post(url, content=payload, headers=headers)
            except self._transport_error:
                if attempt == INVOKE_ATTEMPTS:
                    raise
            else:
                if response.status_code not in RETRYABLE_STATUSES or attempt == INVOKE_ATTEMPTS:
                    return response
            time.sleep(INVOKE_BACKOFF_SECONDS * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.http.close()


_invoker: SignedInvoker | None = None


def invoker(settings: Settings | None = None) -> SignedInvoker | None:
    """The container's signed invoker, or ``None`` when the environment has no credentials (boto3 then)."""
    global _invoker
    found = _invoker
    if found is None:
        settings = settings or get_settings()
        if settings.aws_credentials is None:
            return None
        with _lock:
            found = _invoker
            if found is None:
                found = _invoker = SignedInvoker(settings)
    return found


def invoke_async(function_name: str, payload: bytes) -> None:
    """Queue ``payload`` (bytes, the job's JSON) for ``function_name`` (``InvocationType="Event"``).

    Signed httpx when the environment holds credentials, else boto3's Lambda client; either way three
    attempts in all. Raises ``RuntimeError`` when Lambda answers other than 202 (with its error type,
    e.g. ``ResourceNotFoundException``), and the transport's or boto3's exceptions as they come: the
    webhook then answers 500 and ElevenLabs may send it again.
    """
    signed = invoker()
    if signed is None:
        response = aws_clients.client("lambda").invoke(
            FunctionName=function_name, InvocationType="Event", Payload=payload
        )
        status = response.get("StatusCode")
        if status != ACCEPTED:
            raise RuntimeError(f"Lambda answered {status} to an asynchronous invoke")
        return
    answer = signed.request(function_name, payload)
    if answer.status_code != ACCEPTED:
        error = answer.headers.get("x-amzn-ErrorType", "").split(":", 1)[0][:80] or "no error type"
        raise RuntimeError(f"Lambda answered {answer.status_code} ({error}) to an asynchronous invoke")


def reset() -> None:
    """Drop the signed invoker and its connections (tests; SnapStart's after-restore hook)."""
    global _invoker
    with _lock:
        if _invoker is not None:
            _invoker.close()
        _invoker = None
