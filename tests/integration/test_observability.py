"""What the handlers write to stdout, as CloudWatch reads it: Powertools' JSON log lines and EMF metrics.

A full call runs through the three handlers (local Mem0 server, moto's DynamoDB, captured self-invoke),
and each invocation's output is parsed: the metric names per endpoint, the `service` dimension the
template's alarms match, and the correlation id that ties the post-call webhook to its worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentic_memory.observability import NAMESPACE, logger
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import (
    CALLER,
    ROOT,
    WORKSPACE_KEY,
    LambdaContext,
    body_of,
    http_event,
    post_call_body,
    signed_headers,
)

KEY = {"x-workspace-key": WORKSPACE_KEY}
CONVERSATION_ID = json.loads(post_call_body())["data"]["conversation_id"]


class Output:
    """One invocation's stdout: log lines and EMF blobs."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self.emf = [line for line in lines if "_aws" in line]
        self.logs = [line for line in lines if "_aws" not in line and "message" in line]

    def metric_names(self) -> list[str]:
        return [
            metric["Name"]
            for blob in self.emf
            for directive in blob["_aws"]["CloudWatchMetrics"]
            for metric in directive["Metrics"]
        ]

    def value(self, name: str) -> float:
        [blob] = [blob for blob in self.emf if name in blob]
        found = blob[name]
        return sum(found) if isinstance(found, list) else found

    def services(self) -> set[str]:
        """The `service` dimension of every blob (and check it is the only dimension, as the alarms expect)."""
        for blob in self.emf:
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == NAMESPACE
                assert directive["Dimensions"] == [["service"]]
        return {blob["service"] for blob in self.emf}

    def log(self, message: str) -> dict[str, Any]:
        [line] = [line for line in self.logs if line["message"] == message]
        return line


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., tuple[dict[str, Any], Output]]]:
    """Run a handler and parse what it printed. Powertools' log handler keeps the stream it was built
    with (by now maybe a closed capture file), so it is pointed at the captured stdout for each run."""
    handler = logger.registered_handler
    previous = handler.stream

    def run(function: Callable[..., Any], event: dict[str, Any]) -> tuple[dict[str, Any], Output]:
        capsys.readouterr()
        handler.stream = sys.stdout
        response = function(event, LambdaContext())
        lines = []
        for raw in capsys.readouterr().out.splitlines():
            try:
                parsed = json.loads(raw)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                lines.append(parsed)
        return response, Output(lines)

    yield run
    handler.stream = previous


def initiation_event() -> dict[str, Any]:
    return http_event("/client-data", {"caller_id": CALLER, "agent_id": "agent_7101k0example"}, KEY)


def retrieve_event(query: str = "vases") -> dict[str, Any]:
    return http_event("/retrieve", {"query": query, "user_id": CALLER}, KEY)


def test_a_full_call_emits_the_metrics_and_correlation_ids(mem0_server, dynamodb_table, lambda_invocations, invoke):
    # A new caller: the initiation webhook
    event = initiation_event()
    response, out = invoke(client_data, event)
    assert response["statusCode"] == 200
    names = out.metric_names()
    assert {"CallerNew", "MemoriesFound", "Mem0Latency"} <= set(names)
    assert "CallerReturning" not in names
    assert out.value("MemoriesFound") == 0
    assert out.services() == {"client-data"}
    answered = out.log("client data answered")
    assert answered["service"] == "client-data"
    assert answered["correlation_id"] == event["requestContext"]["requestId"]
    assert answered["function_request_id"]
    assert CALLER not in json.dumps(out.logs)  # masked

    # The mid-call tool
    response, out = invoke(retrieve, retrieve_event())
    assert "MemoriesFound" in out.metric_names()
    assert out.services() == {"retrieve"}

    # The post-call webhook: acknowledged, with the conversation id as correlation id
    body = post_call_body()
    response, out = invoke(post_call, http_event("/post-call", body, signed_headers(body)))
    assert body_of(response)["status"] == "accepted"
    assert out.metric_names() == ["JobAccepted"]
    assert out.services() == {"post-call"}
    assert out.log("post-call job queued")["correlation_id"] == CONVERSATION_ID

    # The asynchronous worker: every line carries the same correlation id
    [(_, _, job)] = lambda_invocations
    assert job["conversation_id"] == CONVERSATION_ID
    result, out = invoke(post_call, job)
    assert result["status"] == "written"
    assert {"MemoriesWritten", "Mem0Latency"} <= set(out.metric_names())
    assert out.value("MemoriesWritten") > 0
    assert out.services() == {"post-call"}
    assert out.logs
    assert {line.get("correlation_id") for line in out.logs} == {CONVERSATION_ID}
    assert out.log("post-call job written")["service"] == "post-call"

    # A repeated job writes nothing and says so
    _, out = invoke(post_call, job)
    assert "JobDuplicate" in out.metric_names()
    assert "MemoriesWritten" not in out.metric_names()

    # The caller calls again and is recognised
    _, out = invoke(client_data, initiation_event())
    assert "CallerReturning" in out.metric_names()
    assert "CallerNew" not in out.metric_names()
    assert out.value("MemoriesFound") > 0


def test_rejections_and_ignored_events_are_counted(lambda_invocations, invoke):
    body = post_call_body()
    response, out = invoke(post_call, http_event("/post-call", body, {"elevenlabs-signature": "t=1,v0=" + "0" * 64}))
    assert response["statusCode"] == 401
    assert out.metric_names() == ["SignatureRejected"]
    assert out.services() == {"post-call"}

    response, out = invoke(client_data, http_event("/client-data", {"caller_id": CALLER}, {"x-workspace-key": "no"}))
    assert response["statusCode"] == 401
    assert out.metric_names() == ["AuthRejected"]
    assert out.services() == {"client-data"}

    failure = post_call_body(type="call_initiation_failure")
    response, out = invoke(post_call, http_event("/post-call", failure, signed_headers(failure)))
    assert body_of(response)["status"] == "ignored"
    assert out.metric_names() == ["JobIgnored"]
    assert lambda_invocations == []


def test_mem0_failures_count_errors_and_degraded_answers(mem0_server, invoke):
    # Warm containers (the clients exist), then Mem0 starts failing
    for function, event in ((client_data, initiation_event()), (retrieve, retrieve_event())):
        _, out = invoke(function, event)
        assert "Mem0Errors" not in out.metric_names()
    mem0_server.knobs.update(fail_status=500)

    response, out = invoke(client_data, initiation_event())
    assert body_of(response)["dynamic_variables"]["returning_caller"] == "no"
    assert {"Mem0Errors", "DegradedAnswer", "CallerNew"} <= set(out.metric_names())
    assert out.services() == {"client-data"}  # what the client-data DegradedAnswer alarm matches

    response, out = invoke(retrieve, retrieve_event())
    assert body_of(response)["memories"] == []
    assert {"Mem0Errors", "DegradedAnswer"} <= set(out.metric_names())
    assert out.services() == {"retrieve"}


def test_the_service_name_from_the_environment_wins(monkeypatch, invoke):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "client-data-staging")
    _, out = invoke(client_data, http_event("/client-data", {"caller_id": CALLER}, {"x-workspace-key": "no"}))
    assert out.services() == {"client-data-staging"}
    assert out.log("request rejected")["service"] == "client-data-staging"


def test_a_fresh_process_takes_service_and_level_from_the_environment():
    # As on Lambda: the variables are set before the first import.
    code = (
        "from agentic_memory.observability import logger, metrics\n"
        "import logging\n"
        "print(logger.service, metrics.service, logging.getLevelName(logger.log_level))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "POWERTOOLS_SERVICE_NAME": "retrieve",
        "LOG_LEVEL": "DEBUG",
    }
    env.pop("POWERTOOLS_LOG_LEVEL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["retrieve", "retrieve", "DEBUG"]
    env.pop("POWERTOOLS_SERVICE_NAME")
    env.pop("LOG_LEVEL")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["agentic-memory", "agentic-memory", "INFO"]
