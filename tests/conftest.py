"""Fixtures for every suite: a clean environment per test, the local Mem0 server, moto's DynamoDB,
and a capture of the post-call function's self-invocations."""

from __future__ import annotations

import os
import tempfile

# mem0 reads these when first imported; set them before anything can import it.
os.environ["MEM0_DIR"] = tempfile.mkdtemp(prefix="mem0-test-")
os.environ["MEM0_TELEMETRY"] = "false"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AgenticMemory")
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
    os.environ[name] = "testing"

import json  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from agentic_memory.config import get_settings  # noqa: E402
from agentic_memory.edge import retrieve  # noqa: E402
from agentic_memory.observability import metrics  # noqa: E402
from agentic_memory.stores import (  # noqa: E402
    aws_clients,
    idempotency,
    lambda_invoke,
    mem0,
    pace_ledger,
    profile_reader,
    secret_store,
)
from agentic_memory.stores import profile_table as profile_store  # noqa: E402
from standins.sam_template import Template  # noqa: E402
from tests.support import HMAC_KEY, WORKSPACE_KEY  # noqa: E402

# The DynamoDB tables as template.yaml defines them (keys, billing, TTL), by the variable naming each.
TABLES = Template.read().tables()

MANAGED = (
    "MEM0_API_KEY",
    "MEM0_HOST",
    "MEM0_SEARCH_LIMIT",
    "MEM0_TIMEOUT",
    "MEM0_INTERACTIVE_TIMEOUT",
    "ELEVENLABS_WORKSPACE_KEY",
    "ELEVENLABS_HMAC_KEY",
    "IDEMPOTENCY_TABLE",
    "CONVERSATION_OVERRIDE",
    "OVERRIDE_PROMPT_TEMPLATE",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "ELEVENLABS_API_KEY",
    "ELEVENLABS_API_BASE",
    "RECONCILE_LOOKBACK_MINUTES",
    "RECONCILE_AGENT_IDS",
    "PROFILE_TABLE",
    "MEMORY_SCOPE",
    "AGENT_PHONE_NUMBERS",
    "MEMORY_RETENTION_DAYS",
    "AUDIT_TABLE",
    "AUDIT_RETENTION_DAYS",
    "MEMORY_AGENT_IDS",
    # Mem0's quota and the wait queue (issue 23)
    "MEM0_ADD_LIMIT",
    "MEM0_REQUEST_LIMIT",
    "MEM0_PACE_SHARE",
    "MEM0_THROTTLE_MAX_WAIT_HOURS",
    "DEFER_QUEUE_URL",
    "AWS_ENDPOINT_URL_SQS",
    # the secret store (issue 24): no test reads Secrets Manager unless it sets an ARN itself
    "MEM0_API_KEY_SECRET_ARN",
    "ELEVENLABS_WORKSPACE_KEY_SECRET_ARN",
    "ELEVENLABS_HMAC_KEY_SECRET_ARN",
    "ELEVENLABS_API_KEY_SECRET_ARN",
    "SECRETS_REFRESH_SECONDS",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
)


def _reset_process_state(*, aws: bool = True) -> None:
    get_settings.cache_clear()
    # Metrics counted by code a test ran without a handler (a job run in-process) would be flushed by the next
    # test's first invocation and read as that test's: start every test with none.
    metrics.clear_metrics()
    retrieve.reset()
    mem0.reset_clients()
    idempotency.reset()
    profile_reader.reset()
    profile_store.reset()
    pace_ledger.reset()
    secret_store.reset()
    if aws:
        aws_clients.reset_clients()
        lambda_invoke.reset()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test starts with the secrets configured, no cached settings or clients, and no view of a
    `make dev` that may be running on this machine (scripts find one under stackfind.LOCAL_DIR)."""
    import stackfind

    for name in MANAGED:
        monkeypatch.delenv(name, raising=False)
    # Scripts run in-process set these for themselves; record them as absent so they are removed after.
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_LOG_LEVEL"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("ELEVENLABS_WORKSPACE_KEY", WORKSPACE_KEY)
    monkeypatch.setenv("ELEVENLABS_HMAC_KEY", HMAC_KEY)
    # Every agent has memory unless a test says otherwise (tests/unit/test_agents.py covers the opt-in and
    # the unset default, under which no agent has memory).
    monkeypatch.setenv("MEMORY_AGENT_IDS", "*")
    monkeypatch.setattr(stackfind, "LOCAL_DIR", tmp_path_factory.getbasetemp() / "no-make-dev")
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture
def mem0_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The local Mem0-compatible server, with MEM0_HOST and MEM0_API_KEY pointing at it."""
    from standins.mem0 import running_mem0_server

    with running_mem0_server(api_key="test-mem0-key") as server:
        monkeypatch.setenv("MEM0_HOST", server.url)
        monkeypatch.setenv("MEM0_API_KEY", "test-mem0-key")
        _reset_process_state(aws=False)
        yield server


@pytest.fixture
def dynamodb_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's DynamoDB with the idempotency table as the template defines it."""
    from moto import mock_aws

    with mock_aws():
        import boto3

        TABLES["IDEMPOTENCY_TABLE"].create(boto3.client("dynamodb"), "idempotency")
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        _reset_process_state(aws=False)
        yield "idempotency"


@pytest.fixture
def elevenlabs_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The local fake of ElevenLabs' conversations API (scripts/standins/elevenlabs.py), with
    ELEVENLABS_API_KEY and ELEVENLABS_API_BASE pointing at it; ``.app`` holds conversations and knobs."""
    from agentic_memory.stores import conversations_api as conversations
    from standins.elevenlabs import running_elevenlabs_api

    with running_elevenlabs_api(api_key="test-elevenlabs-key") as server:
        monkeypatch.setenv("ELEVENLABS_API_KEY", "test-elevenlabs-key")
        monkeypatch.setenv("ELEVENLABS_API_BASE", server.url)
        get_settings.cache_clear()
        yield server
        conversations.reset_client()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's DynamoDB as a local server: client_data's profile read is signed httpx, which only a server
    sees (``mock_aws`` patches botocore alone)."""
    from standins.dynamodb import running_dynamodb

    with running_dynamodb() as server:
        yield server.url


@pytest.fixture
def profile_table(monkeypatch: pytest.MonkeyPatch, moto_server: str) -> Iterator[str]:
    """The caller profile table (as the template defines it) and the idempotency table, fresh for each test,
    in ``moto_server``; ``AWS_ENDPOINT_URL_DYNAMODB`` points every client there. Use it instead of
    ``dynamodb_table`` (both tables are there, as in the deployed stack)."""
    import uuid

    import boto3

    suffix = uuid.uuid4().hex[:10]
    names = {"profile": f"profiles-{suffix}", "idempotency": f"idempotency-{suffix}"}
    client = boto3.client("dynamodb", endpoint_url=moto_server)
    TABLES["PROFILE_TABLE"].create(client, names["profile"])
    TABLES["IDEMPOTENCY_TABLE"].create(client, names["idempotency"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server)
    monkeypatch.setenv("PROFILE_TABLE", names["profile"])
    monkeypatch.setenv("IDEMPOTENCY_TABLE", names["idempotency"])
    _reset_process_state()
    yield names["profile"]
    _reset_process_state()
    for name in names.values():
        client.delete_table(TableName=name)


@pytest.fixture
def audit_table(monkeypatch: pytest.MonkeyPatch, moto_server: str, profile_table: str) -> Iterator[str]:
    """The audit trail's table (as the template defines it), fresh for each test, beside ``profile_table``'s."""
    import uuid

    import boto3

    name = f"audit-{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", endpoint_url=moto_server)
    TABLES["AUDIT_TABLE"].create(client, name)
    monkeypatch.setenv("AUDIT_TABLE", name)
    _reset_process_state()
    yield name
    _reset_process_state()
    client.delete_table(TableName=name)


class Invocations(list):
    """Self-invocations the post-call function made: (function name, invocation type, job)."""

    fail_with: Exception | None = None


@pytest.fixture
def lambda_invocations(monkeypatch: pytest.MonkeyPatch) -> Iterator[Invocations]:
    """Captures the self-invoke on both of its paths (``lambda_invoke.invoke_async``), so the whole path runs but
    nothing leaves the machine: the signed httpx request (credentials in the environment, as on Lambda and
    in these tests) at httpx's transport, after httpx-auth has signed it; and boto3's ``lambda.invoke`` (no
    credentials in the environment) at botocore's ``before-call`` hook. ``fail_with`` is raised from
    either capture point, as a failing connection would be."""
    import re

    import httpx
    from botocore.awsrequest import AWSResponse

    calls = Invocations()
    client = aws_clients.client("lambda")
    invoke_path = re.compile(r"/2015-03-31/functions/[^/]+/invocations")
    send = httpx.HTTPTransport.handle_request

    def capture(params: dict[str, Any], **_: Any) -> Any:
        if calls.fail_with is not None:
            raise calls.fail_with
        body = params["body"]
        payload = body.read() if hasattr(body, "read") else body
        calls.append((params["url_path"], params["headers"].get("X-Amz-Invocation-Type"), json.loads(payload)))
        return AWSResponse(params["url_path"], 202, {}, None), {"StatusCode": 202}

    def capture_signed(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not invoke_path.fullmatch(request.url.path):
            return send(transport, request)  # Mem0, DynamoDB, ElevenLabs: as they are
        if calls.fail_with is not None:
            raise calls.fail_with
        assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        calls.append((request.url.path, request.headers.get("X-Amz-Invocation-Type"), json.loads(request.read())))
        return httpx.Response(202, request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", capture_signed)
    client.meta.events.register("before-call.lambda.Invoke", capture)
    yield calls
    client.meta.events.unregister("before-call.lambda.Invoke", capture)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The tests run in random order (pytest-randomly, in requirements.txt). A run that failed ends by naming
    its seed, whatever the verbosity (``-q`` hides the header that names it), so the same order can be run
    again; ``-p no:randomly`` runs them in file order."""
    seed = getattr(config.option, "randomly_seed", None)
    if exitstatus != 0 and isinstance(seed, int) and getattr(config.option, "randomly_reorganize", False):
        terminalreporter.write_line(f"tests ran in random order: the same order again with --randomly-seed={seed}")
