"""scripts/export_caller.py: everything held about one caller, as JSON; forget_caller.py erases the same.

Against the local Mem0 server and moto's DynamoDB (a profile table made here, its key read from the
table as the code does); no `make dev` is looked for (stackfind's directory points at an empty one).
"""

from __future__ import annotations

import json
import logging
import stat

import boto3
import export_caller
import forget_caller
import pytest
import stackfind

from agentic_memory.config import get_settings
from agentic_memory.operator_tools import caller_records
from agentic_memory.stores import profile_table as profile_store
from post_call.handler import lambda_handler
from tests.conftest import TABLES
from tests.support import CALLER, LambdaContext, finished_conversation, http_event, post_call_body, signed_headers

OTHER = "+16125550147"
PROFILE_TABLE = "profiles"


@pytest.fixture(autouse=True)
def _no_running_stack(monkeypatch, tmp_path):
    monkeypatch.setattr(stackfind, "LOCAL_DIR", tmp_path / "no-stacks")
    saved = {name: logging.getLogger(name).level for name in ("mem0", "httpx")}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def held(mem0_server, dynamodb_table, lambda_invocations, monkeypatch):
    """Two callers' calls written through the webhook and the worker, which also keeps their profiles."""
    TABLES["PROFILE_TABLE"].create(boto3.client("dynamodb"), PROFILE_TABLE)
    monkeypatch.setenv("PROFILE_TABLE", PROFILE_TABLE)
    get_settings.cache_clear()
    for conversation_id, caller in (("conv_export_1", CALLER), ("conv_export_2", OTHER)):
        body = post_call_body(**finished_conversation(conversation_id, caller=caller))
        assert (
            lambda_handler(http_event("/post-call", body, signed_headers(body)), LambdaContext())["statusCode"] == 200
        )
    for _, _, job in lambda_invocations:
        assert lambda_handler(job, LambdaContext())["status"] == "written"
    return mem0_server


def export(tmp_path, *args):
    return export_caller.main([*args, "--env-file", str(tmp_path / "absent.env")])


def test_the_export_holds_every_memory_and_the_profile_of_that_caller_only(held, tmp_path, capsys):
    out = tmp_path / "request.json"
    # When an operator exports the caller, typed as people type numbers
    assert export(tmp_path, "(612) 978-2029", "--output", str(out)) == 0
    document = json.loads(out.read_text())
    # Then it names the caller and holds all of their Mem0 records, nobody else's, and their profile
    stored = held.store.get_all({"user_id": CALLER}, page_size=200)[1]
    assert document["caller"] == CALLER
    assert document["counts"] == {"mem0_memories": len(stored), "caller_profile": len(profile_store.export(CALLER))}
    assert document["counts"]["caller_profile"] >= 1
    assert len(stored) > 0
    assert {record["id"] for record in document["mem0_memories"]} == {record["id"] for record in stored}
    assert {record["user_id"] for record in document["mem0_memories"]} == {CALLER}
    assert {record["metadata"]["conversation_id"] for record in document["mem0_memories"]} == {"conv_export_1"}
    # The worker kept a profile of the call; the export holds it as the profile module reads it
    assert document["caller_profile"] == profile_store.export(CALLER)
    assert document["caller_profile"][0]["profile"]
    assert set(document["holdings"]) == set(caller_records.HOLDINGS)
    # And the file is the operator's alone; the terminal shows the caller masked
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    printed = capsys.readouterr()
    assert CALLER not in printed.out + printed.err
    assert "+1********29" in printed.out


def test_memories_are_paged_200_at_a_time(mem0_server, tmp_path, capsys):
    # Given a caller with more memories than two pages hold
    for batch in range(3):
        mem0_server.store.add(
            [{"role": "user", "content": f"Fact {batch}-{i} about the caller"} for i in range(150)],
            user_id=CALLER,
            infer=False,
        )
    mem0_server.clear_requests()
    assert export(tmp_path, CALLER, "--output", "-") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["mem0_memories"] == 450
    assert len({record["id"] for record in document["mem0_memories"]}) == 450
    pages = [r.path for r in mem0_server.requests if r.path.startswith("/v3/memories/?")]
    assert pages == [f"/v3/memories/?page={page}&page_size=200" for page in (1, 2, 3)]
    assert document["caller_profile"] == []  # no profile table on this stack


def test_forget_erases_exactly_what_export_exports(held, tmp_path, capsys):
    # Given what an export shows
    assert export(tmp_path, CALLER, "--output", str(tmp_path / "before.json")) == 0
    before = json.loads((tmp_path / "before.json").read_text())["counts"]
    assert sum(before.values()) > 0
    capsys.readouterr()
    # When the caller is forgotten
    assert forget_caller.main([CALLER, "--yes", "--env-file", str(tmp_path / "absent.env")]) == 0
    assert f"{sum(before.values())} memories remembered" in capsys.readouterr().out
    # Then a new export holds nothing, and the other caller keeps everything
    assert export(tmp_path, CALLER, "--output", str(tmp_path / "after.json")) == 0
    after = json.loads((tmp_path / "after.json").read_text())
    assert after["counts"] == {"mem0_memories": 0, "caller_profile": 0}
    assert after["mem0_memories"] == []
    assert caller_records.counts(OTHER)["mem0_memories"] > 0


@pytest.mark.parametrize("raw", ["anonymous", "12", "web:", "{{system__caller_id}}"])
def test_an_unusable_caller_is_refused(mem0_server, tmp_path, raw, capsys):
    assert export(tmp_path, raw, "--output", str(tmp_path / "x.json")) == 2
    assert "not a caller" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_without_mem0_configured_it_says_what_to_do(tmp_path, capsys):
    assert export(tmp_path, CALLER) == 2
    assert "MEM0_API_KEY" in capsys.readouterr().err
