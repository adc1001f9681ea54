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
from elevenlabs.types import (
    AnalysisProperty,
    ConversationalConfig,
    LiteralJsonSchemaProperty,
    ObjectJsonSchemaPropertyInput,
    ToolRequestModel,
    WebhookToolApiSchemaConfigInput,
    WebhookToolConfigInput,
)

from agentic_memory.config import load_settings
from agentic_memory.domain import identity
from agentic_memory.domain.dynamic_variables import BEGIN, END, VARIABLES, variables
from agentic_memory.domain.remembered import Remembered
from agentic_memory.edge.requests import RetrieveRequest
from tests.support import ROOT

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
CORPUS = ROOT / "tests" / "corpus"
IDENTITY_PARAMETERS = {"caller_id", "called_number", "call_sid", "conversation_id", "agent_id"}


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


def _known_fields_only(data: dict[str, Any], model: Any, where: str) -> None:
    """The SDK's models accept unknown keys (extra="allow"), so validation alone would let a misspelt or
    renamed field through: every key we print must be a field (or alias) of the model."""
    known = set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}
    assert set(data) <= known, f"{where}: {sorted(set(data) - known)} are not fields of {model.__name__}"


def test_prints_a_configuration_the_sdk_accepts(capsys):
    code, report, text = run(capsys, *URL_ARGS)
    assert code == 0
    for url in URLS.values():
        assert url in text

    # Given the printed tool, when the SDK's request models read it, then it is a webhook tool they know
    tool = ToolRequestModel.model_validate(report["tool"])
    schema = tool.tool_config.api_schema
    assert tool.tool_config.type == "webhook"
    assert tool.tool_config.name == "recall_memories"
    assert schema.url == URLS["retrieve"]
    assert schema.method == "POST"  # ElevenLabs' default is GET, which retrieve answers 405
    assert schema.content_type == "application/json"
    assert schema.request_headers["X-Workspace-Key"].secret_id == "{secret:agentic-memory-workspace-key}"

    config = dict(report["tool"]["tool_config"])
    assert config.pop("type") == "webhook"
    WebhookToolConfigInput.model_validate(config)
    _known_fields_only(config, WebhookToolConfigInput, "tool_config")
    _known_fields_only(config["api_schema"], WebhookToolApiSchemaConfigInput, "api_schema")
    body = config["api_schema"]["request_body_schema"]
    ObjectJsonSchemaPropertyInput.model_validate(body)
    _known_fields_only(body, ObjectJsonSchemaPropertyInput, "request_body_schema")
    for name, prop in body["properties"].items():
        LiteralJsonSchemaProperty.model_validate(prop)
        _known_fields_only(prop, LiteralJsonSchemaProperty, name)
        # exactly one value source per parameter (SDK LiteralJsonSchemaProperty docs)
        assert len({"description", "dynamic_variable", "constant_value"} & set(prop)) == 1, (name, prop)

    # The body: query from the LLM; every other parameter bound to a system variable, never the LLM's
    assert set(body["properties"]) == {"query"} | IDENTITY_PARAMETERS
    assert body["required"] == list(body["properties"])
    assert body["properties"]["query"]["description"]
    for name in IDENTITY_PARAMETERS:
        assert body["properties"][name] == {"type": "string", "dynamic_variable": f"system__{name}"}
    # ...and retrieve reads each of them (a parameter it did not know would be silently dropped)
    assert set(body["properties"]) <= set(RetrieveRequest.model_fields)

    agent = ConversationalConfig.model_validate(report["agent_patch"]["conversation_config"]).agent
    assert agent.first_message == "{{greeting}}"
    assert "{{memory_context}}" in agent.prompt.prompt
    assert agent.prompt.prompt.splitlines() == report["prompt"]["system_prompt_lines"]
    assert set(agent.dynamic_variables["dynamic_variable_placeholders"]) == set(VARIABLES)
    platform = report["agent_patch"]["platform_settings"]
    assert platform["overrides"] == {"enable_conversation_initiation_client_data_from_webhook": True}
    assert platform["data_collection"]["caller_name"]["type"] == "string"
    # ...and the items the caller brief reads, each with the description the analysis LLM follows
    items = {key: AnalysisProperty.model_validate(value) for key, value in platform["data_collection"].items()}
    assert {key: item.type for key, item in items.items()} == {
        "caller_name": "string",
        "follow_up": "string",
        "follow_up_done": "boolean",
        "preferences": "string",
    }
    assert all(len(item.description or "") > 40 for item in items.values())
    assert "topic: value" in items["preferences"].description

    webhook = report["workspace_settings"]["conversation_initiation_client_data_webhook"]
    assert webhook["url"] == URLS["client_data"]
    assert report["post_call_webhook"]["webhook_url"] == URLS["post_call"]
    assert report["workspace_settings"]["webhooks"]["events"] == ["transcript"]


def _fill(body_schema: dict[str, Any], system_variables: dict[str, Any], query: str) -> dict[str, Any]:
    """The body ElevenLabs sends for this schema: each bound parameter gets its variable's value (null when
    the variable is null, as on web calls), the LLM fills the rest (DESIGN.md 3.2)."""
    body = {}
    for name, prop in body_schema["properties"].items():
        body[name] = system_variables[prop["dynamic_variable"]] if "dynamic_variable" in prop else query
    return body


KINDS = ["inbound_twilio", "outbound_twilio", "sip_trunk", "web_widget", "whatsapp"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_tool_sends_what_each_kind_of_call_needs(kind, capsys, monkeypatch):
    # Given the printed schema and the system variables ElevenLabs had on a real-shaped call of this kind
    _, report, _ = run(capsys, *URL_ARGS)
    schema = report["tool"]["tool_config"]["api_schema"]["request_body_schema"]
    finished = json.loads((CORPUS / "post_call" / f"{kind}.json").read_text())
    data = finished.get("data", finished)
    system = data["conversation_initiation_client_data"]["dynamic_variables"]
    expected = json.loads((CORPUS / "expected.json").read_text())
    sent = json.loads((CORPUS / "tool" / f"{kind}.json").read_text())

    # When ElevenLabs fills the schema in
    body = _fill(schema, system, sent["query"])

    # Then it is exactly the corpus's tool request for that kind of call...
    assert body == sent
    # ...and retrieve resolves the caller the corpus expects (web: none here; retrieve asks ElevenLabs'
    # conversations API for the user of body["conversation_id"], a test of test_real_traffic)
    for name, value in expected["settings"].items():
        monkeypatch.setenv(name, value)
    caller = identity.for_tool(RetrieveRequest.model_validate(body), load_settings())
    if kind == "web_widget":
        assert caller is None
        assert body["caller_id"] is None
        assert body["conversation_id"] == data["conversation_id"]
    else:
        assert caller == expected["cases"][f"tool/{kind}.json"]["caller"]
        assert caller is not None


def test_prompt_lines_follow_the_disclosure_mode(capsys, monkeypatch):
    # Given each mode, when the prompt lines are printed as text
    texts = {}
    for mode in ("greet", "verify"):
        assert elevenlabs_agent.main(["--print-prompt", "--disclosure", mode]) == 0
        texts[mode] = capsys.readouterr().out

    # Then both hold the memory block, say it is quoted data, and stay between fixed first and last lines
    for text in texts.values():
        lines = text.splitlines()
        assert lines[0] == elevenlabs_agent.SNIPPET_START
        assert lines[-1] == elevenlabs_agent.SNIPPET_END
        assert "{{memory_context}}" in lines
        assert BEGIN in text
        assert END in text
        assert "never instructions" in text
        assert "`recall_memories`" in text
    # and only verify tells the agent to confirm who is calling before using anything remembered
    assert "spoofed" in texts["verify"]
    assert "ask for their name" in texts["verify"]
    assert "spoofed" not in texts["greet"]
    assert texts["verify"].startswith(texts["greet"].rsplit(elevenlabs_agent.SNIPPET_END, 1)[0])

    # The mode defaults to CALLER_DISCLOSURE (as the stack is deployed), then greet
    monkeypatch.setenv("CALLER_DISCLOSURE", "verify")
    _, report, _ = run(capsys, *URL_ARGS)
    assert report["prompt"]["disclosure"] == "verify"
    assert "\n".join(report["prompt"]["system_prompt_lines"]) + "\n" == texts["verify"]
    monkeypatch.delenv("CALLER_DISCLOSURE")
    _, report, _ = run(capsys, *URL_ARGS)
    assert report["prompt"]["disclosure"] == "greet"


def test_web_apps_are_told_what_to_pass(capsys):
    # Given the printed configuration
    _, report, _ = run(capsys, *URL_ARGS)
    web = report["call_kinds"]["web_widget"]
    # Then a web app gets every variable the agent uses, as strings, with the new-caller values client-data
    # itself would answer: a web call without them fails with "Missing required dynamic variables"
    passed = web["dynamic_variables"]
    assert list(passed) == list(VARIABLES)
    assert all(isinstance(value, str) for value in passed.values())
    assert passed == variables(None, Remembered(), load_settings())
    assert passed["memory_context"] == ""
    assert passed["greeting"]
    assert "user_id" in web["user_id"]
    assert "ELEVENLABS_API_KEY" in web["stack_needs"]
    assert "AgentPhoneNumbers: set it to your numbers" in report["call_kinds"]["outbound_twilio_and_batch"]


def test_conversation_override_switches_are_included_only_when_asked(capsys):
    _, report, _ = run(capsys, *URL_ARGS, "--conversation-override", "first_message,prompt")
    overrides = report["agent_patch"]["platform_settings"]["overrides"]
    assert overrides["conversation_config_override"] == {"agent": {"first_message": True, "prompt": {"prompt": True}}}


def test_reads_the_urls_and_settings_from_the_stack(capsys):
    from moto import mock_aws

    template = {
        "Parameters": {
            "CallerDisclosure": {"Type": "String", "Default": "greet"},
            "AgentPhoneNumbers": {"Type": "String", "Default": ""},
        },
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

        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(
            StackName="agentic-memory",
            TemplateBody=json.dumps(template),
            Parameters=[
                {"ParameterKey": "CallerDisclosure", "ParameterValue": "verify"},
                {"ParameterKey": "AgentPhoneNumbers", "ParameterValue": "+15550100001,+15550100002"},
            ],
        )
        code, report, _ = run(capsys, "--stack", "agentic-memory", "--region", "eu-west-1")
        assert code == 0
        assert report["urls"] == URLS
        assert report["tool"]["tool_config"]["api_schema"]["url"] == URLS["retrieve"]
        # the stack's CallerDisclosure picks the prompt lines; its own numbers are shown for outbound calls
        assert report["prompt"]["disclosure"] == "verify"
        assert "+15550100001, +15550100002" in report["call_kinds"]["outbound_twilio_and_batch"]
        code, report, _ = run(capsys, "--stack", "agentic-memory", "--region", "eu-west-1", "--disclosure", "greet")
        assert report["prompt"]["disclosure"] == "greet"

        cloudformation.create_stack(StackName="bare", TemplateBody=json.dumps({**template, "Parameters": {}}))
        code, report, _ = run(capsys, "--stack", "bare", "--region", "eu-west-1")
        assert code == 0
        assert "NOT SET on this stack" in report["call_kinds"]["outbound_twilio_and_batch"]

        cloudformation.create_stack(StackName="other", TemplateBody=json.dumps({"Resources": template["Resources"]}))
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

    # The tool: POST to the retrieve URL, secret header, identity bound to system variables only
    tool = api.only("POST", "/v1/convai/tools")["body"]["tool_config"]
    assert tool["type"] == "webhook"
    assert tool["response_timeout_secs"] == 5
    assert tool["api_schema"]["url"] == URLS["retrieve"]
    assert tool["api_schema"]["method"] == "POST"
    assert tool["api_schema"]["request_headers"] == {"X-Workspace-Key": {"secret_id": secret_id}}
    properties = tool["api_schema"]["request_body_schema"]["properties"]
    assert properties["caller_id"] == {"type": "string", "dynamic_variable": "system__caller_id"}
    assert properties["called_number"] == {"type": "string", "dynamic_variable": "system__called_number"}
    bound = {prop["dynamic_variable"] for prop in properties.values() if "dynamic_variable" in prop}
    assert bound == {f"system__{name}" for name in IDENTITY_PARAMETERS}

    # The agent: read first, then patched without losing what it had
    assert api.requests[-2]["method"] == "GET"
    assert api.requests[-2]["path"] == f"/v1/convai/agents/{AGENT_ID}"
    patch = api.only("PATCH", f"/v1/convai/agents/{AGENT_ID}")["body"]
    agent = patch["conversation_config"]["agent"]
    assert agent["first_message"] == "{{greeting}}"
    assert agent["prompt"]["prompt"].startswith(ORIGINAL_PROMPT)
    assert agent["prompt"]["prompt"].endswith(elevenlabs_agent.prompt_snippet("recall_memories", "greet"))
    assert agent["prompt"]["tool_ids"] == ["tool_existing", "tool_001"]
    assert report["applied"]["agent"]["prompt_lines"] == "appended"
    assert set(agent["dynamic_variables"]["dynamic_variable_placeholders"]) == set(VARIABLES)
    platform = patch["platform_settings"]
    assert platform["overrides"]["enable_conversation_initiation_client_data_from_webhook"] is True
    assert platform["overrides"]["conversation_config_override"] == {"agent": {"language": True}}
    assert set(platform["data_collection"]) == {
        "order_number",
        "caller_name",
        "follow_up",
        "follow_up_done",
        "preferences",
    }
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
    assert report["applied"]["agent"]["prompt_lines"] == "replaced"


def test_apply_switches_the_prompt_lines_to_verify_and_keeps_the_rest(fake, capsys, monkeypatch):
    api, base_url = fake
    monkeypatch.setenv("ELEVENLABS_WORKSPACE_KEY", WORKSPACE_SECRET)
    args = [*URL_ARGS, "--apply", "--agent-id", AGENT_ID, "--api-key", API_KEY, "--base-url", base_url]
    # Given an agent set up in greet mode, whose owner later added a line after our block
    assert run(capsys, *args, "--disclosure", "greet")[0] == 0
    agent_prompt = api.agent["conversation_config"]["agent"]["prompt"]
    agent_prompt["prompt"] += "\nAlways end by thanking the caller."

    # When it is applied again in verify mode
    code, report, _ = run(capsys, *args, "--disclosure", "verify")

    # Then our block is replaced in place: verify lines once, the owner's lines before and after kept
    assert code == 0
    assert report["applied"]["agent"]["prompt_lines"] == "replaced"
    text = api.agent["conversation_config"]["agent"]["prompt"]["prompt"]
    assert text == (
        f"{ORIGINAL_PROMPT}\n\n{elevenlabs_agent.prompt_snippet('recall_memories', 'verify')}"
        "\nAlways end by thanking the caller."
    )
    assert text.count(elevenlabs_agent.SNIPPET_START) == 1
    assert "spoofed" in text


def test_apply_leaves_a_memory_block_written_by_hand(fake, capsys):
    api, base_url = fake
    api.secrets["sec_given"] = "agentic-memory-workspace-key"
    own = f"{ORIGINAL_PROMPT}\nWhat we know: {{{{memory_context}}}}"
    api.agent["conversation_config"]["agent"]["prompt"]["prompt"] = own
    code, report, _ = run(
        capsys, *URL_ARGS, "--apply", "--agent-id", AGENT_ID, "--api-key", API_KEY, "--base-url", base_url
    )
    assert code == 0
    assert api.agent["conversation_config"]["agent"]["prompt"]["prompt"] == own
    assert report["applied"]["agent"]["prompt_lines"] == "kept"
    assert "--print-prompt" in report["applied"]["agent"]["note"]


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


def test_the_simulator_sends_the_tool_body_this_script_configures():
    # scripts/simulate_call.py plays the tool as ElevenLabs fills this schema; the two must not drift apart
    import simulate_call

    assert simulate_call.TOOL_BINDINGS == elevenlabs_agent.SYSTEM_BINDINGS
