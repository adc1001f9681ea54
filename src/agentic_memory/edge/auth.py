"""Who may call: the workspace key (client_data, retrieve) and ElevenLabs' webhook signature (post_call).

Both fail closed: with no secret configured every request is refused, and the log says why once
per container. Comparisons are constant-time. Several secrets may be valid at once, for rotation:
``ELEVENLABS_WORKSPACE_KEY`` and ``ELEVENLABS_HMAC_KEY`` are comma-separated lists (config.py splits
them), so a secret can never contain a comma. A secret with a comma in it would be split into shorter
pieces, each accepted on its own; to keep that, or any other short secret, from weakening the check,
every configured secret must be at least ``MIN_SECRET_CHARS`` (16) characters long. If one is shorter,
the endpoint fails closed as if no secret were set, and the log names the variable (never the value).

On AWS the secrets come from Secrets Manager (``stores.secret_store``): a request that fails the check has
the secret read again (at most every 30 s) and checked once more, so a key rotated with
scripts/stack_secret.py works from its first use. The stack's placeholder for a secret not set yet
(``config.SECRET_PLACEHOLDER_PREFIX``) is refused like a missing secret, with a log line saying how to set it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from agentic_memory.config import SECRET_PLACEHOLDER_PREFIX
from agentic_memory.edge.http import Request, parse_json_object, parse_request
from agentic_memory.errors import Unauthorized
from agentic_memory.observability import Metric, count, logger
from agentic_memory.stores import secret_store

WORKSPACE_KEY_HEADER = "x-workspace-key"
SIGNATURE_HEADER = "elevenlabs-signature"
# What the post-call acknowledgement reads from the secret store: its webhook secret only.
WEBHOOK_SECRET = ("ELEVENLABS_HMAC_KEY",)

# ElevenLabs' Python SDK (on-premise PostCallWebhookConfig) documents a 16-character minimum for the
# webhook secret (platform-notes/elevenlabs.md, SDK section); we hold the workspace key to the same floor.
MIN_SECRET_CHARS = 16

_HEX64 = re.compile(r"[0-9a-f]{64}")
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.error(message)


def _usable(variable: str, secrets: Sequence[str]) -> bool:
    """True when ``secrets`` may be used; otherwise log once per container why not, naming only ``variable``."""
    if not secrets:
        _warn_once(variable, f"{variable} is not set: every request is refused until it is")
        return False
    if any(secret.lower().startswith(SECRET_PLACEHOLDER_PREFIX) for secret in secrets):
        _warn_once(
            f"{variable}:placeholder",
            f"{variable} still holds the stack's placeholder: every request is refused until it is set"
            f" (scripts/stack_secret.py --stack NAME set {'hmac' if 'HMAC' in variable else 'workspace'})",
        )
        return False
    short = [position for position, secret in enumerate(secrets, 1) if len(secret) < MIN_SECRET_CHARS]
    if short:
        where = ", ".join(str(position) for position in short)
        _warn_once(
            f"{variable}:short",
            f"{variable} has a value shorter than {MIN_SECRET_CHARS} characters (item {where} of "
            f"{len(secrets)} in the comma-separated list): every request is refused until it is replaced",
        )
        return False
    return True


def _matches_any(candidate: bytes, secrets: Iterable[bytes]) -> bool:
    # Compare against every secret, no early exit, so timing says nothing about which one matched.
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(candidate, secret)
    return matched


def check_workspace_key(presented: str | None, keys: Sequence[str]) -> None:
    """Raise ``Unauthorized`` unless ``presented`` equals one of ``keys``.

    ``keys`` are the configured values (``Settings.workspace_keys``). With none, or with any shorter than
    ``MIN_SECRET_CHARS``, every request is refused (fail closed); the log says why once per container.
    """
    if not _usable("ELEVENLABS_WORKSPACE_KEY", keys):
        raise Unauthorized("This endpoint is not configured with a usable workspace key.")
    if not presented:
        raise Unauthorized(f"Missing {WORKSPACE_KEY_HEADER} header.")
    candidate = presented.strip().encode("utf-8", errors="surrogatepass")
    if not _matches_any(candidate, (key.encode("utf-8") for key in keys)):
        raise Unauthorized(f"Invalid {WORKSPACE_KEY_HEADER} header.")


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """``t=<unix seconds>,v0=<hex>[,v0=<hex>...]`` parsed strictly.

    Every part must be ``key=value``; ``t`` appears exactly once and is all digits; at least one
    ``v0`` is 64 lowercase hex digits. Other well-formed schemes are ignored (a future ``v1``).
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not key or not value:
            raise Unauthorized("Malformed ElevenLabs-Signature header.")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit() or len(value) > 12:
                raise Unauthorized("Malformed timestamp in ElevenLabs-Signature header.")
            timestamp = int(value)
        elif key == "v0":
            if not _HEX64.fullmatch(value):
                raise Unauthorized("Malformed v0 signature in ElevenLabs-Signature header.")
            signatures.append(value)
    if timestamp is None or not signatures:
        raise Unauthorized("ElevenLabs-Signature needs a t= timestamp and a v0= signature.")
    return timestamp, signatures


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header ElevenLabs sends for ``body``: used by tests, scripts and the call simulator."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v0={digest}"


def verify_signature(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Raise ``Unauthorized`` unless ``header`` signs ``body`` (the raw bytes) with one of ``secrets``.

    ``secrets`` are the configured values (``Settings.hmac_keys``). With none, or with any shorter than
    ``MIN_SECRET_CHARS``, every request is refused (fail closed); the log says why once per container.
    """
    if not _usable("ELEVENLABS_HMAC_KEY", secrets):
        raise Unauthorized("This endpoint is not configured with a usable webhook secret.")
    if not header:
        raise Unauthorized("Missing ElevenLabs-Signature header.")
    timestamp, signatures = parse_signature_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise Unauthorized("The signature timestamp is outside the accepted window.")
    message = f"{timestamp}.".encode() + body
    expected = [hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest().encode() for secret in secrets]
    valid = False
    for signature in signatures:
        valid |= _matches_any(signature.encode(), expected)
    if not valid:
        raise Unauthorized("The signature does not match the body.")


def authorized_json(event: Any) -> dict[str, Any]:
    """The JSON object of a ``client_data`` or ``retrieve`` request (an API Gateway HTTP API event),
    checked in the order that leaks least to an unauthenticated caller: size, workspace key, then JSON.
    Raises ``PayloadTooLarge``, ``Unauthorized`` (counted as ``AuthRejected``) or ``BadRequest``."""
    settings = secret_store.current()
    request = parse_request(event, max_body_bytes=settings.max_body_bytes)
    presented = request.header(WORKSPACE_KEY_HEADER)
    try:
        try:
            check_workspace_key(presented, settings.workspace_keys)
        except Unauthorized:
            # A key rotated in the secret store since it was read: read it again (rate-limited), check once more.
            if not secret_store.refresh("ELEVENLABS_WORKSPACE_KEY", settings):
                raise
            check_workspace_key(presented, secret_store.current().workspace_keys)
    except Unauthorized:
        count(Metric.AUTH_REJECTED)
        raise
    return parse_json_object(request)


def verify_webhook(request: Request, *, tolerance_seconds: int) -> None:
    """``verify_signature`` of a post-call request against the configured webhook secrets
    (``Settings.hmac_keys``, from the secret store on AWS), read again once when it fails, as
    ``authorized_json`` does for the workspace key. Raises ``Unauthorized``."""
    header, body = request.header(SIGNATURE_HEADER), request.body
    secrets = secret_store.current(only=WEBHOOK_SECRET).hmac_keys
    try:
        verify_signature(header, body, secrets, tolerance_seconds=tolerance_seconds)
    except Unauthorized:
        if not secret_store.refresh("ELEVENLABS_HMAC_KEY"):
            raise
        secrets = secret_store.current(only=WEBHOOK_SECRET).hmac_keys
        verify_signature(header, body, secrets, tolerance_seconds=tolerance_seconds)


def prepare_webhook_secret() -> None:
    """Read the post-call webhook's secret now (the handler's init phase) rather than on the first delivery;
    the Mem0 key is left for the worker. Never raises."""
    secret_store.current(only=WEBHOOK_SECRET)
