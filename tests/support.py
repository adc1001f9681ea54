"""Builders shared by the tests: API Gateway v2 events, a Lambda context, signed post-call bodies."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

WORKSPACE_KEY = "test-workspace-key"
HMAC_KEY = "test-hmac-secret"
CALLER = "+16129782029"


def http_event(
    route: str,
    body: bytes | str | dict | None,
    headers: dict[str, str] | None = None,
    *,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, shaped like ``sam local generate-event
    apigateway http-api-proxy`` and what AWS sends: lower-cased headers, Prod stage."""
    if isinstance(body, dict):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    request_id = str(uuid.uuid4())
    event = copy.deepcopy(json.loads((EVENTS / "client_data.json").read_text()))
    event.update(
        {
            "routeKey": f"POST {route}",
            "rawPath": f"/Prod{route}",
            "headers": {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}},
            "isBase64Encoded": base64_encoded,
        }
    )
    event["requestContext"].update(
        {"requestId": request_id, "routeKey": f"POST {route}", "timeEpoch": int(time.time() * 1000)}
    )
    event["requestContext"]["http"]["path"] = f"/Prod{route}"
    if raw is None:
        event.pop("body", None)
    elif base64_encoded:
        event["body"] = base64.b64encode(raw).decode()
    else:
        event["body"] = raw.decode("utf-8", errors="surrogateescape")
    return event


def signed_headers(body: bytes, *, key: str = HMAC_KEY, timestamp: int | None = None) -> dict[str, str]:
    """The header ElevenLabs sends with a post-call webhook: ``t=<unix seconds>,v0=<hex HMAC-SHA256 of
    "t.body">`` (DESIGN.md 3.3). Computed here, not with the product's own signer, so the tests check that
    signer against an independent one (and the benchmark can build events for any revision's code)."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(key.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return {"elevenlabs-signature": f"t={moment},v0={digest}"}


def post_call_body(**overrides: Any) -> bytes:
    """The sample post-call webhook (events/post_call.json's body), with fields replaced."""
    payload = json.loads(load_event("post_call.json")["body"])
    data = payload["data"]
    for key, value in overrides.items():
        if key in ("type", "event_timestamp"):
            payload[key] = value
        else:
            data[key] = value
    return json.dumps(payload).encode()


def finished_conversation(
    conversation_id: str, *, caller: str = CALLER, ended_ago: int = 1800, **changes: Any
) -> dict[str, Any]:
    """A conversation as ElevenLabs' history holds it (the sample webhook's ``data``), with its own id, the
    caller's number, and a start time such that it ended ``ended_ago`` seconds ago; ``changes`` replace
    top-level fields (``status``, ``agent_id``, ...)."""
    data = json.loads(post_call_body())["data"]
    duration = int(data["metadata"]["call_duration_secs"])
    data["conversation_id"] = conversation_id
    data["metadata"]["start_time_unix_secs"] = int(time.time()) - ended_ago - duration
    data["metadata"]["phone_call"]["external_number"] = caller
    data.update(changes)
    return data


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that the code and Powertools read."""

    function_name: str = "agentic-memory-post-call"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agentic-memory-post-call"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/agentic-memory-post-call"
    log_stream_name: str = "2026/11/21/[$LATEST]0123456789abcdef"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
