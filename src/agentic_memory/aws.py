"""The one module that holds AWS clients, created on first use and reused while the container lives.
boto3 is imported here, lazily, so the functions that never call AWS never load it.

The post-call acknowledgement's self-invoke does not use boto3 when it can avoid it: importing boto3 and
building its Lambda client cost about 125 ms of that function's cold start (docs/performance.md), while
one Lambda ``Invoke`` is a single signed HTTP request. ``invoke_async`` sends it over httpx, signed with
httpx-auth's ``AWS4Auth`` (AWS Signature Version 4) with the credentials the Lambda runtime puts in the
environment, as the caller profile's read does (``profile._SignedReader``). Where the environment has no
credentials (SnapStart serves them from a container endpoint) boto3's client serves instead.

Endpoints follow boto3's own configuration (``AWS_ENDPOINT_URL_LAMBDA`` and friends, read by config.py
for the signed path), which is how ``make dev`` points the self-invoke at its local Lambda endpoint.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

from agentic_memory.config import Settings, get_settings

_clients: dict[str, Any] = {}
_lock = threading.Lock()

# The self-invoke's limits, as the boto3 client's below: connect 2 s, read 5 s, 3 attempts in all.
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


# botocore Config arguments per profile: the worker's (a job can wait) and a waiting caller's.
_PROFILES: dict[str, dict[str, Any]] = {
    "worker": {"connect_timeout": 2, "read_timeout": 5, "retries": {"max_attempts": 3, "mode": "standard"}},
    "interactive": {"connect_timeout": 0.3, "read_timeout": 0.5, "retries": {"max_attempts": 2, "mode": "standard"}},
}


def _boto3_client(service: str, profile: str) -> Any:
    key = f"{service}#{profile}"
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                import boto3
                from botocore.config import Config

                found = _clients[key] = boto3.client(service, config=Config(**_PROFILES[profile]))
    return found


def client(service: str) -> Any:
    """The container's boto3 client for ``service``: connect 2 s, read 5 s, 3 attempts."""
    return _boto3_client(service, "worker")


def interactive_client(service: str) -> Any:
    """A client for a request a caller waits on: short timeouts, one retry. Cached like ``client``."""
    return _boto3_client(service, "interactive")


def service_url(service: str, settings: Settings, override: str | None) -> str:
    """``https://<service>.<region>.amazonaws.com`` (``.com.cn`` in China's regions), or ``override``
    (boto3's ``AWS_ENDPOINT_URL_<SERVICE>``); no trailing slash. Region: ``AWS_REGION``, else us-east-1."""
    region = settings.aws_region or "us-east-1"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return (override or f"https://{service}.{region}.{suffix}").rstrip("/")


class SignedInvoker:
    """Lambda's ``Invoke`` API over httpx, signed with httpx-auth's ``AWS4Auth`` with the environment's
    credentials (``Settings.aws_credentials``). One connection pool per container, its TLS context shared
    with the other httpx clients (``tls.py``). ``transport`` is httpx's, for tests."""

    def __init__(self, settings: Settings, transport: Any = None) -> None:
        import httpx
        from httpx_auth import AWS4Auth

        from agentic_memory import tls

        if settings.aws_credentials is None:
            raise ValueError("the signed invoker needs credentials in the environment")
        access_key, secret_key, token = settings.aws_credentials
        self.base = service_url("lambda", settings, settings.lambda_endpoint)
        self.http = httpx.Client(
            auth=AWS4Auth(access_key, secret_key, settings.aws_region or "us-east-1", "lambda", security_token=token),
            verify=tls.context(),
            timeout=httpx.Timeout(INVOKE_READ_SECONDS, connect=INVOKE_CONNECT_SECONDS),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60),
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
        response = client("lambda").invoke(FunctionName=function_name, InvocationType="Event", Payload=payload)
        status = response.get("StatusCode")
        if status != ACCEPTED:
            raise RuntimeError(f"Lambda answered {status} to an asynchronous invoke")
        return
    answer = signed.request(function_name, payload)
    if answer.status_code != ACCEPTED:
        error = answer.headers.get("x-amzn-ErrorType", "").split(":", 1)[0][:80] or "no error type"
        raise RuntimeError(f"Lambda answered {answer.status_code} ({error}) to an asynchronous invoke")


def reset_clients() -> None:
    """Drop every client and the signed invoker's connections (tests; SnapStart's after-restore hook)."""
    global _invoker
    with _lock:
        _clients.clear()
        if _invoker is not None:
            _invoker.close()
        _invoker = None
