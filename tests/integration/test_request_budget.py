"""The Mem0 request budget: a warm answer is one Mem0 round trip, a call's memories are two writes.

Counted on the local Mem0 server rather than timed, so the checks hold on a busy machine; the latency
figures themselves come from ``make bench`` (docs/performance.md). The constructor's ping is a cost per
container, not per call, and none at all when ``MEM0_ORG_ID`` and ``MEM0_PROJECT_ID`` are configured.
"""

from __future__ import annotations

import pytest

from agentic_memory.config import get_settings
from agentic_memory.stores import mem0 as memory
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

HEADERS = {"x-workspace-key": WORKSPACE_KEY}
TURNS = 200


def requests_made(server) -> list[tuple[str, str]]:
    return [(r.method, r.path.split("?", 1)[0]) for r in server.requests]


def initiate():
    response = client_data(http_event("/client-data", {"caller_id": CALLER}, HEADERS), LambdaContext())
    assert response["statusCode"] == 200
    return body_of(response)


def search():
    response = retrieve(http_event("/retrieve", {"query": "delivery", "user_id": CALLER}, HEADERS), LambdaContext())
    assert response["statusCode"] == 200
    return body_of(response)


@pytest.fixture
def known_ids(monkeypatch):
    """The org and project configured, as the template can pass them: no ping at construction."""
    monkeypatch.setenv("MEM0_ORG_ID", "local-org")
    monkeypatch.setenv("MEM0_PROJECT_ID", "local-project")
    get_settings.cache_clear()
    memory.reset_clients()


class TestInteractive:
    def test_client_data_on_a_warm_container_is_one_get_all(self, mem0_server):
        initiate()  # the first call builds the container's client
        mem0_server.clear_requests()
        initiate()
        assert requests_made(mem0_server) == [("POST", "/v3/memories/")]

    def test_retrieve_on_a_warm_container_is_one_search(self, mem0_server):
        search()
        mem0_server.clear_requests()
        search()
        assert requests_made(mem0_server) == [("POST", "/v3/memories/search/")]

    def test_without_ids_the_ping_is_paid_once_per_container(self, mem0_server):
        initiate()
        initiate()
        assert requests_made(mem0_server) == [
            ("GET", "/v1/ping/"),
            ("POST", "/v3/memories/"),
            ("POST", "/v3/memories/"),
        ]

    def test_with_known_ids_even_the_first_call_is_one_request(self, mem0_server, known_ids):
        initiate()
        assert requests_made(mem0_server) == [("POST", "/v3/memories/")]

    def test_one_client_and_connection_pool_serve_every_call(self, mem0_server):
        initiate()
        store = memory.get_store()
        pool = store._client.client
        search()
        initiate()
        assert memory.get_store() is store
        assert store._client.client is pool
        assert not pool.is_closed


def long_call(turns: int, conversation_id: str) -> bytes:
    transcript = [
        {
            "role": "user" if i % 2 == 0 else "agent",
            "message": f"Turn {i}: I'd like weekday morning deliveries to the Elm Street address, please.",
            "time_in_call_secs": i * 3,
        }
        for i in range(turns)
    ]
    return post_call_body(transcript=transcript, conversation_id=conversation_id)


def acknowledge_and_take_job(body: bytes, lambda_invocations) -> dict:
    response = post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert body_of(response)["status"] == "accepted"
    return lambda_invocations[-1][2]


class TestWorker:
    def test_a_200_turn_call_is_two_writes_and_nothing_else(
        self, mem0_server, dynamodb_table, lambda_invocations, known_ids
    ):
        job = acknowledge_and_take_job(long_call(TURNS, "conv_long_call"), lambda_invocations)
        assert mem0_server.requests == []  # the acknowledgement itself never touches Mem0
        assert post_call(job, LambdaContext()) == {"status": "written", "writes": 2}
        # The two writes and no read: nothing marks an earlier attempt that may have sent them (the crash
        # window), so Mem0 is not asked what it already holds (issue 23)
        assert requests_made(mem0_server) == [("POST", "/v3/memories/add/")] * 2
        conversation = mem0_server.requests[0].body
        assert len(conversation["messages"]) == TURNS  # the whole call in one request

    def test_without_ids_the_worker_pings_once_per_container_not_per_call(
        self, mem0_server, dynamodb_table, lambda_invocations
    ):
        for n in range(2):
            job = acknowledge_and_take_job(long_call(TURNS, f"conv_long_call_{n}"), lambda_invocations)
            assert post_call(job, LambdaContext())["writes"] == 2
        per_call = [("POST", "/v3/memories/add/")] * 2
        assert requests_made(mem0_server) == [("GET", "/v1/ping/")] + per_call * 2
