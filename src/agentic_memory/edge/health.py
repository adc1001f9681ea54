"""``GET /`` on each of the three APIs: a small answer that says the function is deployed and runs.

``{"status": "ok", "service": "client-data", "version": "1.0.0"}``, 200, with no key: an uptime check or
an operator's browser can ask it without a header (ElevenLabs' own requests never go to ``/``). It holds
nothing secret and nothing about a caller, touches no store (no Mem0, DynamoDB or Secrets Manager
request), and costs one small invocation; API Gateway's throttling bounds how often it can be asked. The
route is ``GET /`` in each API's routes (template.yaml), so API Gateway's route key says it is this
request ("routeKey" of the HTTP API payload format 2.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentic_memory import __version__
from agentic_memory.edge.http import json_response

ROUTE_KEY = "GET /"


def is_health_check(event: Any) -> bool:
    """True for an API Gateway HTTP API event of the ``GET /`` route."""
    if not isinstance(event, Mapping):
        return False
    context = event.get("requestContext")
    route = event.get("routeKey") or (context.get("routeKey") if isinstance(context, Mapping) else None)
    return route == ROUTE_KEY


def answer(service: str) -> dict[str, Any]:
    """The Lambda proxy answer: 200 ``{"status": "ok", "service": service, "version": __version__}``."""
    return json_response(200, {"status": "ok", "service": service, "version": __version__})
