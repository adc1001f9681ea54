"""The secrets, read from AWS Secrets Manager and kept in memory: the one module that talks to that service.

On AWS the functions' environment holds each secret's ARN (``<NAME>_SECRET_ARN``, template.yaml), never the
secret. ``current()`` is the settings with the secrets' values in place (``config.with_secrets``): read once
at start-up (the handlers' ``prepare``, in Lambda's init phase), kept for ``SECRETS_REFRESH_SECONDS`` (300),
then read again, so a value changed with scripts/stack_secret.py is used within minutes without a deploy.
``refresh(name)`` reads one again at once, at most every ``MIN_REREAD_SECONDS``: the edge calls it when a
request fails the check, so a rotated key works from the first request that uses it, and a stream of bad
requests costs at most one read per container per 30 s.

The read is one ``GetSecretValue`` request (AWS Secrets Manager API Reference: ``POST /``, JSON 1.1,
``X-Amz-Target: secretsmanager.GetSecretValue``, body ``{"SecretId": arn}``, answer ``SecretString``), signed
with the runtime's credentials by ``aws_signed_http`` like the caller profile's read: loading boto3 would
cost the cold start about 125 ms (docs/performance.md). Where the environment has no credentials (SnapStart
serves them from a container endpoint) boto3's client reads instead.

Failing closed: a secret that was never read is empty, and the edge refuses every request with a log line
that says why (``edge.auth``). A read that fails after one succeeded keeps the last value and tries again
after ``RETRY_SECONDS``: a moment of Secrets Manager trouble does not lock ElevenLabs out. Without ARNs
(``make dev``, tests) ``current()`` is ``get_settings()`` and nothing is read.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from agentic_memory.config import Settings, get_settings, with_secrets
from agentic_memory.observability import logger

MIN_REREAD_SECONDS = 30.0
RETRY_SECONDS = 10.0
CONNECT_SECONDS = 2.0
READ_SECONDS = 3.0
TARGET = "secretsmanager.GetSecretValue"


class SecretUnavailable(RuntimeError):
    """Secrets Manager did not give the secret (no access, not found, unreachable); the message names the
    variable and the reason, never a value."""


@dataclass
class _Entry:
    value: str | None = None  # None: never read
    read_at: float = 0.0  # when the value was read (monotonic)
    tried_at: float = 0.0  # when a read was last attempted


_entries: dict[str, _Entry] = {}
_resolved: tuple[Settings, tuple[tuple[str, str | None], ...], Settings] | None = None
_lock = threading.Lock()
_client: Any = None


def _signed_client(settings: Settings) -> Any:
    global _client
    if _client is None:
        from agentic_memory.stores.aws_signed_http import signed_client

        _client = signed_client(
            settings, "secretsmanager", read_seconds=READ_SECONDS, connect_seconds=CONNECT_SECONDS, max_connections=2
        )
    return _client


def read_secret(arn: str, settings: Settings) -> str:
    """The ``SecretString`` of the secret ``arn`` (its current version). Raises ``SecretUnavailable``."""
    if settings.aws_credentials is None:
        from agentic_memory.stores import aws_clients

        try:
            return str(aws_clients.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        except Exception as exc:
            raise SecretUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    from agentic_memory.stores.aws_signed_http import service_url

    url = service_url("secretsmanager", settings, settings.secretsmanager_endpoint) + "/"
    try:
        response = _signed_client(settings).post(
            url,
            content=json.dumps({"SecretId": arn}).encode(),
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET},
        )
    except Exception as exc:  # connection refused, timeout, TLS
        raise SecretUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if response.status_code != 200:
        try:
            error = response.json()
        except ValueError:
            error = {}
        kind = str(error.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP {response.status_code}"
        raise SecretUnavailable(f"{kind}: {str(error.get('message') or error.get('Message') or '')[:200]}")
    value = response.json().get("SecretString")
    if not isinstance(value, str):
        raise SecretUnavailable("the secret has no SecretString (a binary secret is not supported)")
    return value


def _read(name: str, arn: str, settings: Settings, entry: _Entry, now: float) -> None:
    entry.tried_at = now
    try:
        value = read_secret(arn, settings)
    except SecretUnavailable as exc:
        kept = "keeping the value read before" if entry.value is not None else "every request is refused until it is"
        logger.error(
            f"could not read {name} from Secrets Manager ({exc}); {kept}",
            extra={"secret": name, "retry_in_seconds": RETRY_SECONDS},
        )
        return
    entry.value, entry.read_at = value, now


def _due(entry: _Entry, settings: Settings, now: float) -> bool:
    if entry.value is None or now - entry.read_at >= settings.secrets_refresh_seconds:
        return now - entry.tried_at >= RETRY_SECONDS or entry.tried_at == 0.0
    return False


def current(settings: Settings | None = None, *, only: tuple[str, ...] | None = None) -> Settings:
    """The settings with every secret that has an ARN read from Secrets Manager (kept in memory, read again
    when older than ``secrets_refresh_seconds``). ``only``: read just these variables now (the post-call
    acknowledgement needs the webhook secret, not the Mem0 key); a secret never read yet is then empty here.
    Without ARNs: ``settings`` (default ``get_settings()``) as it is. Never raises: a secret that could not be
    read is empty, which the edge refuses (fail closed)."""
    global _resolved
    settings = settings or get_settings()
    if not settings.secret_arns:
        return settings
    now = time.monotonic()
    with _lock:
        for name, arn in settings.secret_arns:
            entry = _entries.setdefault(arn, _Entry())
            if (only is None or name in only) and _due(entry, settings, now):
                _read(name, arn, settings, entry, now)
        values = tuple((name, _entries[arn].value) for name, arn in settings.secret_arns)
        if _resolved is None or _resolved[0] is not settings or _resolved[1] != values:
            resolved = with_secrets(settings, {name: value or "" for name, value in values})
            _resolved = (settings, values, resolved)
        return _resolved[2]


def refresh(name: str, settings: Settings | None = None) -> bool:
    """Read the secret of variable ``name`` again now, unless it was read less than ``MIN_REREAD_SECONDS`` ago;
    True when its value changed (the caller may then check again with ``current()``)."""
    settings = settings or get_settings()
    arn = dict(settings.secret_arns).get(name)
    if not arn:
        return False
    now = time.monotonic()
    with _lock:
        entry = _entries.setdefault(arn, _Entry())
        if entry.tried_at and now - entry.tried_at < MIN_REREAD_SECONDS:
            return False
        before = entry.value
        _read(name, arn, settings, entry, now)
        return entry.value != before


def reset() -> None:
    """Forget every value read and the client (tests; SnapStart's after-restore hook)."""
    global _resolved, _client
    with _lock:
        _entries.clear()
        _resolved = None
        if _client is not None:
            _client.close()
        _client = None
