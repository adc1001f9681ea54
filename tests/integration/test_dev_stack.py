"""`make dev`: the local HTTP API's events, the local Lambda's retries and dead letters, the routes
against template.yaml, and the whole stack in a subprocess driven by scripts/simulate_call.py."""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agentic_memory.edge.http import parse_request
from standins.api_gateway import FunctionFailed, HttpApi, HttpApiServer, build_event, to_http_response
from standins.aws_lambda import LambdaInvokeServer, LambdaRuntime, LocalFunction
from standins.sam_template import Function, Route, Template
from tests.support import ROOT

FUNCTION = Function("EchoFunction", "echo-fn", "echo.handler", "src/", 5.0, 128, 2, {})
ROUTE = Route("POST", "/client-data", "Prod", "EchoApi", FUNCTION)


# ---------------------------------------------------------------------- the HTTP API's events


@pytest.fixture
def echo_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP API whose one route answers with the event it received."""
    seen: list[dict[str, Any]] = []

    def invoke(route: Route, event: dict[str, Any]) -> Any:
        seen.append(event)
        return {"statusCode": 201, "headers": {"X-Echo": "yes"}, "cookies": ["c=1"], "body": "made"}

    server = HttpApiServer(HttpApi([ROUTE], invoke), "127.0.0.1", 0).start()
    try:
        yield server.url.rsplit(":", 1)[1], seen
    finally:
        server.close()


def _send(port: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method == "POST":
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_event_is_shaped_like_api_gateway(echo_api: tuple[str, list[dict[str, Any]]]) -> None:
    port, seen = echo_api
    headers = [
        ("Content-Type", "application/json"),
        ("X-Workspace-Key", "k"),
        ("X-Dup", "a"),
        ("x-dup", "b"),
        ("Cookie", "a=1; b=2"),
        ("User-Agent", "ElevenLabs/1.0"),
    ]
    status, response_headers, body = _send(port, "POST", "/Prod/client-data?b=1&b=2&c=", headers, b'{"x": 1}')
    assert (status, body, response_headers["x-echo"], response_headers["set-cookie"]) == (201, b"made", "yes", "c=1")
    assert response_headers["apigw-requestid"]
    (event,) = seen
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /client-data"
    assert event["rawPath"] == "/Prod/client-data"
    assert event["rawQueryString"] == "b=1&b=2&c="
    assert event["queryStringParameters"] == {"b": "1,2", "c": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["x-dup"] == "a,b"
    assert event["headers"]["x-workspace-key"] == "k"
    assert event["headers"]["content-length"] == "8"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert "cookie" not in event["headers"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"x": 1}', False)
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["routeKey"] == "POST /client-data"
    assert context["requestId"] == response_headers["apigw-requestid"]
    assert context["http"] == {
        "method": "POST",
        "path": "/Prod/client-data",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ElevenLabs/1.0",
    }
    assert abs(context["timeEpoch"] / 1000 - time.time()) < 5
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])


def test_bare_path_is_served_too(echo_api: tuple[str, list[dict[str, Any]]]) -> None:
    port, seen = echo_api
    status, _, _ = _send(port, "POST", "/client-data", [("content-type", "text/plain")], b"hi")
    assert status == 201
    assert (seen[0]["rawPath"], seen[0]["requestContext"]["stage"], seen[0]["body"]) == ("/client-data", "Prod", "hi")
    assert "queryStringParameters" not in seen[0]
    assert "cookies" not in seen[0]


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/x-www-form-urlencoded", None])
def test_non_text_bodies_arrive_base64_encoded(
    echo_api: tuple[str, list[dict[str, Any]]], content_type: str | None
) -> None:
    port, seen = echo_api
    raw = b"\xff\x00caf\xc3\xa9=1"
    headers = [("content-type", content_type)] if content_type else []
    assert _send(port, "POST", "/client-data", headers, raw)[0] == 201
    assert seen[0]["isBase64Encoded"] is True
    assert base64.b64decode(seen[0]["body"]) == raw


def test_events_parse_with_the_handlers_own_parser() -> None:
    """What the handlers read (raw body bytes for the signature, headers) survives the event."""
    raw = b'{"type": "post_call_transcription", "x": "caf\xc3\xa9"}'
    for content_type in ("application/json", "application/octet-stream"):
        event = build_event(
            method="POST",
            target="/Prod/post-call",
            headers=[("Content-Type", content_type), ("ElevenLabs-Signature", "t=1,v0=ab")],
            body=raw,
            route_key="POST /post-call",
            stage="Prod",
        )
        request = parse_request(event, max_body_bytes=1024)
        assert request.body == raw
        assert request.header("ElevenLabs-Signature") == "t=1,v0=ab"
        assert request.request_id == event["requestContext"]["requestId"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/nope"), ("POST", "/Prod/nope"), ("GET", "/client-data"), ("PUT", "/Prod/client-data"),
     ("POST", "/prod/client-data"), ("POST", "/client-data/"), ("POST", "/Dev/client-data")],
)  # fmt: skip
def test_unknown_routes_answer_404_like_api_gateway(
    echo_api: tuple[str, list[dict[str, Any]]], method: str, path: str
) -> None:
    port, seen = echo_api
    status, headers, body = _send(port, method, path, [("content-type", "application/json")], b"{}")
    assert (status, json.loads(body), headers["content-type"]) == (404, {"message": "Not Found"}, "application/json")
    assert seen == []


def test_a_route_of_the_requests_method_wins_over_an_any_route() -> None:
    # Given POST /client-data and ANY /client-data on two functions (as the template routes them),
    # When requests of several methods arrive, Then POST reaches the POST route and the rest the ANY
    # route, with the route key API Gateway would send.
    other = Function("OtherFunction", "other-fn", "other.handler", "src/", 5.0, 128, 2, {})
    any_route = Route("ANY", "/client-data", "Prod", "EchoApi", other)
    seen: list[tuple[str, str]] = []

    def invoke(route: Route, event: dict[str, Any]) -> Any:
        seen.append((route.function.name, event["routeKey"]))
        return {"statusCode": 204}

    api = HttpApi([any_route, ROUTE], invoke)
    for method in ("POST", "GET", "PUT", "DELETE"):
        assert api.handle(method, "/Prod/client-data", [], b"").status == 204
    assert seen == [
        ("echo-fn", "POST /client-data"),
        ("other-fn", "ANY /client-data"),
        ("other-fn", "ANY /client-data"),
        ("other-fn", "ANY /client-data"),
    ]


def test_lambda_results_become_http_responses() -> None:
    binary = to_http_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, "r"
    )
    assert (binary.status, binary.body) == (200, b"\x00\x01")
    bare = to_http_response({"memories": []}, "r")  # no statusCode: 200 and the result as JSON
    assert (bare.status, json.loads(bare.body), ("content-type", "application/json") in bare.headers) == (
        200,
        {"memories": []},
        True,
    )
    for broken in ({"statusCode": "teapot"}, {"statusCode": 200, "body": "!!", "isBase64Encoded": True}):
        assert to_http_response(broken, "r").status == 500

    def failing(route: Route, event: dict[str, Any]) -> Any:
        raise FunctionFailed("echo-fn")

    failed = HttpApi([ROUTE], failing).handle("POST", "/client-data", [], b"{}")
    assert (failed.status, json.loads(failed.body)) == (500, {"message": "Internal Server Error"})


# ---------------------------------------------------------------------- routes come from the template


def test_routes_served_equal_the_templates_routes() -> None:
    """Checked against the SAM transform (what CloudFormation deploys), not against our own reading."""
    import validate_template

    cfn = validate_template.transform(validate_template.TEMPLATE)["Resources"]
    functions = {key: res for key, res in cfn.items() if res["Type"] == "AWS::Lambda::Function"}
    stages = {
        res["Properties"]["ApiId"]["Ref"]: res["Properties"]["StageName"]
        for res in cfn.values()
        if res["Type"] == "AWS::ApiGatewayV2::Stage"
    }
    deployed = set()
    for api_id, api in cfn.items():
        if api["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        for path, operations in api["Properties"]["Body"]["paths"].items():
            for verb, operation in operations.items():
                uri = json.dumps(operation["x-amazon-apigateway-integration"]["uri"])
                (target,) = [key for key in functions if re.search(rf"\b{key}\b", uri)]
                handler = functions[target]["Properties"]["Handler"]
                method = "ANY" if verb == "x-amazon-apigateway-any-method" else verb.upper()
                deployed.add((method, path, stages[api_id], handler))
    assert {path for _, path, _, _ in deployed} == {"/client-data", "/retrieve", "/post-call", "/"}
    # Each path: POST, and ANY for every other method (answered 405 by the function); and GET / on each API,
    # its health answer (edge/health.py).
    assert {method for method, path, _, _ in deployed if path != "/"} == {"POST", "ANY"}
    health = {(method, handler) for method, path, _, handler in deployed if path == "/"}
    assert health == {("GET", f"{name}.handler.lambda_handler") for name in ("client_data", "retrieve", "post_call")}
    # One local host serves one of them: the first API's by logical id (ClientDataApi), each API has its own on AWS.
    others = ("retrieve.handler.lambda_handler", "post_call.handler.lambda_handler")
    deployed -= {("GET", "/", "Prod", handler) for handler in others}

    routes = Template.read().routes()
    assert {(r.method, r.path, r.stage, r.function.handler) for r in routes} == deployed
    served = set(HttpApi(routes, lambda route, event: None).served_paths())
    assert served == {(m, p) for m, p, _, _ in deployed} | {(m, f"/{stage}{p}") for m, p, stage, _ in deployed}
    post_call = next(r.function for r in routes if r.path == "/post-call")
    assert (post_call.timeout, post_call.async_retries) == (30.0, 2)


# ---------------------------------------------------------------------- the local Lambda


class Flaky:
    """A handler that fails its first ``failures`` calls, recording each call's context."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[float, Any, Any]] = []

    def __call__(self, event: Any, context: Any) -> Any:
        self.calls.append((time.monotonic(), event, context))
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"Mem0 is down (call {len(self.calls)})")
        return {"status": "written"}


JOB = {"kind": "post_call_job", "conversation_id": "conv_1", "caller_id": "+15550100001"}


def _runtime(
    tmp_path: Path, handler: Flaky, delays: tuple[float, ...] = (0.05, 0.1)
) -> tuple[LambdaRuntime, LocalFunction]:
    function = LocalFunction("agentic-memory-dev-post-call", handler, timeout=30, memory_mb=256, async_retries=2)
    return LambdaRuntime([function], dead_letter_path=tmp_path / "dead-letters.jsonl", retry_delays=delays), function


def test_failing_job_runs_three_times_then_is_dead_lettered(tmp_path: Path) -> None:
    handler = Flaky(failures=99)
    runtime, function = _runtime(tmp_path, handler)
    request_id = runtime.submit(function, JOB)
    assert runtime.drain(10)
    runtime.close(0)
    assert len(handler.calls) == 3
    times = [when for when, _, _ in handler.calls]
    assert times[1] - times[0] >= 0.05
    assert times[2] - times[1] >= 0.1
    contexts = [context for _, _, context in handler.calls]
    assert {c.aws_request_id for c in contexts} == {request_id}  # Lambda keeps the id across retries
    assert contexts[0].function_name == "agentic-memory-dev-post-call"
    assert (
        contexts[0].invoked_function_arn
        == "arn:aws:lambda:us-east-1:123456789012:function:agentic-memory-dev-post-call"
    )
    assert 25_000 < contexts[0].get_remaining_time_in_millis() <= 30_000
    (line,) = (tmp_path / "dead-letters.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert set(record) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert record["version"] == "1.0"
    assert datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{function.arn()}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == JOB
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "Mem0 is down (call 3)"


def test_job_that_fails_once_is_retried_and_not_dead_lettered(tmp_path: Path) -> None:
    handler = Flaky(failures=1)
    runtime, function = _runtime(tmp_path, handler)
    runtime.submit(function, JOB)
    assert runtime.drain(10)
    assert runtime.close(0) == 0
    assert len(handler.calls) == 2
    assert not (tmp_path / "dead-letters.jsonl").exists()


def test_stopping_keeps_jobs_waiting_for_a_retry(tmp_path: Path) -> None:
    handler = Flaky(failures=99)
    runtime, function = _runtime(tmp_path, handler, delays=(30.0,))
    runtime.submit(function, JOB)
    deadline = time.monotonic() + 5
    while not handler.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert runtime.close(0.05) == 1
    (record,) = [json.loads(line) for line in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == JOB


def test_boto3_invokes_the_local_endpoint(tmp_path: Path) -> None:
    import boto3
    from botocore.exceptions import ClientError

    handler = Flaky(failures=0)
    runtime, function = _runtime(tmp_path, handler)
    failing = LocalFunction("broken", Flaky(failures=99))
    runtime.functions[failing.name] = failing
    server = LambdaInvokeServer(runtime).start()
    try:
        client = boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1")
        queued = client.invoke(FunctionName=function.name, InvocationType="Event", Payload=json.dumps(JOB).encode())
        assert queued["StatusCode"] == 202
        assert runtime.drain(5)
        assert handler.calls[-1][1] == JOB
        answered = client.invoke(FunctionName=function.arn(), InvocationType="RequestResponse", Payload=b"{}")
        assert (answered["StatusCode"], json.loads(answered["Payload"].read())) == (200, {"status": "written"})
        broken = client.invoke(FunctionName="broken", Payload=b"{}")
        assert broken["FunctionError"] == "Unhandled"
        assert json.loads(broken["Payload"].read())["errorType"] == "RuntimeError"
        with pytest.raises(ClientError) as missing:
            client.invoke(FunctionName="nope", InvocationType="Event", Payload=b"{}")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError) as too_large:
            client.invoke(FunctionName=function.name, InvocationType="Event", Payload=json.dumps("x" * 300_000))
        assert too_large.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    finally:
        server.close()
        runtime.close(0)


# ---------------------------------------------------------------------- .env


def test_missing_secrets_are_made_and_saved_keeping_the_file(tmp_path: Path) -> None:
    from devstack.envfile import apply_env_file, parse_env_file
    from devstack.stack import ensure_secrets

    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nexport GREETING_NEW='Hi there'\nELEVENLABS_WORKSPACE_KEY=\nPORT=3001 # moved\n")
    environ = {"ELEVENLABS_HMAC_KEY": "from-the-shell", "GREETING_NEW": ""}
    apply_env_file(env_file, environ)
    made = ensure_secrets(env_file, environ)
    assert list(made) == ["ELEVENLABS_WORKSPACE_KEY"]  # the shell's HMAC key is kept, not replaced
    lines = env_file.read_text().splitlines()
    filled = f"ELEVENLABS_WORKSPACE_KEY={made['ELEVENLABS_WORKSPACE_KEY']}"
    assert lines == ["# mine", "export GREETING_NEW='Hi there'", filled, "PORT=3001 # moved"]
    assert environ["GREETING_NEW"] == "Hi there"
    assert environ["ELEVENLABS_WORKSPACE_KEY"] == made["ELEVENLABS_WORKSPACE_KEY"]
    assert parse_env_file(env_file)["PORT"] == "3001"
    fresh = tmp_path / "new.env"
    assert set(ensure_secrets(fresh, {})) == {"ELEVENLABS_WORKSPACE_KEY", "ELEVENLABS_HMAC_KEY"}
    assert fresh.stat().st_mode & 0o077 == 0
    assert ensure_secrets(fresh, dict(parse_env_file(fresh))) == {}


# ---------------------------------------------------------------------- the whole stack, as `make dev` runs it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """The test process's environment without anything that would steer the stack (keys, endpoints)."""
    drop = ("MEM0_", "ELEVENLABS_", "AWS_ENDPOINT_URL", "IDEMPOTENCY_", "PORT", "POWERTOOLS_", "LOG_LEVEL")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | {"PYTHONUNBUFFERED": "1"}


class Stack:
    """scripts/dev.py in a subprocess; its output is collected by a thread so the pipe never fills."""

    def __init__(self, tmp_path: Path, local_dir: Path | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # local_dir: one folder per port in it, as `make dev` keeps .local/<port>/.
        self.data_dir = local_dir / str(self.port) if local_dir else tmp_path / "data"
        self.env_file = tmp_path / "dot.env"
        self.lines: list[str] = []
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "--port", str(self.port), "--data-dir", str(self.data_dir),
             "--env-file", str(self.env_file), "--retry-delays", "0.1,0.2"],
            cwd=ROOT, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; the stack said:\n{self.output[-4000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the stack did not stop within 20 s; it said:\n{self.output[-4000:]}") from None
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._reader.join(timeout=5)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


@pytest.mark.slow
def test_make_dev_serves_a_whole_call_and_stops_cleanly(stack: Stack) -> None:
    ready = stack.wait_for(r"ready in (\d+\.\d) s", timeout=60)
    print(f"stack ready in {ready.group(1)} s (banner), {time.perf_counter() - stack.started:.1f} s from spawn")
    keys = stack.env_file.read_text()
    assert re.search(r"^ELEVENLABS_WORKSPACE_KEY=\S{20,}$", keys, re.M)
    assert re.search(r"^ELEVENLABS_HMAC_KEY=\S{20,}$", keys, re.M)

    simulated = subprocess.run(
        [sys.executable, "scripts/simulate_call.py", "--state", str(stack.data_dir / "dev-stack.json"),
         "--env-file", str(stack.env_file), "--timeout", "20", "--calls", "all"],
        cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert simulated.returncode == 0, f"{simulated.stdout}\n{simulated.stderr}\n--- stack:\n{stack.output[-4000:]}"
    for expected in (
        r"^1\. client-data: new caller +200 +\d+ ms  returning_caller=no",
        r"^2\. retrieve: nothing yet +200 +\d+ ms  0 memories",
        r"^3\. post-call: signed webhook +200 +\d+ ms  accepted conv_sim_",
        r"^4\. wait: memories written +- +\d+ ms  \d+ memories",
        r"^5\. client-data: returning caller +200 +\d+ ms  returning_caller=yes, greeting 'Welcome back, \w+",
        r"^6\. retrieve: what was said +200 +\d+ ms  \d+ memories, e\.g\. .*latex",
        r"^OK: all 6 steps passed",
    ):
        assert re.search(expected, simulated.stdout, re.M), simulated.stdout
    print(simulated.stdout)
    assert (stack.data_dir / "mem0.sqlite3").is_file()

    # Unknown routes answer like API Gateway.
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{stack.url}/Prod/nothing-here", timeout=5)  # nosec B310
    assert (missing.value.code, json.loads(missing.value.read())) == (404, {"message": "Not Found"})

    # With Mem0 refusing every write, a webhook's job is tried three times, then dead-lettered.
    mem0_url = stack.wait_for(r"Mem0 stand-in +(http://\S+)", timeout=1).group(1)
    knobs = urllib.request.Request(f"{mem0_url}/_admin/knobs/", data=b'{"fail_status": 400}', method="POST")
    urllib.request.urlopen(knobs, timeout=5).close()  # nosec B310
    import simulate_call

    call = simulate_call.Call(argparse.Namespace(caller=None), "unused", "unused")
    hmac_key = re.search(r"^ELEVENLABS_HMAC_KEY=(\S+)$", keys, re.M).group(1)
    raw = call.webhook_body()
    headers = {"elevenlabs-signature": simulate_call.sign(raw, hmac_key, int(time.time()))}
    status, body, _ = simulate_call.post(f"{stack.url}/Prod/post-call", raw, headers)
    assert (status, body["status"]) == (200, "accepted")
    stack.wait_for(r"attempt 3/3: FAILED .*gave up", timeout=20)
    (record,) = [json.loads(line) for line in (stack.data_dir / "dead-letters.jsonl").read_text().splitlines()]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["conversation_id"] == call.conversation_id
    assert record["requestPayload"]["caller_id"] == call.caller

    assert stack.stop() == 0, stack.output[-4000:]
    assert stack.lines[-1].endswith("stopped")
    assert "Traceback" not in stack.output


@pytest.mark.slow
def test_a_busy_port_is_one_clear_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/dev.py", "--port", str(port), "--data-dir", str(tmp_path / "data"),
             "--env-file", str(tmp_path / "dot.env")],
            cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"port {port}" in result.stderr
    assert "in use" in result.stderr
    assert not (tmp_path / "dot.env").exists()


# ---------------------------------------------------------------------- two stacks side by side


def test_each_port_has_its_own_data_directory_by_default(tmp_path: Path) -> None:
    from devstack import statefile
    from devstack.stack import DevConfig, DevStack

    assert DevStack(DevConfig(port=4321)).data_dir == statefile.data_dir_for(4321).resolve()
    assert DevStack(DevConfig(port=4322)).data_dir != DevStack(DevConfig(port=4321)).data_dir
    assert DevStack(DevConfig(port=4321, data_dir=tmp_path)).data_dir == tmp_path.resolve()


def test_a_state_file_is_removed_only_by_the_stack_that_wrote_it(tmp_path: Path) -> None:
    from devstack import statefile

    path = tmp_path / "dev-stack.json"
    statefile.write(path, {"pid": 111, "api_url": "http://127.0.0.1:1"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert statefile.remove_if_ours(path, 222) is False
    assert path.is_file()
    assert statefile.remove_if_ours(path, 111) is True
    assert not path.exists()


@pytest.mark.slow
def test_two_stacks_side_by_side_keep_their_own_state_and_scripts_need_no_setup(tmp_path: Path) -> None:
    from devstack import statefile

    local = tmp_path / "local"
    first = Stack(tmp_path, local_dir=local)
    try:
        first.wait_for(r"ready in", timeout=60)
        second = Stack(tmp_path, local_dir=local)
        try:
            second.wait_for(r"ready in", timeout=60)
            # Given two stacks, each with its own folder and state file
            mine, theirs = (statefile.state_path_for(stack.port, local) for stack in (first, second))
            assert mine.is_file()
            assert theirs.is_file()
            assert sorted(state["port"] for _, state in statefile.running(local)) == sorted([first.port, second.port])
            assert f"--port {second.port}" not in first.output  # each banner names its own stack
            assert f"--state {mine}" in first.output or f"--port {first.port}" in first.output

            # A wrong method gets the function's 405, not a bare 404 (a server tool left on GET).
            for path in ("/client-data", "/Prod/retrieve", "/post-call"):
                with pytest.raises(urllib.error.HTTPError) as wrong:
                    urllib.request.urlopen(f"{first.url}{path}", timeout=5)  # nosec B310
                body = json.loads(wrong.value.read())
                assert (wrong.value.code, body["error"], wrong.value.headers["allow"]) == (
                    405,
                    "method_not_allowed",
                    "POST",
                )
                assert "must use POST" in body["message"]

            # When a script runs against the second stack with nothing set up (no MEM0_API_KEY anywhere)
            result = subprocess.run(
                [sys.executable, "scripts/forget_caller.py", "+1 555 010 0001", "--yes", "--state", str(theirs)],
                cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            # Then it used that stack's Mem0 stand-in
            assert result.returncode == 0, result.stdout + result.stderr
            assert f"using make dev on {second.url}" in result.stderr
            assert "nothing is remembered" in result.stdout

            # When the first stops, Then its state file goes and the second's stays
            assert first.stop() == 0, first.output[-3000:]
            assert not mine.exists()
            assert theirs.is_file()
            assert [state["port"] for _, state in statefile.running(local)] == [second.port]
        finally:
            second.stop()
        assert not theirs.exists()
    finally:
        if first.process.poll() is None:
            first.stop()
