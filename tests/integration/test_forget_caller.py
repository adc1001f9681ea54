"""scripts/forget_caller.py against the local Mem0 server: only that caller's memories go, and only
once someone confirmed it."""

from __future__ import annotations

import io
import logging

import forget_caller
import pytest
import stackfind

from tests.support import CALLER

OTHER = "+15550001111"
WEB_ID = "web-user-42"
WEB_USER = f"web:{WEB_ID}"  # how the worker stores a web call's user


@pytest.fixture(autouse=True)
def _no_running_stack(tmp_path, monkeypatch):
    """With no flag the script looks for a running `make dev`; never find one on this machine here."""
    monkeypatch.setattr(stackfind, "LOCAL_DIR", tmp_path / "no-local")


@pytest.fixture(autouse=True)
def _restore_library_log_levels():
    """The script quiets mem0 and httpx for its process; give the test process its levels back."""
    saved = {name: logging.getLogger(name).level for name in ("mem0", "httpx")}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def remembered(mem0_server):
    store = mem0_server.store
    store.add(
        [{"role": "user", "content": f"Fact {i} about the caller"} for i in range(3)], user_id=CALLER, infer=False
    )
    store.add([{"role": "user", "content": f"Another caller's fact {i}"} for i in range(2)], user_id=OTHER, infer=False)
    store.add([{"role": "user", "content": "A web visitor's fact"}], user_id=WEB_USER, infer=False)
    mem0_server.clear_requests()
    return mem0_server


def run(tmp_path, *args, answer: str | None = None, monkeypatch=None):
    if answer is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    return forget_caller.main([*args, "--env-file", str(tmp_path / "absent.env")])


def counts(server):
    return {user: server.store.count({"user_id": user}) for user in (CALLER, OTHER, WEB_USER)}


def deletes(server):
    return [r for r in server.requests if r.method == "DELETE"]


def test_yes_deletes_only_that_callers_memories(remembered, tmp_path, capsys):
    assert run(tmp_path, "(612) 978-2029", "--yes") == 0
    assert counts(remembered) == {CALLER: 0, OTHER: 2, WEB_USER: 1}
    [delete] = deletes(remembered)
    assert "user_id=%2B16129782029" in delete.path
    out, err = capsys.readouterr()
    assert "+1********29: 3 memories remembered." in out
    assert "deleted; none remain" in out
    assert "6129782029" not in out + err


# "y" as well as "yes": what a terminal user types at a yes/no question (issue 24).
@pytest.mark.parametrize("answer", ["2029\n", "yes\n", " YES \n", "y\n", " Y \n"])
def test_the_prompt_accepts_the_last_four_digits_or_yes(remembered, tmp_path, monkeypatch, capsys, answer):
    assert run(tmp_path, "6129782029", answer=answer, monkeypatch=monkeypatch) == 0
    assert counts(remembered)[CALLER] == 0
    assert "last 4 digits" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer", ["", "\n", "no\n", "n\n", "yess\n", "ye\n", "2028\n", "16129782029\n", "+1 612 978 2029\n"]
)
def test_the_prompt_refuses_anything_else(remembered, tmp_path, monkeypatch, capsys, answer):
    assert run(tmp_path, CALLER, answer=answer, monkeypatch=monkeypatch) == 1
    assert counts(remembered) == {CALLER: 3, OTHER: 2, WEB_USER: 1}
    assert deletes(remembered) == []
    assert "nothing was deleted" in capsys.readouterr().out


@pytest.mark.parametrize(
    "number", ["anonymous", "Restricted", "", "   ", "12345", "+0123456789", "+1 61", "sip:anonymous@x", "abc"]
)
def test_an_unusable_or_withheld_number_is_a_clear_error(remembered, tmp_path, capsys, number):
    assert run(tmp_path, number, "--yes") == 2
    assert "not a usable phone number" in capsys.readouterr().err
    assert remembered.requests == []
    assert counts(remembered)[CALLER] == 3


def test_a_web_user_id_needs_the_flag_and_then_works(remembered, tmp_path):
    assert run(tmp_path, "--user-id", WEB_ID, "--yes") == 0
    assert counts(remembered) == {CALLER: 3, OTHER: 2, WEB_USER: 0}
    assert run(tmp_path, "--user-id", "anonymous", "--yes") == 2


def test_nothing_remembered_deletes_nothing(mem0_server, tmp_path, capsys):
    assert run(tmp_path, CALLER) == 0  # no prompt needed: stdin is never read
    assert "nothing is remembered" in capsys.readouterr().out
    assert deletes(mem0_server) == []


def test_memories_that_survive_the_delete_are_reported(remembered, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(remembered.store, "delete_all", lambda **_: 0)
    monkeypatch.setattr(forget_caller.time, "sleep", lambda _: None)
    assert run(tmp_path, CALLER, "--yes") == 1
    assert "3 memories still remain" in capsys.readouterr().out


@pytest.mark.parametrize("phase", ["count", "delete"])
def test_mem0_failing_is_reported_without_the_number(remembered, tmp_path, monkeypatch, capsys, caplog, phase):
    caplog.set_level(logging.DEBUG)
    if phase == "count":
        remembered.knobs.update(fail_status=503)
    else:

        def broken(**_):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(remembered.store, "delete_all", broken)
    assert run(tmp_path, CALLER, "--yes") == 1
    out, err = capsys.readouterr()
    assert "error:" in err
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("standins")]  # not the stand-in's
    shown = "\n".join([out, err, *ours])
    for form in (CALLER, "16129782029", "6129782029"):
        assert form not in shown
    if phase == "delete":
        assert counts(remembered)[CALLER] == 3


def test_without_a_mem0_key_it_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("MEM0_API_KEY", raising=False)
    assert run(tmp_path, CALLER, "--yes") == 2
    assert "MEM0_API_KEY" in capsys.readouterr().err
