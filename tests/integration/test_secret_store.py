"""Secrets from AWS Secrets Manager (stores/secret_store.py): the handlers read their keys from the store
named by the ARN in their environment, keep them, pick up a rotated value without a redeploy, refuse the
stack's placeholder, and fail closed when the store cannot be read.

The store is moto's Secrets Manager served over HTTP (the session's moto server, standins/dynamodb.py's
ThreadedMotoServer, which serves every AWS API moto has), reached by the same signed httpx request the
functions make on Lambda (``GetSecretValue``, AWS Secrets Manager API Reference), or by boto3 when the
environment holds no credentials.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from agentic_memory.edge import auth
from agentic_memory.stores import mem0, secret_store
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from tests.support import CALLER, LambdaContext, http_event, post_call_body, signed_headers

STORE_WORKSPACE_KEY = "store-workspace-key-0001"
STORE_HMAC_KEY = "store-hmac-secret-0001"
PLACEHOLDER = "placeholder: not set yet; run scripts/stack_secret.py --stack NAME set hmac"


class Store:
    """The moto server's Secrets Manager, with what tests need: make a secret, change it, count the reads."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = boto3.client("secretsmanager", endpoint_url=url)
        self.reads: list[str] = []
        self._monkeypatch = monkeypatch
        real = secret_store.read_secret

        def counted(arn: str, settings: Any) -> str:
            self.reads.append(arn)
            return real(arn, settings)

        monkeypatch.setattr(secret_store, "read_secret", counted)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)

    def secret(self, variable: str, value: str) -> str:
        """A new secret holding ``value``, its ARN in ``<variable>_SECRET_ARN`` (as template.yaml sets it)."""
        arn = self.client.create_secret(Name=f"test/{uuid.uuid4().hex}", SecretString=value)["ARN"]
        self._monkeypatch.setenv(f"{variable}_SECRET_ARN", arn)
        return arn

    def put(self, arn: str, value: str) -> None:
        self.client.put_secret_value(SecretId=arn, SecretString=value)


@pytest.fixture
def store(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(auth, "_warned", set())  # each test sees its own once-per-container log lines
    return Store(moto_server, monkeypatch)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves secret_store's monotonic clock forward by the given seconds."""
    import time

    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(secret_store.time, "monotonic", lambda: real() + offset[0])

    def forward(seconds: float) -> None:
        offset[0] += seconds

    return forward


def initiation(key: str) -> dict:
    return http_event("/client-data", {"caller_id": CALLER, "agent_id": "agent_1"}, {"x-workspace-key": key})


def test_the_workspace_key_comes_from_the_store_named_by_its_arn_not_the_environment(store):
    # Given a function whose environment names a secret (and, left over, another plain key)
    store.secret("ELEVENLABS_WORKSPACE_KEY", STORE_WORKSPACE_KEY)
    # When requests arrive with each key, Then only the store's opens the endpoint
    assert client_data(initiation(STORE_WORKSPACE_KEY), LambdaContext())["statusCode"] == 200
    assert client_data(initiation("test-workspace-key"), LambdaContext())["statusCode"] == 401
    assert len(store.reads) == 1  # read once, kept: the refused request did not read again (within 30 s)


def test_values_are_kept_and_read_again_after_the_refresh_period(store, clock, monkeypatch):
    monkeypatch.setenv("SECRETS_REFRESH_SECONDS", "60")
    arn = store.secret("ELEVENLABS_WORKSPACE_KEY", STORE_WORKSPACE_KEY)
    assert secret_store.current().workspace_keys == (STORE_WORKSPACE_KEY,)
    assert secret_store.current().workspace_keys == (STORE_WORKSPACE_KEY,)
    assert store.reads == [arn]
    # Given the value changed in the store, When less than the period has passed, Then the kept one serves
    store.put(arn, "store-workspace-key-0002")
    clock(30)
    assert secret_store.current().workspace_keys == (STORE_WORKSPACE_KEY,)
    # When the period is over, Then the store is read again and the new value serves
    clock(31)
    assert secret_store.current().workspace_keys == ("store-workspace-key-0002",)
    assert store.reads == [arn, arn]


def test_a_rotated_workspace_key_opens_the_endpoint_from_its_first_request(store, clock):
    arn = store.secret("ELEVENLABS_WORKSPACE_KEY", STORE_WORKSPACE_KEY)
    assert client_data(initiation(STORE_WORKSPACE_KEY), LambdaContext())["statusCode"] == 200
    # Given the key rotated in the store (scripts/stack_secret.py) and ElevenLabs already sending the new one
    store.put(arn, "store-workspace-key-0002")
    clock(31)  # the last read is older than the 30 s floor between reads on a failed check
    # When its first request arrives, Then the failed check reads the store again and the request passes
    assert client_data(initiation("store-workspace-key-0002"), LambdaContext())["statusCode"] == 200
    assert client_data(initiation(STORE_WORKSPACE_KEY), LambdaContext())["statusCode"] == 401
    # And a stream of wrong keys reads the store at most once per 30 s
    for _ in range(5):
        assert client_data(initiation("wrong-key-wrong-key-0"), LambdaContext())["statusCode"] == 401
    assert len(store.reads) == 2


def test_the_stacks_placeholder_refuses_every_webhook_until_the_secret_is_set(store, clock, caplog, lambda_invocations):
    # Given a stack deployed without the webhook's secret (template.yaml's HmacKeySecret placeholder)
    arn = store.secret("ELEVENLABS_HMAC_KEY", PLACEHOLDER)
    body = post_call_body()
    caplog.set_level(logging.WARNING)
    # When ElevenLabs posts, signed even with the placeholder itself, Then 401 and one line that says how to set it
    for key in (PLACEHOLDER, STORE_HMAC_KEY):
        response = post_call(http_event("/post-call", body, signed_headers(body, key=key)), LambdaContext())
        assert response["statusCode"] == 401
    lines = [r.getMessage() for r in caplog.records if "placeholder" in r.getMessage()]
    assert len(lines) == 1
    assert "ELEVENLABS_HMAC_KEY" in lines[0]
    assert "stack_secret.py --stack NAME set hmac" in lines[0]
    # When the operator sets the webhook's secret, Then the next signed delivery is accepted: no deploy
    store.put(arn, STORE_HMAC_KEY)
    clock(31)
    response = post_call(http_event("/post-call", body, signed_headers(body, key=STORE_HMAC_KEY)), LambdaContext())
    assert response["statusCode"] == 200
    assert len(lambda_invocations) == 1


def test_an_unreachable_store_fails_closed_until_it_answers_and_then_keeps_the_value(store, clock, caplog, monkeypatch):
    arn = store.secret("ELEVENLABS_WORKSPACE_KEY", STORE_WORKSPACE_KEY)
    good = str(store.client.meta.endpoint_url)
    # Given a store that cannot be reached (nothing listens on port 9)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")
    caplog.set_level(logging.ERROR)
    # When a request arrives, Then it is refused (never let in without a key), and the log says why
    assert client_data(initiation(STORE_WORKSPACE_KEY), LambdaContext())["statusCode"] == 401
    assert any("could not read ELEVENLABS_WORKSPACE_KEY from Secrets Manager" in r.getMessage() for r in caplog.records)
    assert all(STORE_WORKSPACE_KEY not in r.getMessage() for r in caplog.records)
    # When the store answers again, Then the key is read (after the retry pause) and the endpoint opens
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", good)
    from agentic_memory.config import get_settings

    get_settings.cache_clear()
    secret_store.reset()
    assert client_data(initiation(STORE_WORKSPACE_KEY), LambdaContext())["statusCode"] == 200
    # And when the store fails after that, the value read before keeps serving
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")
    get_settings.cache_clear()
    clock(301)
    assert client_data(initiation(STORE_WORKSPACE_KEY), LambdaContext())["statusCode"] == 200
    assert store.reads.count(arn) >= 3


def test_without_credentials_in_the_environment_boto3_reads_the_secret(store, monkeypatch, tmp_path):
    # Given no key pair in the environment (SnapStart serves credentials from a container endpoint; here a
    # shared credentials file stands in for it), When the secret is read, Then boto3 reads it
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    store.secret("ELEVENLABS_HMAC_KEY", STORE_HMAC_KEY)
    assert secret_store.current().aws_credentials is None
    assert secret_store.current().hmac_keys == (STORE_HMAC_KEY,)


def test_a_rotated_mem0_key_builds_a_new_mem0_client(store, clock, mem0_server, monkeypatch):
    # Given the Mem0 key in the store (the Mem0 stand-in accepts "test-mem0-key")
    monkeypatch.delenv("MEM0_API_KEY")
    arn = store.secret("MEM0_API_KEY", "test-mem0-key")
    first = mem0.get_store("worker")
    assert mem0.get_store("worker") is first
    # When the key is rotated in the store and read again, Then the next use builds a client with the new key
    store.put(arn, "test-mem0-key-rotated")
    clock(301)
    assert secret_store.current().mem0_api_key == "test-mem0-key-rotated"
    built: list[str | None] = []

    def build(settings: Any, timeout: float) -> mem0.MemoryStore:
        built.append(settings.mem0_api_key)
        return mem0.MemoryStore(client=None)

    monkeypatch.setattr(mem0, "_build", build)
    assert mem0.get_store("worker") is not first
    assert built == ["test-mem0-key-rotated"]
    assert first._client.client.is_closed  # the old client's connections are let go
    mem0.get_store("worker")
    assert built == ["test-mem0-key-rotated"]  # built once, then reused
