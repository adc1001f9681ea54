"""scripts/memory_admin.py against the Mem0 stand-in (mem0ai's real client over HTTP) and moto's DynamoDB: each
action does what it says, reaches the greeting (client_data) and the mid-call tool (retrieve), asks before
anything destructive, and leaves an audit record without content; an action that cannot be audited is not done."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import memory_admin
import pytest

from agentic_memory.stores import audit_log, aws_clients, retention_ledger
from client_data.handler import lambda_handler as client_data_handler
from post_call.handler import lambda_handler as post_call_handler
from retrieve.handler import lambda_handler as retrieve_handler
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, load_event

OTHER = "+15550001111"
MASKED = "+1********29"


@pytest.fixture(autouse=True)
def _restore_library_log_levels():
    saved = {name: logging.getLogger(name).level for name in ("mem0", "httpx")}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def stack(mem0_server, profile_table, audit_table, monkeypatch):
    """A caller with one remembered call (written by the worker), and another caller."""
    monkeypatch.setenv("MEMORY_RETENTION_DAYS", "30")
    event = load_event("post_call_job.json")
    now = int(time.time())
    event["start_time_unix_secs"] = event["event_timestamp"] = now - 3600
    event["delete_at"] = now + 30 * 86_400 - 3600  # as domain.job sets it with MEMORY_RETENTION_DAYS=30
    event["expires_on"] = time.strftime("%Y-%m-%d", time.gmtime(event["delete_at"]))
    assert post_call_handler(event, LambdaContext())["status"] == "written"
    mem0_server.store.add([{"role": "user", "content": "Another caller likes jazz."}], user_id=OTHER, infer=False)
    assert mem0_server.wait_idle(10)
    return mem0_server


def admin(tmp_path, capsys, *args: str, answer: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if answer is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    status = memory_admin.main(["--env-file", str(tmp_path / "absent.env"), *args])
    out, err = capsys.readouterr()
    return status, out, err


def shown(tmp_path, capsys) -> dict[str, Any]:
    status, out, _ = admin(tmp_path, capsys, "--json", "show", CALLER)
    assert status == 0
    return json.loads(out)


def greeting() -> dict[str, str]:
    body = {"caller_id": CALLER, "agent_id": "agent_7101k0example", "called_number": "+18005551234"}
    response = client_data_handler(
        http_event("/client-data", body, {"x-workspace-key": WORKSPACE_KEY}), LambdaContext()
    )
    return body_of(response)["dynamic_variables"]


def recall(query: str) -> list[str]:
    body = {"query": query, "caller_id": CALLER, "called_number": "+18005551234", "conversation_id": "conv_next"}
    response = retrieve_handler(http_event("/retrieve", body, {"x-workspace-key": WORKSPACE_KEY}), LambdaContext())
    return body_of(response)["memories"]


def actions() -> list[str]:
    return [record["action"] for record in audit_log.recent(days=1) or []]


def test_help_names_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        memory_admin.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for command in (
        "find",
        "show",
        "search",
        "delete",
        "correct",
        "rename",
        "note",
        "export",
        "forget",
        "audit",
        "sweep",
    ):
        assert command in text


def test_show_gives_each_memory_its_provenance_and_is_audited_without_content(stack, tmp_path, capsys):
    # Given a caller the worker remembered a call of
    # When an operator shows them
    view = shown(tmp_path, capsys)
    # Then every memory says which call, when and which agent it came from, and when it will be deleted
    assert view["masked"] == MASKED
    assert view["memories"]
    for memory in view["memories"]:
        assert memory["provenance"]["source"] == "call"
        assert memory["provenance"]["conversation_id"] == "conv_01jexample0000000000000001"
        assert memory["provenance"]["agent_id"] == "agent_7101k0example"
        assert memory["deleted_on"]  # MEMORY_RETENTION_DAYS=30: the ledger says when
    [profile] = view["profiles"]
    assert profile["greeting"]["returning_caller"] == "yes"
    # And the view is audited: who, what, the caller masked, never a memory's text
    [record] = audit_log.recent(days=1)
    assert (record["action"], record["caller"], record["outcome"]) == ("view", MASKED, "done")
    assert record["who"].startswith("local:")
    assert record["source"] == "tool"
    for memory in view["memories"]:
        assert memory["text"] not in json.dumps(record)
    assert CALLER not in json.dumps(record)


def test_delete_asks_first_then_deletes_one_memory_and_the_greeting_follows(stack, tmp_path, capsys, monkeypatch):
    view = shown(tmp_path, capsys)
    [fact] = [m for m in view["memories"] if "delivery" in m["text"].lower() and m["kind"] == "fact"]
    assert any("delivery" in line.lower() for line in greeting()["memory_summary"].split(";"))
    # When the operator does not confirm, nothing changes
    status, out, _ = admin(tmp_path, capsys, "delete", CALLER, fact["id"], answer="no\n", monkeypatch=monkeypatch)
    assert status == 1
    assert "nothing was changed" in out
    assert stack.store.get(fact["id"]) is not None
    # When they confirm
    status, out, _ = admin(tmp_path, capsys, "delete", CALLER, fact["id"], answer="yes\n", monkeypatch=monkeypatch)
    assert status == 0
    assert f"memory {fact['id']} deleted" in out
    # Then Mem0 has it no more, and the next call's greeting no longer says it
    assert stack.store.get(fact["id"]) is None
    assert fact["text"] not in greeting()["memory_summary"]
    assert actions()[:2] == ["delete", "view"]


def test_a_memory_of_another_caller_cannot_be_deleted_through_this_one(stack, tmp_path, capsys):
    [other] = stack.store.get_all({"user_id": OTHER})[1]
    status, _, err = admin(tmp_path, capsys, "--yes", "delete", CALLER, other["id"])
    assert status == 2
    assert "is not this caller's" in err
    assert stack.store.get(other["id"]) is not None
    assert audit_log.recent(days=1)[0]["outcome"] == "refused"


def test_a_note_by_hand_reaches_the_greeting_and_the_tool_and_names_its_author(stack, tmp_path, capsys):
    # When an operator adds a note
    status, out, _ = admin(tmp_path, capsys, "note", CALLER, "Prefers to be called after 10 am.")
    assert status == 0
    note_id = out.split("note ")[1].split()[0]
    # Then Mem0 holds it, marked as added by hand with its author, kept as long as retention says
    [memory] = [
        m for m in stack.store.get_all({"user_id": CALLER}, page_size=200)[1] if m["memory"].startswith("Prefers")
    ]
    assert memory["metadata"]["kind"] == "manual_note"
    assert memory["metadata"]["author"].startswith("local:")
    assert memory["metadata"]["note_id"] == note_id
    assert memory["expiration_date"]
    line = aws_clients.client("dynamodb").get_item(
        TableName=stack_profile_table(),
        Key={"pk": {"S": CALLER}, "sk": {"S": retention_ledger.sort_key("note", note_id)}},
    )
    assert "Item" in line
    # And the next call's greeting leads with it, and the mid-call tool finds it
    assert greeting()["memory_summary"].startswith("Prefers to be called after 10 am.")
    assert any("10 am" in found for found in recall("called after 10 am"))
    # And `show` gives its provenance as added by hand
    [shown_note] = [m for m in shown(tmp_path, capsys)["memories"] if m["kind"] == "manual_note"]
    assert shown_note["provenance"]["text"].startswith("added by hand by local:")
    assert "Prefers" not in json.dumps(audit_log.recent(days=1))


def stack_profile_table() -> str:
    from agentic_memory.config import get_settings

    return get_settings().profile_table or ""


def test_correct_and_rename_change_mem0_and_the_greeting(stack, tmp_path, capsys, monkeypatch):
    view = shown(tmp_path, capsys)
    [summary] = [m for m in view["memories"] if m["kind"] == "call_summary"]
    status, _, _ = admin(
        tmp_path, capsys, "--yes", "correct", CALLER, summary["id"], "The caller asked about a refund."
    )
    assert status == 0
    changed = stack.store.get(summary["id"])
    assert changed["memory"] == "The caller asked about a refund."
    assert changed["metadata"]["corrected_by"].startswith("local:")
    assert greeting()["last_call_summary"] == "The caller asked about a refund."
    status, out, _ = admin(tmp_path, capsys, "rename", CALLER, "Mary Lopez", answer="yes\n", monkeypatch=monkeypatch)
    assert status == 0
    assert greeting()["greeting"].startswith("Welcome back, Mary Lopez")
    assert "Memories still stating another name" in out  # "Caller's name is Maria Lopez." is listed
    assert actions()[:3] == ["rename", "correct", "view"]


def test_export_and_forget_are_audited_and_forget_takes_the_ledger_too(stack, tmp_path, capsys):
    output = tmp_path / "export.json"
    assert admin(tmp_path, capsys, "export", CALLER, "--output", str(output))[0] == 0
    document = json.loads(output.read_text())
    assert document["counts"]["mem0_memories"] > 0
    assert any(entry["kind"] == "retention" for entry in document["caller_profile"])
    status, out, _ = admin(tmp_path, capsys, "--yes", "forget", CALLER)
    assert status == 0
    assert "none remain" in out
    assert stack.store.count({"user_id": CALLER}) == 0
    assert stack.store.count({"user_id": OTHER}) == 1
    assert actions()[:2] == ["forget", "export"]
    status, out, _ = admin(tmp_path, capsys, "audit", CALLER)
    assert status == 0
    assert "forget" in out
    assert "export" in out
    assert CALLER not in out


def test_an_action_that_cannot_be_audited_is_not_done(stack, tmp_path, capsys, monkeypatch):
    from agentic_memory.config import get_settings

    target = shown(tmp_path, capsys)["memories"][0]["id"]
    # Given an audit trail that cannot be written (its table is missing)
    monkeypatch.setenv("AUDIT_TABLE", "no-such-audit-table")
    get_settings.cache_clear()
    # When an operator deletes a memory
    status, _, err = admin(tmp_path, capsys, "--yes", "delete", CALLER, target)
    # Then it is refused in one line, and the memory is still there
    assert status == 1
    assert err.startswith("error: delete failed")
    assert err.count("\n") == 1
    assert stack.store.get(target) is not None


def test_unusable_input_is_one_line(stack, tmp_path, capsys):
    status, _, err = admin(tmp_path, capsys, "show", "anonymous")
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("error: not a caller")
