"""Every log line of a whole call, and of the ways it goes wrong, is free of secrets, transcript
text and the caller's full number, with the root logger at DEBUG, from our code and the libraries.

Three nets, because log lines leave by three routes: Powertools' JSON handler (its stream is swapped
for a buffer), the logging module (caplog on the root logger, which mem0, httpx, httpcore and
botocore propagate to; they log URLs, headers or bodies), and the process' stdout/stderr (capfd: the
metrics' EMF lines, anything printed). What the Lambda runtime prints for an unhandled exception
(its message and traceback) is checked too.

The self-invoke goes over the network to a local Invoke endpoint (``AWS_ENDPOINT_URL_LAMBDA``), so the
libraries log it as a deployed function would: httpx and httpcore on the signed path (stores/lambda_invoke.py), botocore
on the boto3 path it falls back to. botocore's DEBUG lines carry the whole job, which is why
observability.py keeps botocore at INFO; a test below shows the leak without it.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentic_memory.config import get_settings
from agentic_memory.observability import logger, mask_caller
from agentic_memory.stores import aws_clients, lambda_invoke
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import (
    CALLER,
    HMAC_KEY,
    ROOT,
    WORKSPACE_KEY,
    LambdaContext,
    body_of,
    http_event,
    post_call_body,
    signed_headers,
)

MEM0_KEY = "test-mem0-key"  # the mem0_server fixture's key
KEY = {"x-workspace-key": WORKSPACE_KEY}
QUERY = "is the caller allergic to anything in the packaging?"
# The stand-ins for remote services run in this process; their logs are not the function's.
STAND_INS = ("standins", "moto")
_WINDOW, _STEP = 24, 8


def sample() -> dict[str, Any]:
    return json.loads(post_call_body())


def transcript_fragments() -> set[str]:
    """Overlapping pieces of every message, the summary, the title, the collected data and the tool
    query: a log line carrying part of one is caught, not only one carrying it whole."""
    data = sample()["data"]
    texts = [turn["message"] for turn in data["transcript"] if turn["message"]]
    texts += [data["analysis"]["transcript_summary"], data["analysis"]["call_summary_title"], QUERY]
    texts += [str(item["value"]) for item in data["analysis"]["data_collection_results"].values()]
    fragments = set()
    for text in texts:
        if len(text) <= _WINDOW:
            fragments.add(text)
        for start in range(0, max(len(text) - _WINDOW, 0) + 1, _STEP):
            fragments.add(text[start : start + _WINDOW])
    return fragments


def number_forms(number: str) -> set[str]:
    digits = number.lstrip("+")
    national = digits[1:]
    return {number, digits, national, f"%2B{digits}", f"({national[:3]}) {national[3:6]}-{national[6:]}"}


class _Invoke(BaseHTTPRequestHandler):
    """Lambda's Invoke API as far as an asynchronous self-invoke needs it: keep the body, answer 202."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.payloads.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))  # type: ignore[attr-defined]
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def invoked(monkeypatch) -> Iterator[list[bytes]]:
    """Self-invocations' payloads, received by a local Invoke endpoint that answers 202: the request is
    built, signed, sent and logged by the libraries exactly as on Lambda."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Invoke)
    server.daemon_threads = True
    server.payloads = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{server.server_address[1]}")
    get_settings.cache_clear()
    aws_clients.reset_clients()
    lambda_invoke.reset()
    try:
        yield server.payloads  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        aws_clients.reset_clients()
        lambda_invoke.reset()


@contextmanager
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Everything logged inside the block with the root logger at DEBUG (as Lambda's log-level
    setting does): Powertools' JSON lines and every LogRecord (message, arguments, extra fields,
    exception), filled in when the block ends. Library loggers keep whatever level our code gives
    them; their records reach caplog by propagation."""
    caplog.set_level(logging.DEBUG)
    handler = logger.registered_handler
    buffer = io.StringIO()
    previous_stream, previous_level = handler.setStream(buffer), logger.log_level
    logger.setLevel("DEBUG")
    lines: list[str] = []
    try:
        yield lines
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)
    lines.extend(buffer.getvalue().splitlines())
    formatter = logging.Formatter()
    for record in caplog.records:
        if record.name.startswith(STAND_INS):
            continue
        line = f"{record.name} {record.levelname} {record.getMessage()} {vars(record)!r}"
        if record.exc_info:
            line += formatter.formatException(record.exc_info)
        lines.append(line)


def run_the_whole_story(server: Any, invoked: list[bytes], captured: list[str], monkeypatch) -> None:
    """A new caller's call, its post-call webhook and worker job, the next call, every kind of rejected
    request, and Mem0 failing under each function."""
    context = LambdaContext()
    # The call: initiation, a tool search, the signed webhook, the worker writing it.
    assert (
        client_data(http_event("/client-data", {"caller_id": CALLER, "agent_id": "a"}, KEY), context)["statusCode"]
        == 200
    )
    assert retrieve(http_event("/retrieve", {"query": QUERY, "user_id": CALLER}, KEY), context)["statusCode"] == 200
    body = post_call_body()
    assert post_call(http_event("/post-call", body, signed_headers(body)), context)["statusCode"] == 200
    [payload] = invoked
    job = json.loads(payload)
    assert post_call(job, LambdaContext())["status"] == "written"
    # The next call recognises them: memories travel back through every layer.
    again = body_of(client_data(http_event("/client-data", {"caller_id": "+1 (612) 978-2029"}, KEY), context))
    assert again["dynamic_variables"]["returning_caller"] == "yes"
    found = body_of(retrieve(http_event("/retrieve", {"query": QUERY, "user_id": "6129782029"}, KEY), context))
    assert found["memories"]
    assert post_call(job, LambdaContext())["status"] == "duplicate"

    # Rejected requests of each kind.
    for event, handler, status in [
        (http_event("/client-data", {"caller_id": CALLER}, {"x-workspace-key": "wrong"}), client_data, 401),
        (http_event("/retrieve", {"query": QUERY, "user_id": CALLER}, {}), retrieve, 401),
        (http_event("/client-data", '{"caller_id": "' + CALLER + '"', KEY), client_data, 400),
        (http_event("/retrieve", {"query": QUERY, "user_id": [16129782029]}, KEY), retrieve, 400),
        (http_event("/post-call", body, {"elevenlabs-signature": "t=1,v0=" + "0" * 64}), post_call, 401),
        (http_event("/post-call", body, signed_headers(body, key="not-the-key")), post_call, 401),
        (http_event("/post-call", body, signed_headers(body, timestamp=1)), post_call, 401),
    ]:
        assert handler(event, context)["statusCode"] == status
    broken = post_call_body(transcript={"not": "a list"}, conversation_id="conv_broken")
    assert post_call(http_event("/post-call", broken, signed_headers(broken)), context)["statusCode"] == 400
    assert post_call({"kind": "post_call_job", "caller_id": CALLER, "turns": job["turns"]}, context) == {
        "status": "invalid"
    }

    # Mem0 failing: the call goes on, the worker raises for Lambda to retry.
    server.knobs.update(fail_status=500)
    assert client_data(http_event("/client-data", {"caller_id": CALLER}, KEY), context)["statusCode"] == 200
    server.knobs.update(fail_status=503)
    assert body_of(retrieve(http_event("/retrieve", {"query": QUERY, "user_id": CALLER}, KEY), context))["note"]
    retry = dict(job, conversation_id="conv_retry")
    with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever mem0 raises goes to Lambda
        post_call(retry, LambdaContext(remaining_ms=1_000))
    # The Lambda runtime prints an unhandled exception's message and traceback.
    captured.extend(traceback.format_exception(raised.value))
    server.knobs.update(fail_status=None)

    # Mem0 unreachable: a fresh container whose host refuses connections.
    monkeypatch.setenv("MEM0_HOST", "http://127.0.0.1:9")
    get_settings.cache_clear()
    from agentic_memory.stores import mem0 as memory

    memory.reset_clients()
    assert client_data(http_event("/client-data", {"caller_id": CALLER}, KEY), context)["statusCode"] == 200
    with pytest.raises(Exception) as raised:  # noqa: PT011
        post_call(dict(job, conversation_id="conv_unreachable"), LambdaContext(remaining_ms=1_000))
    captured.extend(traceback.format_exception(raised.value))


@pytest.fixture
def debug_everywhere(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("POWERTOOLS_LOGGER_LOG_EVENT", raising=False)


def test_no_secret_transcript_or_phone_number_in_any_log_line(
    mem0_server, dynamodb_table, invoked, monkeypatch, caplog, capfd, debug_everywhere
):
    with everything_logged(caplog) as lines:
        run_the_whole_story(mem0_server, invoked, lines, monkeypatch)
    out, err = capfd.readouterr()
    check([*lines, *out.splitlines(), *err.splitlines()])


def test_the_net_catches_a_library_that_logs_the_job(mem0_server, invoked, caplog, debug_everywhere, monkeypatch):
    """Why observability.py keeps botocore at INFO: at DEBUG it logs the self-invoke's whole payload (the
    boto3 path, taken where the environment has no credentials; forced here). Also proves the capture
    reaches library loggers, so the test above is not passing vacuously."""
    monkeypatch.setattr(lambda_invoke, "invoker", lambda settings=None: None)
    botocore = logging.getLogger("botocore")
    pinned = botocore.level
    assert pinned >= logging.INFO, "observability.QUIET_LIBRARIES should keep botocore at INFO"
    botocore.setLevel(logging.DEBUG)
    try:
        with everything_logged(caplog) as lines:
            body = post_call_body()
            assert post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())["statusCode"] == 200
    finally:
        botocore.setLevel(pinned)
    assert len(invoked) == 1
    with pytest.raises(AssertionError, match="transcript text is logged: botocore"):
        check(lines, minimum=1)


def check(lines: list[str], minimum: int = 30) -> None:
    text = "\n".join(lines)
    assert len(lines) > minimum, "the capture saw too little to prove anything"
    for secret in (WORKSPACE_KEY, HMAC_KEY, MEM0_KEY):
        assert secret not in text, f"a secret is logged: {_where(lines, secret)}"
    for fragment in transcript_fragments():
        assert fragment not in text, f"transcript text is logged: {_where(lines, fragment)}"
    squeezed = re.sub(r"[\s().\-/]", "", text)
    for form in number_forms(CALLER):
        assert form not in text, f"the caller's number is logged: {_where(lines, form)}"
        assert re.sub(r"[\s().\-/]", "", form) not in squeezed.replace("%2B", "+")
    assert not re.search(r"\+\d{8,15}", text), _where(lines, re.search(r"\+\d{8,15}", text).group())
    assert mask_caller(CALLER) in text, "the masked caller should identify the call in the logs"


def _where(lines: list[str], needle: str) -> str:
    return next((line[:400] for line in lines if needle in line), "?")


def test_the_template_never_logs_whole_events():
    """Powertools logs the entire event (a webhook is a transcript) when this switch is on."""
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in (ROOT / "template.yaml").read_text()
