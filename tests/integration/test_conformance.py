"""Our wire formats against ElevenLabs' own Python SDK (a development dependency only)."""

from __future__ import annotations

import json
import time

import pytest
from elevenlabs.core.api_error import ApiError
from elevenlabs.types.conversation_initiation_client_data_request_input import (
    ConversationInitiationClientDataRequestInput,
)
from elevenlabs.webhooks_custom import WebhooksClient

from agentic_memory.edge.auth import sign, verify_signature
from agentic_memory.errors import Unauthorized
from client_data.handler import lambda_handler as client_data
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body

SECRET = "whsec_conformance"


def sdk_verify(body: bytes, header: str) -> dict:
    return WebhooksClient(client_wrapper=None).construct_event(body.decode(), header, SECRET)


def test_our_signature_passes_the_sdks_verifier_and_the_sdks_passes_ours():
    body = post_call_body()
    header = sign(body, SECRET, int(time.time()))
    assert sdk_verify(body, header)["type"] == "post_call_transcription"
    verify_signature(header, body, (SECRET,), tolerance_seconds=1800)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, header: (body.replace(b"Maria", b"Mario"), header),
        lambda body, header: (body, header.replace("v0=", "v0=0", 1)[:-1]),
        lambda body, header: (body, sign(body, "another-secret", int(time.time()))),
        lambda body, header: (body, sign(body, SECRET, int(time.time()) - 3600)),
    ],
)
def test_tampered_payloads_fail_both_verifiers(tamper):
    body = post_call_body()
    body, header = tamper(body, sign(body, SECRET, int(time.time())))
    with pytest.raises(ApiError):
        sdk_verify(body, header)
    with pytest.raises(Unauthorized):
        verify_signature(header, body, (SECRET,), tolerance_seconds=1800)


@pytest.mark.parametrize("override", ["", "first_message"])
def test_client_data_response_validates_against_the_sdk_model(mem0_server, monkeypatch, override):
    from agentic_memory.config import get_settings

    monkeypatch.setenv("CONVERSATION_OVERRIDE", override)
    get_settings.cache_clear()
    event = http_event("/client-data", {"caller_id": CALLER}, {"x-workspace-key": WORKSPACE_KEY})
    body = body_of(client_data(event, LambdaContext()))
    assert body.pop("type") == "conversation_initiation_client_data"
    model = ConversationInitiationClientDataRequestInput.model_validate(body)
    assert model.dynamic_variables == body["dynamic_variables"]
    if override:
        assert model.conversation_config_override.agent.first_message == body["dynamic_variables"]["greeting"]
    # Every field we send is one the SDK knows (nothing lands in pydantic's "extra").
    assert not (model.model_extra)
    assert not ({})
    assert json.loads(model.model_dump_json(exclude_none=True))["dynamic_variables"]["greeting"]
