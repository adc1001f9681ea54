"""client_data's handler with real API Gateway events against the local Mem0 server."""

from __future__ import annotations

import time

import pytest

from client_data.handler import lambda_handler
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, load_event

VARIABLES = {
    "caller_id",
    "returning_caller",
    "memory_count",
    "caller_name",
    "memory_summary",
    "last_call_summary",
    "memory_context",
    "greeting",
    "caller_relationship",
    "open_follow_up",
    "recent_calls",
}


def call(body, headers=None, **kwargs):
    headers = {"x-workspace-key": WORKSPACE_KEY} if headers is None else headers
    return lambda_handler(http_event("/client-data", body, headers, **kwargs), LambdaContext())


def remember(server, *facts, name=None):
    server.store.add(
        [{"role": "user", "content": fact} for fact in facts],
        user_id=CALLER,
        metadata={"kind": "fact", **({"caller_name": name} if name else {})},
        infer=False,
    )


def test_sample_event_answers_a_new_caller(mem0_server):
    response = lambda_handler(load_event("client_data.json"), LambdaContext())
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["type"] == "conversation_initiation_client_data"
    assert set(body["dynamic_variables"]) == VARIABLES
    assert body["dynamic_variables"]["returning_caller"] == "no"
    assert body["dynamic_variables"]["caller_id"] == CALLER
    assert "conversation_config_override" not in body


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_returning_caller_is_recognised(mem0_server, base64_encoded):
    remember(mem0_server, "Caller's name is Maria Lopez.", "Prefers weekday morning deliveries", name="Maria Lopez")
    response = call({"caller_id": "+1 612-978-2029", "agent_id": "a"}, base64_encoded=base64_encoded)
    dynamic = body_of(response)["dynamic_variables"]
    assert dynamic["returning_caller"] == "yes"
    assert dynamic["memory_count"] == "2"
    assert dynamic["caller_name"] == "Maria Lopez"
    assert dynamic["greeting"].startswith("Welcome back, Maria Lopez")
    assert "Prefers weekday morning deliveries" in dynamic["memory_context"]


def test_memories_of_another_caller_are_not_used(mem0_server):
    remember(mem0_server, "Prefers weekday morning deliveries", name="Maria")
    dynamic = body_of(call({"caller_id": "+15550001111"}))["dynamic_variables"]
    assert dynamic["returning_caller"] == "no"
    assert dynamic["caller_name"] == ""


@pytest.mark.parametrize("caller_id", [None, "", "anonymous", "restricted", "unknown"])
def test_missing_or_withheld_caller_gets_the_new_caller_answer_without_asking_mem0(mem0_server, caller_id):
    body = {"agent_id": "a"} if caller_id is None else {"caller_id": caller_id}
    dynamic = body_of(call(body))["dynamic_variables"]
    assert set(dynamic) == VARIABLES
    assert dynamic["returning_caller"] == "no"
    assert dynamic["caller_id"] == ""
    assert not [r for r in mem0_server.requests if "/memories" in r.path]


@pytest.mark.parametrize("headers", [{}, {"x-workspace-key": "wrong"}, {"X-Workspace-Key": ""}])
def test_401_without_the_right_key(mem0_server, headers):
    response = call({"caller_id": CALLER}, headers=headers)
    assert response["statusCode"] == 401
    assert body_of(response)["error"] == "unauthorized"
    assert mem0_server.requests == []


def test_header_name_is_case_insensitive(mem0_server):
    assert call({"caller_id": CALLER}, headers={"X-WORKSPACE-KEY": WORKSPACE_KEY})["statusCode"] == 200


def test_fails_closed_when_no_key_is_configured(mem0_server, monkeypatch):
    from agentic_memory.config import get_settings

    monkeypatch.delenv("ELEVENLABS_WORKSPACE_KEY")
    get_settings.cache_clear()
    assert call({"caller_id": CALLER}, headers={"x-workspace-key": ""})["statusCode"] == 401


def test_a_number_sent_as_a_json_number_is_read(mem0_server):
    # SIP numbers may arrive as JSON numbers (DESIGN.md 3.1); that is a caller, not bad input.
    response = call('{"caller_id": 16129782029, "called_number": 3232}')
    assert response["statusCode"] == 200
    assert body_of(response)["dynamic_variables"]["caller_id"] == CALLER


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ("[1, 2]", 400),
        ("", 400),
        (None, 400),
        ('{"caller_id": {"number": 16129782029}}', 400),
        ('{"caller_id": ["+1"]}', 400),
        ("x" * 70_000, 413),
    ],
)
def test_bad_input_gets_a_clear_4xx(mem0_server, body, status):
    response = call(body)
    assert response["statusCode"] == status
    error = body_of(response)
    assert set(error) == {"error", "message"}
    assert error["message"]


@pytest.mark.parametrize(
    "knobs",
    [
        {"fail_status": 500},
        {"fail_status": 429},
        {"fail_status": 401},
        {"delay_seconds": 10},
        {"hang": True, "hang_seconds": 10},
    ],
)
def test_mem0_failing_or_hanging_still_answers_200_within_budget(mem0_server, knobs):
    remember(mem0_server, "Prefers weekday morning deliveries", name="Maria")
    mem0_server.knobs.update(**knobs)
    started = time.perf_counter()
    response = call({"caller_id": CALLER})
    elapsed = time.perf_counter() - started
    assert response["statusCode"] == 200
    assert body_of(response)["dynamic_variables"]["returning_caller"] == "no"
    assert elapsed < 2.0


def test_mem0_unreachable_still_answers_200(monkeypatch):
    monkeypatch.setenv("MEM0_API_KEY", "k")
    monkeypatch.setenv("MEM0_HOST", "http://127.0.0.1:9")  # nothing listens on the discard port
    from agentic_memory.config import get_settings

    get_settings.cache_clear()
    response = call({"caller_id": CALLER})
    assert response["statusCode"] == 200
    assert body_of(response)["dynamic_variables"]["returning_caller"] == "no"


def test_override_only_when_configured(mem0_server, monkeypatch):
    from agentic_memory.config import get_settings

    monkeypatch.setenv("CONVERSATION_OVERRIDE", "first_message")
    get_settings.cache_clear()
    body = body_of(call({"caller_id": CALLER}))
    assert body["conversation_config_override"] == {"agent": {"first_message": body["dynamic_variables"]["greeting"]}}
