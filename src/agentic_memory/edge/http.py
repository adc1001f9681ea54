"""API Gateway HTTP API (payload 2.0) events in, Lambda proxy responses out.

Every endpoint goes through ``respond``, so errors are mapped to status codes in one place and
no stack trace or 5xx ever answers bad input.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentic_memory.errors import AppError, BadRequest, MethodNotAllowed, PayloadTooLarge
from agentic_memory.observability import logger

JSON_HEADERS = {"content-type": "application/json"}
# JSON may spell half of a UTF-16 pair alone ("\\ud83d"); json.loads then yields a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Request:
    headers: Mapping[str, str]
    body: bytes
    request_id: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_request(event: Any, *, max_body_bytes: int) -> Request:
    """The raw body bytes exactly as sent (signatures are computed over them) and lower-cased headers.

    Every endpoint takes POST only; the template routes other methods here too (ElevenLabs' server
    tools default to GET), so they get a 405 that says so, not API Gateway's bare 404. An event
    without ``requestContext.http.method`` (a hand-made test event) is taken as POST.
    """
    if not isinstance(event, Mapping):
        raise BadRequest("The event is not an API Gateway request.")
    _require_post(event)
    raw_headers = event.get("headers") or {}
    headers = {str(k).lower(): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, Mapping) else {}
    body = event.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise BadRequest("The request body is not text.")
    elif event.get("isBase64Encoded"):
        if len(body) > (max_body_bytes * 4) // 3 + 4:
            raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("The request body is not valid base64.") from exc
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_body_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")
    context = event.get("requestContext")
    request_id = str(context.get("requestId", "")) if isinstance(context, Mapping) else ""
    return Request(headers=headers, body=raw, request_id=request_id)


def _require_post(event: Mapping[str, Any]) -> None:
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    if not isinstance(method, str) or method.upper() == "POST":
        return
    path = http.get("path") if isinstance(http.get("path"), str) else "This endpoint"
    raise MethodNotAllowed(
        f"{path[:100]} must use POST, not {method.upper()[:10]}. In ElevenLabs, set the webhook's or the"
        " server tool's method to POST (a tool's method defaults to GET)."
    )


def parse_json_object(request: Request) -> dict[str, Any]:
    """A JSON object, or a 4xx saying what is wrong with the body.

    The content type is not checked: a JSON body sent as text/plain should not break a call.
    """
    if not request.body.strip():
        raise BadRequest("The request body is empty; a JSON object is expected.", code="empty_body")
    try:
        text = request.body.decode("utf-8-sig")  # JSON travels as UTF-8 (RFC 8259); a BOM is tolerated
        value = json.loads(text)
        if _SURROGATE_ESCAPE.search(text):
            value = _without_lone_surrogates(value)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, over-long integers, deep nesting
        raise BadRequest("The request body is not valid JSON.", code="invalid_json") from exc
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return value


def _without_lone_surrogates(value: Any) -> Any:
    """``value`` with lone surrogates replaced by U+FFFD: they cannot be encoded as UTF-8, so every
    later serialisation (the worker's job, a response, a log line) would fail on them."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    return value


def json_response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": dict(JSON_HEADERS),
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }


def error_response(error: AppError) -> dict[str, Any]:
    response = json_response(error.status, {"error": error.code, "message": error.message})
    response["headers"].update(error.headers)
    return response


def respond(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run an endpoint: domain errors become their status, anything else a bare 500 JSON error."""
    try:
        return work()
    except AppError as error:
        if error.status >= 500:
            logger.error("request failed", extra={"error": error.code})
        else:
            # The message says why (stale timestamp, wrong key, which field) and never holds a secret.
            logger.info(
                "request rejected", extra={"status": error.status, "error": error.code, "reason": error.message}
            )
        return error_response(error)
    except Exception:
        logger.exception("unexpected failure")
        return error_response(AppError("Something went wrong on our side."))
