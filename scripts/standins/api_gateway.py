"""A local API Gateway HTTP API (payload format 2.0) in front of the local Lambda runtime.

Why: the handlers parse the exact event AWS sends (raw body bytes for the signature, lower-cased
headers, base64 when the body is not text), so the local API builds that same event from a real
HTTP request and turns the handler's proxy response back into HTTP. Routes come from template.yaml
(`sam_template.Template.routes`) and are served both bare (`/client-data`) and under their stage
(`/Prod/client-data`, the path the deployed URLs carry). A route of the request's method wins over an
`ANY` route of the same path, as in API Gateway (the template routes every other method to the
functions, which answer 405). Unknown routes answer like API Gateway: 404 `{"message":"Not Found"}`.

The document it follows: the API Gateway Developer Guide on HTTP APIs, its pages on Lambda proxy
integrations (payload format version 2.0: the event's fields, and how a handler's answer becomes the
HTTP response), on routes (`ANY`, the stage in the path) and on quotas (the 10 MB payload); Lambda's
6 MB synchronous payload limit from the Lambda Developer Guide's quotas.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from standins.sam_template import Route
from standins.serving import BackgroundServer, BurstServer

ACCOUNT = "123456789012"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
SYNC_EVENT_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPES = frozenset(
    {"application/json", "application/javascript", "application/xml", "application/yaml", "application/x-yaml"}
)

NOT_FOUND = (404, {"message": "Not Found"})
TOO_LARGE = (413, {"message": "Request Entity Too Large"})
INTERNAL = (500, {"message": "Internal Server Error"})


class Response(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def is_textual(content_type: str | None) -> bool:
    """Whether API Gateway passes the body as text; anything else (or no type) arrives base64-encoded."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))


def _request_time(epoch: float) -> str:
    """requestContext.time, e.g. ``21/Nov/2026:09:30:00 +0000`` (fixed English month names)."""
    t = time.gmtime(epoch)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _trace_id(epoch: float) -> str:
    return f"Root=1-{int(epoch):08x}-{secrets.token_hex(12)}"


def build_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    route_key: str,
    stage: str,
    api_id: str = "localapi00",
    source_ip: str = "127.0.0.1",
    scheme: str = "http",
    port: int | None = None,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The HTTP API v2 event for one request, as API Gateway builds it."""
    epoch = time.time() if now is None else now
    split = urlsplit(target)
    raw_path = split.path or "/"
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", scheme)
    if port is not None:
        merged.setdefault("x-forwarded-port", str(port))
    merged.setdefault("x-amzn-trace-id", _trace_id(epoch))
    host = merged.get("host", "localhost")
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": raw_path}
    event["rawQueryString"] = split.query
    if cookies:
        event["cookies"] = cookies
    event["headers"] = merged
    if split.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(split.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": ACCOUNT,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id or base64.b64encode(secrets.token_bytes(9)).decode(),
        "routeKey": route_key,
        "stage": stage,
        "time": _request_time(epoch),
        "timeEpoch": int(epoch * 1000),
    }
    text = None
    if body and is_textual(merged.get("content-type")):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # not really text: keep every byte (signatures are over the bytes)
            text = None
    if body:
        event["body"] = text if text is not None else base64.b64encode(body).decode()
    event["isBase64Encoded"] = bool(body) and text is None
    return event


def _json(status: int, payload: Any, request_id: str) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, [("content-type", "application/json"), ("apigw-requestid", request_id)], body)


def to_http_response(result: Any, request_id: str) -> Response:
    """A Lambda result as API Gateway (payload 2.0) answers it; a malformed one is a 500."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # No statusCode: API Gateway assumes 200 and sends the result itself as a JSON body.
        return _json(200, result, request_id)
    try:
        status = int(result["statusCode"])
        headers = [(str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
        headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
        body = result.get("body") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        raw = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode("utf-8")
    except (TypeError, ValueError, AttributeError):
        return _json(*INTERNAL, request_id)
    if not 100 <= status <= 599:
        return _json(*INTERNAL, request_id)
    return Response(status, [*headers, ("apigw-requestid", request_id)], raw)


class FunctionFailed(Exception):
    """The function raised or timed out: API Gateway answers 500."""


Invoke = Callable[[Route, dict[str, Any]], Any]


class HttpApi:
    """Routing and event building, free of sockets so tests can call ``handle`` directly."""

    def __init__(self, routes: Sequence[Route], invoke: Invoke, *, log: Callable[[str], None] | None = None) -> None:
        self.routes = list(routes)
        self.invoke = invoke
        self.log = log or (lambda line: None)

    def served_paths(self) -> list[tuple[str, str]]:
        """Every (method, path) this API answers: each route bare and under its stage."""
        served = []
        for route in self.routes:
            served.append((route.method, route.path))
            if route.stage != "$default":
                served.append((route.method, f"/{route.stage}{route.path}"))
        return served

    def match(self, method: str, path: str) -> Route | None:
        """The route for a request. An exact route-and-method match wins over an ANY route of the same
        path ("Routing API requests" in AWS's "Create routes for HTTP APIs in API Gateway")."""
        candidates = [
            route
            for route in self.routes
            if path == route.path or (route.stage != "$default" and path == f"/{route.stage}{route.path}")
        ]
        for wanted in (method, "ANY"):
            for route in candidates:
                if route.method == wanted:
                    return route
        return None

    def handle(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        source_ip: str = "127.0.0.1",
        port: int | None = None,
    ) -> Response:
        started = time.perf_counter()
        request_id = base64.b64encode(secrets.token_bytes(9)).decode()
        path = urlsplit(target).path
        route = self.match(method, path)
        if route is None:
            response = _json(*NOT_FOUND, request_id)
        else:
            event = build_event(
                method=method,
                target=target,
                headers=headers,
                body=body,
                route_key=route.route_key,
                stage=route.stage,
                api_id=_api_id(route.api),
                source_ip=source_ip,
                port=port,
                request_id=request_id,
            )
            if len(json.dumps(event)) > SYNC_EVENT_LIMIT:
                response = _json(*TOO_LARGE, request_id)
            else:
                try:
                    response = to_http_response(self.invoke(route, event), request_id)
                except FunctionFailed:
                    response = _json(*INTERNAL, request_id)
                except Exception as exc:  # a fault of the local stack itself: still an answer, and a clue
                    self.log(f"local API fault on {route.route_key}: {exc!r}")
                    response = _json(*INTERNAL, request_id)
        elapsed = (time.perf_counter() - started) * 1000
        name = route.function.name if route else "no route"
        self.log(f"{method} {path} -> {response.status} in {elapsed:.0f} ms ({name})")
        return response


def _api_id(logical_id: str) -> str:
    """A stable, API-Gateway-looking id (10 lower-case characters) per HTTP API of the template."""
    letters = "".join(ch for ch in logical_id.lower() if ch.isalnum())
    return (letters + "0000000000")[:10]


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ApiHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "agentic-memory-dev"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # HttpApi.handle logs one line per request
        return

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True
            self._write(_json(*TOO_LARGE, "-"))
            return
        except ValueError:
            self.close_connection = True
            self._write(_json(400, {"message": "Bad Request"}, "-"))
            return
        response = self.server.api.handle(
            self.command,
            self.path,
            list(self.headers.items()),
            body,
            source_ip=self.client_address[0],
            port=self.server.server_address[1],
        )
        self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def _read_body(self) -> bytes:
        limit = self.server.max_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(100).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(8192).strip():  # trailers
                        pass
                    return b"".join(chunks)
                total += size
                if total > limit:
                    raise _BodyTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline(10)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class _BodyTooLarge(Exception):
    pass


class _ApiHTTPServer(BurstServer):
    def __init__(self, address: tuple[str, int], api: HttpApi, max_body_bytes: int) -> None:
        self.api = api
        self.max_body_bytes = max_body_bytes
        super().__init__(address, _ApiHandler)


class HttpApiServer(BackgroundServer):
    """`HttpApi` on a socket. Binding happens in the constructor, so a busy port fails at once (OSError)."""

    thread_name = "http-api"

    def __init__(
        self, api: HttpApi, host: str = "127.0.0.1", port: int = 3000, *, max_body_bytes: int = MAX_BODY_BYTES
    ):
        self.api = api
        super().__init__(_ApiHTTPServer((host, port), api, max_body_bytes))
