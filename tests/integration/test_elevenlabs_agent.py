"""scripts/elevenlabs_agent.py against a local fake of the ElevenLabs API and moto's CloudFormation."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import elevenlabs_agent
import pytest
from elevenlabs.types import ConversationalConfig, ToolRequestModel

from agentic_memory.personalize import VARIABLES

API_KEY = "xi-test-api-key-0123456789"
WORKSPACE_SECRET = "workspace-key-never-printed-42"
URLS = {
    "client_data": "https://cd0001.execute-api.eu-west-1.amazonaws.com/Prod/client-data",
    "retrieve": "https://rt0002.execute-api.eu-west-1.amazonaws.com/Prod/retrieve",
    "post_call": "https://pc0003.execute-api.eu-west-1.amazonaws.com/Prod/post-call",
}
URL_ARGS = [
    "--client-data-url",
    URLS["client_data"],
    "--retrieve-url",
    URLS["retrieve"],
    "--post-call-url",
    URLS["post_call"],
]
AGENT_ID = "agent_01example"
ORIGINAL_PROMPT = "You are the front desk of Lopez Ceramics. Be brief and warm."


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


class FakeElevenLabs:
    """Just enough of api.elevenlabs.io for the script: secrets, tools, one agent, workspace settings."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.secrets: dict[str, str] = {}
        self.tools: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = {}
        self.reject_with: int | None = None
        self.agent: dict[str, Any] = {
            "agent_id": AGENT_ID,
            "name": "Front desk",
            "conversation_config": {
                "agent": {
                    "first_message": "Hello, Lopez Ceramics!",
                    "prompt": {"prompt": ORIGINAL_PROMPT, "llm": "gemini-2.0-flash", "tool_ids": ["tool_existing"]},
                }
            },
            "metadata": {"created_at_unix_secs": 1760000000},
            "platform_settings": {
                "data_collection": {"order_number": {"type": "string", "description": "The order number, if any."}},
                "overrides": {"conversation_config_override": {"agent": {"language": True}}},
            },
        }

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if self.reject_with:
            return self.reject_with, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "convai", "secrets"]:
            if method == "GET":
                stored = [
                    {"type": "stored", "secret_id": sid, "name": name, "used_by": {}}
                    for sid, name in self.secrets.items()
                ]
                return 200, {"secrets": stored, "next_cursor": None}
            secret_id = parts[3] if len(parts) > 3 else f"sec_{len(self.secrets) + 1:03d}"
            self.secrets[secret_id] = body["name"]
            return 200, {"type": "stored", "secret_id": secret_id, "name": body["name"]}
        if parts[:3] == ["v1", "convai", "tools"]:
            if method == "GET":
                search = (query.get("search") or [""])[0]
                found = [tool for tool in self.tools.values() if tool["tool_config"]["name"].startswith(search)]
                return 200, {"tools": found, "has_more": False, "next_cursor": None}
            tool_id = parts[3] if len(parts) > 3 else f"tool_{len(self.tools) + 1:03d}"
            self.tools[tool_id] = {
                "id": tool_id,
                "tool_config": body["tool_config"],
                "access_info": {"is_creator": True, "creator_name": "t", "creator_email": "t@x", "role": "admin"},
                "usage_stats": {"avg_latency_secs": 0.0},
            }
            return 200, self.tools[tool_id]
        if parts[:3] == ["v1", "convai", "agents"] and parts[3:] == [AGENT_ID]:
            if method == "PATCH":
                _merge(self.agent, body)
            return 200, self.agent
        if parts == ["v1", "convai", "settings"] and method == "PATCH":
            _merge(self.settings, body)
            return 200, self.settings
        return 404, {"detail": f"no route {method} {path}"}

    def only(self, method: str, path: str) -> dict[str, Any]:
        [found] = [r for r in self.requests if r["method"] == method and r["path"] == path]
        return found


@pytest.fixture
def fake() -> Iterator[tuple[FakeElevenLabs, str]]:
    api = FakeElevenLabs()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            target = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = parse_qs(target.query)
            api.requests.append(
                {
                    "method": self.command,
                    "path": target.path,
                    "query": query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )
            status, answer = api.handle(self.command, target.path, query, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ELEVENLABS_API_KEY", "ELEVENLABS_WORKSPACE_KEY", "CONVERSATION_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any] | None, str]:
    code = elevenlabs_agent.main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), out + err


def test_prints_a_configuration_the_sdk_accepts(capsys):
    code, report, text = run(capsys, *URL_ARGS)
    assert code == 0
    for url in URLS.values():
        assert url in text

    tool = ToolRequestModel.model_validate(report["tool"])
    schema = tool.tool_config.api_schema
    assert tool.tool_config.type == "webhook"
    assert tool.tool_config.name == "recall_memories"
    assert schema.url == URLS["retrieve"]
    assert schema.method == "POST"
    assert schema.request_headers["X-Workspace-Key"].secret_id == "{secret:agentic-memory-workspace-key}"
    body = report["tool"]["tool_config"]["api_schema"]["request_body_schema"]
    assert body["required"] == ["query", "user_id"]
    # user_id is bound to the caller's number and has no description: the LLM never fills it in
    assert body["properties"]["user_id"] == {"type": "string", "dynamic_variable": "system__caller_id"}
    assert body["properties"]["query"]["description"]

    agent = ConversationalConfig.model_validate(report["agent_patch"]["conversation_config"]).agent
    assert agent.first_message == "{{greeting}}"
    assert "{{memory_context}}" in agent.prompt.prompt
    assert set(agent.dynamic_variables["dynamic_variable_placeholders"]) == set(VARIABLES)
    platform = report["agent_patch"]["platform_settings"]
    assert platform["overrides"] == {"enable_conversation_initiation_client_data_from_webhook": True}
    assert platform["data_collection"]["caller_name"]["type"] == "string"

    webhook = report["workspace_settings"]["conversation_initiation_client_data_webhook"]
    assert webhook["url"] == URLS["client_data"]
    assert report["post_call_webhook"]["webhook_url"] == URLS["post_call"]
    assert report["workspace_settings"]["webhooks"]["events"] == ["transcript"]


def test_conversation_override_switches_are_included_only_when_asked(capsys):
    _, report, _ = run(capsys, *URL_ARGS, "--conversation-override", "first_message,prompt")
    overrides = report["agent_patch"]["platform_settings"]["overrides"]
    assert overrides["conversation_config_override"] == {"agent": {"first_message": True, "prompt": {"prompt": True}}}


def test_reads_the_urls_from_the_stack_outputs(capsys):
    from moto import mock_aws

    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "ClientDataApiUrl": {"Value": URLS["client_data"]},
            "RetrieveApiUrl": {"Value": URLS["retrieve"]},
            "PostCallApiUrl": {"Value": URLS["post_call"]},
            "PostCallDeadLetterQueueUrl": {"Value": "https://sqs.eu-west-1.amazonaws.com/1/dlq"},
        },
    }
    with mock_aws():
        import boto3

        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="agentic-memory", TemplateBody=json.dumps(template)
        )
        code, report, _ = run(capsys, "--stack", "agentic-memory", "--region", "eu-west-1")
        assert code == 0
        assert report["urls"] == URLS
        assert report["tool"]["tool_config"]["api_schema"]["url"] == URLS["retrieve"]

        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="other", TemplateBody=json.dumps({"Resources": template["Resources"]})
        )
        code, _, text = run(capsys, "--stack", "other", "--region", "eu-west-1")
        assert code == 2
        assert "ClientDataApiUrl" in text


def test_apply_creates_the_secret_and_tool_and_patches_the_agent(fake, capsys, monkeypatch):
    api, base_url = fake
    monkeypatch.setenv("ELEVENLABS_API_KEY", API_KEY)
    code, report, text = run(
        capsys,
        *URL_ARGS,
        "--apply",
        "--agent-id",
        AGENT_ID,
        "--workspace-key",
        WORKSPACE_SECRET,
        "--base-url",
        base_url,
    )
    assert code == 0, text
    assert API_KEY not in text
    assert WORKSPACE_SECRET not in text

    # Every request carries the API key header
    assert api.requests
    assert {r["headers"].get("xi-api-key") for r in api.requests} == {API_KEY}

    # The workspace key became a secret; only its id is used (and printed) from then on
    created = api.only("POST", "/v1/convai/secrets")["body"]
    assert created == {"name": "agentic-memory-workspace-key", "value": WORKSPACE_SECRET, "type": "new"}
    secret_id = report["applied"]["workspace_secret"]["secret_id"]
    assert secret_id == "sec_001"

    # The tool: POST to the retrieve URL, secret header, user_id bound to system__caller_id
    tool = api.only("POST", "/v1/convai/tools")["body"]["tool_config"]
    assert tool["type"] == "webhook"
    assert tool["response_timeout_secs"] == 5
    assert tool["api_schema"]["url"] == URLS["retrieve"]
    assert tool["api_schema"]["method"] == "POST"
    assert tool["api_schema"]["request_headers"] == {"X-Workspace-Key": {"secret_id": secret_id}}
    user_id = tool["api_schema"]["request_body_schema"]["properties"]["user_id"]
    assert user_id == {"type": "string", "dynamic_variable": "system__caller_id"}

    # The agent: read first, then patched without losing what it had
    assert api.requests[-2]["method"] == "GET"
    assert api.requests[-2]["path"] == f"/v1/convai/agents/{AGENT_ID}"
    patch = api.only("PATCH", f"/v1/convai/agents/{AGENT_ID}")["body"]
    agent = patch["conversation_config"]["agent"]
    assert agent["first_message"] == "{{greeting}}"
    assert agent["prompt"]["prompt"].startswith(ORIGINAL_PROMPT)
    assert "{{memory_context}}" in agent["prompt"]["prompt"]
    assert agent["prompt"]["tool_ids"] == ["tool_existing", "tool_001"]
    assert set(agent["dynamic_variables"]["dynamic_variable_placeholders"]) == set(VARIABLES)
    platform = patch["platform_settings"]
    assert platform["overrides"]["enable_conversation_initiation_client_data_from_webhook"] is True
    assert platform["overrides"]["conversation_config_override"] == {"agent": {"language": True}}
    assert set(platform["data_collection"]) == {"order_number", "caller_name"}
    assert report["agent_patch"]["conversation_config"]["agent"]["prompt"]["tool_ids"] == ["tool_existing", "tool_001"]
    assert not any(r["path"] == "/v1/convai/settings" for r in api.requests)


def test_apply_twice_updates_in_place(fake, capsys, monkeypatch):
    api, base_url = fake
    monkeypatch.setenv("ELEVENLABS_WORKSPACE_KEY", WORKSPACE_SECRET)
    args = [*URL_ARGS, "--apply", "--agent-id", AGENT_ID, "--api-key", API_KEY, "--base-url", base_url]
    assert run(capsys, *args)[0] == 0
    api.requests.clear()
    code, report, text = run(capsys, *args)
    assert code == 0
    assert WORKSPACE_SECRET not in text
    assert API_KEY not in text
    assert [r["method"] for r in api.requests if r["path"].startswith("/v1/convai/secrets")] == ["GET", "PATCH"]
    assert api.only("PATCH", "/v1/convai/tools/tool_001")["body"]["tool_config"]["name"] == "recall_memories"
    assert not any(r["method"] == "POST" for r in api.requests)
    assert report["applied"]["tool"] == {"name": "recall_memories", "tool_id": "tool_001", "action": "updated"}
    prompt = api.agent["conversation_config"]["agent"]["prompt"]
    assert prompt["prompt"].count("{{memory_context}}") == 1
    assert prompt["tool_ids"] == ["tool_existing", "tool_001"]


def test_apply_can_configure_the_workspace_webhooks(fake, capsys):
    api, base_url = fake
    api.secrets["sec_given"] = "agentic-memory-workspace-key"
    code, _, _ = run(
        capsys,
        *URL_ARGS,
        "--apply",
        "--agent-id",
        AGENT_ID,
        "--api-key",
        API_KEY,
        "--base-url",
        base_url,
        "--configure-workspace",
        "--post-call-webhook-id",
        "wh_123",
    )
    assert code == 0
    assert not any(r["path"] == "/v1/convai/secrets" and r["method"] == "POST" for r in api.requests)
    settings = api.only("PATCH", "/v1/convai/settings")["body"]
    assert settings["conversation_initiation_client_data_webhook"] == {
        "url": URLS["client_data"],
        "request_headers": {"X-Workspace-Key": {"secret_id": "sec_given"}},
    }
    assert settings["webhooks"] == {"post_call_webhook_id": "wh_123", "events": ["transcript"]}


def test_refusals_say_why_and_leak_nothing(fake, capsys):
    api, base_url = fake
    apply = [*URL_ARGS, "--apply", "--agent-id", AGENT_ID, "--base-url", base_url]

    code, _, text = run(capsys, *apply)
    assert code == 2
    assert "ELEVENLABS_API_KEY" in text

    code, _, text = run(capsys, *apply, "--api-key", API_KEY, "--workspace-key", "new-key,old-key")
    assert code == 2
    assert "comma-separated" in text
    assert "old-key" not in text

    code, _, text = run(capsys, *apply, "--api-key", API_KEY)
    assert code == 2
    assert "--workspace-key" in text

    api.reject_with = 401
    code, _, text = run(capsys, *apply, "--api-key", API_KEY, "--workspace-key", WORKSPACE_SECRET)
    assert code == 1
    assert "HTTP 401" in text
    assert API_KEY not in text
    assert WORKSPACE_SECRET not in text

    with pytest.raises(SystemExit):
        elevenlabs_agent.main(["--stack", "s", "--retrieve-url", URLS["retrieve"]])
    with pytest.raises(SystemExit):
        elevenlabs_agent.main([*URL_ARGS, "--apply"])
