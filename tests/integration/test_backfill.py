"""scripts/backfill.py: past conversations through the post-call function's job path, once, resumably.

The function runs in this process (what `make dev`'s local Lambda does with the same event), against
the local fake of ElevenLabs' conversations API, the local Mem0 server and moto's DynamoDB; one test
goes through boto3 and a real local Lambda Invoke endpoint found by its state file, as `make dev` is.
"""

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace
from typing import Any

import backfill
import pytest
import stackfind

from agentic_memory.config import get_settings
from agentic_memory.domain.conversation import TranscriptionData
from agentic_memory.domain.job import job_for_conversation
from agentic_memory.domain.memory_writes import plan_writes
from post_call.handler import lambda_handler
from tests.support import LambdaContext, finished_conversation

ADD = ("POST", "/v3/memories/add/")
DAY = 86400
CALLERS = ["+16125550101", "+16125550102", "+16125550103"]


class TickingContext(LambdaContext):
    """A context whose remaining time falls by ``tick_ms`` at every look, so a step ends part-way."""

    def __init__(self, start_ms: int, tick_ms: int) -> None:
        super().__init__(remaining_ms=start_ms)
        self.tick_ms = tick_ms

    def get_remaining_time_in_millis(self) -> int:
        self.remaining_ms = max(0, self.remaining_ms - self.tick_ms)
        return self.remaining_ms + self.tick_ms


class InProcess:
    """The post-call function, invoked synchronously in this process; records every event."""

    def __init__(self, context: Any = None, *, interrupt_after: int | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.context = context
        self.interrupt_after = interrupt_after

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.interrupt_after is not None and len(self.events) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.events.append(event)
        context = self.context() if callable(self.context) else LambdaContext()
        return json.loads(json.dumps(lambda_handler(event, context)))


def writes_per_call() -> int:
    """The Mem0 adds one sample call makes, as the webhook's own path plans them."""
    data = TranscriptionData.model_validate(finished_conversation("conv_x"))
    job = job_for_conversation(data, None, get_settings())
    return len(plan_writes(job))


@pytest.fixture
def history(mem0_server, dynamodb_table, elevenlabs_api, monkeypatch, tmp_path):
    """Three calls of three callers 2 to 4 days ago, one older call, and an agent_b call."""
    for index, caller in enumerate(CALLERS):
        elevenlabs_api.app.add(finished_conversation(f"conv_past_{index}", caller=caller, ended_ago=(2 + index) * DAY))
    elevenlabs_api.app.add(finished_conversation("conv_too_old", caller="+16125550199", ended_ago=30 * DAY))
    monkeypatch.setattr(backfill, "CHECKPOINT_DIR", tmp_path / "backfill")
    monkeypatch.setattr(stackfind, "resolve", lambda args, **_: SimpleNamespace(path=tmp_path / "3000" / "s.json"))
    return SimpleNamespace(mem0=mem0_server, api=elevenlabs_api, tmp=tmp_path)


def use(monkeypatch, invoker: InProcess) -> InProcess:
    monkeypatch.setattr(backfill, "make_invoker", lambda target: invoker)
    return invoker


def since(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * DAY))


def adds(history) -> int:
    return history.mem0.knobs.count(*ADD)


def conversations_of(history, caller: str) -> set[str]:
    records = history.mem0.store.get_all({"user_id": caller}, page_size=200)[1]
    return {(r.get("metadata") or {}).get("conversation_id") for r in records}


def test_backfill_run_twice_writes_each_conversation_once(history, monkeypatch, capsys):
    # Given three past calls in the window (and one older), When backfill runs
    use(monkeypatch, InProcess())
    assert backfill.main(["--since", since(7)]) == 0
    # Then each is remembered under its caller, with exactly its planned writes, and the older one is not
    first = adds(history)
    assert first == 3 * writes_per_call()
    for index, caller in enumerate(CALLERS):
        assert conversations_of(history, caller) == {f"conv_past_{index}"}
    assert conversations_of(history, "+16125550199") == set()
    assert "imported 3" in capsys.readouterr().out
    # When it runs again: the saved progress says it is complete, and nothing is asked or written
    again = use(monkeypatch, InProcess())
    assert backfill.main(["--since", since(7)]) == 0
    assert again.events == []
    # And when forced through the whole window again, everything is found ingested; nothing is written
    forced = use(monkeypatch, InProcess())
    assert backfill.main(["--since", since(7), "--restart"]) == 0
    assert forced.events
    assert adds(history) == first
    assert "imported 0, already in memory 3" in capsys.readouterr().out


def test_an_interrupted_backfill_resumes_where_it_stopped_and_writes_once(history, monkeypatch, capsys):
    # Given steps so short that each handles about one conversation, and an interruption after the first
    short = lambda: TickingContext(start_ms=30_000, tick_ms=4_000)  # noqa: E731
    use(monkeypatch, InProcess(short, interrupt_after=1))
    assert backfill.main(["--since", since(7)]) == 130
    saved = json.loads(next((history.tmp / "backfill").glob("*.json")).read_text())
    [progress] = saved.values()
    assert progress["resume_after"] > int(time.time()) - 7 * DAY
    partway = adds(history)
    assert 0 < partway < 3 * writes_per_call()
    # When it is run again
    resumed = use(monkeypatch, InProcess(short))
    assert backfill.main(["--since", since(7)]) == 0
    # Then it starts from the saved position, finishes, and every call is written exactly once
    assert resumed.events[0]["after_unix"] == progress["resume_after"]
    assert len(resumed.events) > 1  # it took several steps
    assert adds(history) == 3 * writes_per_call()
    for index, caller in enumerate(CALLERS):
        assert conversations_of(history, caller) == {f"conv_past_{index}"}


def test_a_long_retry_after_from_elevenlabs_is_slept_then_the_backfill_goes_on(history, monkeypatch):
    # Given ElevenLabs answers 429 with a Retry-After longer than a step can wait
    history.api.app.knobs.update(fail_times=1, retry_after=120)
    waits: list[float] = []
    monkeypatch.setattr(backfill, "pause", waits.append)
    use(monkeypatch, InProcess())
    # When backfill runs, Then it waits as asked and then imports everything
    assert backfill.main(["--since", since(7)]) == 0
    assert waits == [120.0]
    assert adds(history) == 3 * writes_per_call()


def test_mem0_rate_limits_are_honoured_and_nothing_is_lost(history, monkeypatch):
    # Given Mem0 answers 429 (Retry-After 1 s) to the next two requests
    history.mem0.knobs.update(fail_status=429, fail_times=2, retry_after=1)
    use(monkeypatch, InProcess())
    started = time.monotonic()
    assert backfill.main(["--since", since(7)]) == 0
    # Then the worker waited (Retry-After) and retried; every call is written once
    assert time.monotonic() - started >= 1
    for index, caller in enumerate(CALLERS):
        assert conversations_of(history, caller) == {f"conv_past_{index}"}
    assert history.mem0.knobs.count(*ADD) >= 3 * writes_per_call()


def test_a_dry_run_counts_and_writes_nothing(history, monkeypatch, capsys):
    use(monkeypatch, InProcess())
    assert backfill.main(["--since", since(7), "--dry-run"]) == 0
    assert adds(history) == 0
    assert history.api.app.count("/v1/convai/conversations/") == 0  # no conversation fetched
    assert "3 finished conversations not yet in memory would be imported" in capsys.readouterr().out
    assert not (history.tmp / "backfill").exists()


def test_the_agent_filter_imports_only_that_agents_calls(history, monkeypatch):
    history.api.app.add(finished_conversation("conv_agent_b", caller="+16125550177", ended_ago=DAY, agent_id="agent_b"))
    use(monkeypatch, InProcess())
    assert backfill.main(["--since", since(7), "--agent", "agent_b"]) == 0
    assert conversations_of(history, "+16125550177") == {"conv_agent_b"}
    assert all(conversations_of(history, caller) == set() for caller in CALLERS)


def test_a_stack_without_an_api_key_is_reported(history, monkeypatch, capsys):
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    get_settings.cache_clear()
    use(monkeypatch, InProcess())
    assert backfill.main(["--since", since(7)]) == 1
    assert "ELEVENLABS_API_KEY" in capsys.readouterr().err


def test_dates_and_unix_seconds_are_read_as_utc():
    assert backfill.parse_when("2026-01-31") == 1_769_817_600
    assert backfill.parse_when("2026-01-31T01:00+01:00") == 1_769_817_600
    assert backfill.parse_when("1769817600") == 1_769_817_600


@pytest.fixture
def local_lambda(mem0_server, elevenlabs_api, tmp_path):
    """A local Lambda Invoke endpoint serving the post-call handler, and a state file naming it, as
    `make dev` writes one. boto3 reaches it through AWS_ENDPOINT_URL_LAMBDA, as with `make dev`."""
    from standins.aws_lambda import LambdaInvokeServer, LambdaRuntime, LocalFunction

    saved = dict(os.environ)
    runtime = LambdaRuntime(
        [LocalFunction(name="dev-post-call", handler=lambda_handler, timeout=30)],
        dead_letter_path=tmp_path / "dead-letters.jsonl",
    )
    server = LambdaInvokeServer(runtime, "127.0.0.1", 0).start()
    state = {
        "pid": os.getpid(),
        "api_url": server.url,  # answers connections: the stack counts as running
        "lambda_endpoint_url": server.url,
        "functions": {"post-call": "dev-post-call"},
    }
    path = tmp_path / "3000" / "dev-stack.json"
    path.parent.mkdir()
    path.write_text(json.dumps(state))
    yield path
    server.close()
    runtime.close(1)
    os.environ.clear()
    os.environ.update(saved)


def test_against_a_local_lambda_endpoint_found_by_its_state_file(
    local_lambda, elevenlabs_api, mem0_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(backfill, "CHECKPOINT_DIR", tmp_path / "backfill")
    elevenlabs_api.app.add(finished_conversation("conv_via_boto3", ended_ago=2 * DAY))
    # --reconcile: one scheduled run now (the call ended two days ago: outside its window)
    assert backfill.main(["--reconcile", "--state", str(local_lambda)]) == 0
    assert mem0_server.knobs.count(*ADD) == 0
    # --since: imported through boto3 -> local Lambda -> post-call -> reconcile window
    assert backfill.main(["--since", since(7), "--state", str(local_lambda)]) == 0
    assert mem0_server.knobs.count(*ADD) == writes_per_call()
    assert (tmp_path / "backfill" / "dev-3000.json").is_file()
