"""The Mem0 requests of one call ingested with the deployed stack's tables (issue 23): two adds and the one
read the profile needs, no read of what an earlier attempt wrote unless one may have sent a write, and
nothing at all for a repeated delivery."""

from __future__ import annotations

import json

from post_call.handler import lambda_handler
from tests.support import CALLER, LambdaContext, load_event

ADD = ("POST", "/v3/memories/add/")
LIST = ("POST", "/v3/memories/")


def made(server) -> list[tuple[str, str]]:
    return [(r.method, r.path.split("?", 1)[0]) for r in server.requests]


def job(conversation_id: str) -> dict:
    return {**load_event("post_call_job.json"), "conversation_id": conversation_id}


def test_a_call_is_two_adds_and_the_profiles_one_read(mem0_server, profile_table, monkeypatch):
    # Given the deployed worker's tables and a warm container (its Mem0 client built)
    monkeypatch.setenv("MEM0_ORG_ID", "local-org")
    monkeypatch.setenv("MEM0_PROJECT_ID", "local-project")
    from agentic_memory.config import get_settings

    get_settings.cache_clear()
    # When a caller's first call is ingested
    assert lambda_handler(job("conv_reads_1"), LambdaContext())["status"] == "written"
    # Then Mem0 gets the two adds and one read of the caller's memories for the profile (memories may be older
    # than the profile: an upgraded stack, a backfill), nothing else
    assert sorted(made(mem0_server)) == sorted([ADD, ADD, LIST])
    [read] = [r for r in mem0_server.requests if r.path.startswith("/v3/memories/?")]
    assert read.body["filters"] == {"user_id": CALLER}
    # When the same call is delivered again
    mem0_server.clear_requests()
    assert lambda_handler(job("conv_reads_1"), LambdaContext()) == {"status": "duplicate", "writes": 0}
    # Then Mem0 is asked nothing: the writes are known done, and the profile already counts the call
    assert made(mem0_server) == []
    # When the caller's next call comes, Then again two adds and one read (the last call's extracted facts)
    assert lambda_handler(job("conv_reads_2"), LambdaContext())["status"] == "written"
    assert sorted(made(mem0_server)) == sorted([ADD, ADD, LIST])
    assert json.dumps(mem0_server.requests[0].body)  # every request recorded with its body
