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

from agentic_memory import aws, idempotency, memory  # noqa: E402
from agentic_memory.config import get_settings  # noqa: E402
from tests.support import HMAC_KEY, WORKSPACE_KEY  # noqa: E402

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
)


def _reset_process_state(*, aws_clients: bool = True) -> None:
    get_settings.cache_clear()
    memory.reset_clients()
    idempotency.reset()
    if aws_clients:
        aws.reset_clients()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with the secrets configured and no cached settings or clients."""
    for name in MANAGED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ELEVENLABS_WORKSPACE_KEY", WORKSPACE_KEY)
    monkeypatch.setenv("ELEVENLABS_HMAC_KEY", HMAC_KEY)
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture
def mem0_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The local Mem0-compatible server, with MEM0_HOST and MEM0_API_KEY pointing at it."""
    from devserver.mem0_server import running_mem0_server

    with running_mem0_server(api_key="test-mem0-key") as server:
        monkeypatch.setenv("MEM0_HOST", server.url)
        monkeypatch.setenv("MEM0_API_KEY", "test-mem0-key")
        _reset_process_state(aws_clients=False)
        yield server


@pytest.fixture
def dynamodb_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's DynamoDB with the idempotency table as the template defines it."""
    from moto import mock_aws

    with mock_aws():
        import boto3

        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        _reset_process_state(aws_clients=False)
        yield "idempotency"


class Invocations(list):
    """Self-invocations the post-call function made: (function name, invocation type, job)."""

    fail_with: Exception | None = None


@pytest.fixture
def lambda_invocations() -> Iterator[Invocations]:
    """Captures ``lambda.invoke`` on the real boto3 client at botocore's ``before-call`` hook, so the
    whole boto3 path runs but nothing leaves the machine."""
    from botocore.awsrequest import AWSResponse

    calls = Invocations()
    client = aws.client("lambda")

    def capture(params: dict[str, Any], **_: Any) -> Any:
        if calls.fail_with is not None:
            raise calls.fail_with
        body = params["body"]
        payload = body.read() if hasattr(body, "read") else body
        calls.append((params["url_path"], params["headers"].get("X-Amz-Invocation-Type"), json.loads(payload)))
        return AWSResponse(params["url_path"], 202, {}, None), {"StatusCode": 202}

    client.meta.events.register("before-call.lambda.Invoke", capture)
    yield calls
    client.meta.events.unregister("before-call.lambda.Invoke", capture)
