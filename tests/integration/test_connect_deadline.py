"""One overall deadline for every read a caller waits on (issue 20, item 5 of its problem): a DynamoDB answer
that trickles in one byte every 0.4 s never trips httpx's per-read timeout, and held client_data 52 s. The
profile read (and retrieve's read of our lines' marks) now sits inside ``stores.deadline.within``, so the
caller is answered within ``MEM0_INTERACTIVE_TIMEOUT`` plus overhead whatever DynamoDB does.

The trickling DynamoDB is a local socket server (the answer's headers at once, then its body a byte at a
time); it stops by itself after ``TRICKLE_SECONDS`` and at the end of each test.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from agentic_memory.config import get_settings
from agentic_memory.stores import profile_reader
from client_data.handler import lambda_handler as client_data
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event

BUDGET = 1.0  # MEM0_INTERACTIVE_TIMEOUT for these tests
SLACK = 1.5  # what a busy shared machine may add; far below what the trickle would hold a caller
BYTE_EVERY = 0.4
TRICKLE_SECONDS = 8.0
KEY = {"x-workspace-key": WORKSPACE_KEY}


class _Trickle(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: TrickleServer = self.server  # type: ignore[assignment]
        self.request.settimeout(5)
        try:
            self.request.recv(65536)  # the signed request; its body is not needed
            body = b'{"Responses": {}, "UnprocessedKeys": {}, "Item": null, "padding": "' + b"x" * 200 + b'"}'
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            self.request.sendall(head)
            server.answered.set()
            started = time.monotonic()
            for byte in body:
                if server.stop.wait(BYTE_EVERY) or time.monotonic() - started > TRICKLE_SECONDS:
                    return
                self.request.sendall(bytes([byte]))
        except OSError:
            return


class TrickleServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Trickle)
        self.stop = threading.Event()
        self.answered = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def trickling_dynamodb(monkeypatch, mem0_server) -> Iterator[TrickleServer]:
    server = TrickleServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
    monkeypatch.setenv("PROFILE_TABLE", "profiles")
    monkeypatch.setenv("MEM0_INTERACTIVE_TIMEOUT", str(BUDGET))
    get_settings.cache_clear()
    profile_reader.reset()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        profile_reader.reset()


def timed(handler, event) -> tuple[float, dict]:
    started = time.monotonic()
    answer = handler(event, LambdaContext())
    return time.monotonic() - started, answer


def test_client_data_answers_within_its_budget_while_dynamodb_trickles(trickling_dynamodb):
    # Given a DynamoDB that answers a byte every 0.4 s (each read within httpx's 0.5 s read timeout)
    event = http_event("/client-data", {"caller_id": CALLER, "agent_id": "agent_1", "call_sid": "CA1"}, KEY)
    # When a call connects
    seconds, answer = timed(client_data, event)
    # Then the caller is answered within the one deadline, from Mem0 (the read was given up on)
    assert trickling_dynamodb.answered.is_set()  # the read really went to the trickling server
    assert seconds < BUDGET + SLACK, seconds
    assert answer["statusCode"] == 200
    assert answer["headers"]["x-memory-source"] == "mem0"
    assert set(body_of(answer)["dynamic_variables"]) >= {"caller_id", "greeting", "memory_context"}


def test_retrieve_answers_within_its_budget_while_dynamodb_trickles(trickling_dynamodb):
    # Given the same DynamoDB, and a tool call whose two numbers need our lines' marks
    body = {"query": "orders", "caller_id": CALLER, "called_number": "+15550100001", "call_sid": "CA1"}
    seconds, answer = timed(retrieve, http_event("/retrieve", body, KEY))
    assert trickling_dynamodb.answered.is_set()
    assert seconds < BUDGET + SLACK, seconds
    assert answer["statusCode"] == 200
    assert "memories" in body_of(answer)


def test_the_trickle_would_hold_a_caller_without_the_deadline(trickling_dynamodb):
    # The failure the deadline prevents, shown on the reader itself: httpx's timeouts alone do not end it
    settings = get_settings()
    started = time.monotonic()
    with pytest.raises((profile_reader.ProfileUnavailable, socket.timeout, OSError, ValueError)):
        profile_reader.read_for_call([CALLER], [], None, settings=settings)
    assert time.monotonic() - started > 2 * (BUDGET + SLACK)
