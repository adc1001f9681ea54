"""SnapStart's after-restore hook (agentic_memory.stores.snapstart). Lambda's Python runtime offers it through
``snapshot_restore_py``, which exists only there, so these tests put a stand-in module in its place."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from agentic_memory.stores import aws_clients, idempotency, lambda_invoke, mem0, profile_reader, snapstart
from tests.support import ROOT


@pytest.fixture
def runtime_hooks(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A stand-in for Lambda's ``snapshot_restore_py`` that records what is registered, and a module that has
    not registered yet in this process."""
    module = types.ModuleType("snapshot_restore_py")
    module.after_restore = []  # type: ignore[attr-defined]

    def register_after_restore(func, *args, **kwargs):
        module.after_restore.append((func, args, kwargs))  # type: ignore[attr-defined]
        return func

    module.register_after_restore = register_after_restore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    monkeypatch.setattr(snapstart, "_registered", [])
    return module


def test_the_hook_is_registered_once_where_the_runtime_offers_hooks(runtime_hooks):
    assert snapstart.register() is True
    assert snapstart.register() is True
    assert runtime_hooks.after_restore == [(snapstart.after_restore, (), {})]


def test_outside_lambda_nothing_is_registered_and_nothing_fails(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # makes the import fail
    monkeypatch.setattr(snapstart, "_registered", [])
    assert snapstart.register() is False


def test_the_hook_drops_every_client_made_before_the_snapshot(runtime_hooks, mem0_server, profile_table):
    # Given clients built during init (before the snapshot), with a connection each
    snapstart.register()
    interactive, worker = mem0.get_store("interactive"), mem0.get_store("worker")
    interactive.recent("+16129782029")
    pools = [interactive._client.client, worker._client.client]
    lambda_client = aws_clients.client("lambda")
    invoker = lambda_invoke.invoker()
    reader = profile_reader._get_reader(profile_reader.get_settings())
    idempotency._state["persistence"] = object()
    # When Lambda restores the snapshot and runs the hook
    [(hook, args, kwargs)] = runtime_hooks.after_restore
    hook(*args, **kwargs)
    # Then nothing from before is left, and the next use builds afresh
    assert all(pool.is_closed for pool in pools)
    assert invoker is not None
    assert invoker.http.is_closed
    assert reader.http.is_closed
    assert mem0._clients == {}
    assert aws_clients._clients == {}
    assert lambda_invoke._invoker is None
    assert profile_reader._reader is None
    assert idempotency._state == {}
    assert mem0.get_store("interactive") is not interactive
    assert aws_clients.client("lambda") is not lambda_client


def test_importing_an_endpoint_registers_the_hook(tmp_path):
    # A fresh interpreter with a stand-in runtime module on its path, as the Lambda runtime has it.
    (tmp_path / "snapshot_restore_py.py").write_text(
        "registered = []\ndef register_after_restore(func, *args, **kwargs):\n    registered.append(func)\n"
    )
    code = (
        "import snapshot_restore_py\n"
        "from agentic_memory.edge import retrieve\n"
        "from agentic_memory.stores import snapstart\n"
        "print(snapshot_restore_py.registered == [snapstart.after_restore])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT / 'src'}", "MEM0_DIR": str(tmp_path / "mem0"), "MEM0_TELEMETRY": "false"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
