"""GET / on each API (edge/health.py): 200 with the service and the release's version, without a key, and
without touching Mem0, DynamoDB, Lambda or the secret store."""

from __future__ import annotations

import json

import pytest

from agentic_memory import __version__
from agentic_memory.stores import secret_store
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import HMAC_KEY, WORKSPACE_KEY, LambdaContext, http_event

HANDLERS = {"client-data": client_data, "retrieve": retrieve, "post-call": post_call}


def health_event() -> dict:
    """GET / as API Gateway sends it for the route ``GET /`` of the Prod stage, with no header of ours."""
    event = http_event("/", None)
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /"
    event["requestContext"]["http"]["method"] = "GET"
    return event


@pytest.mark.parametrize("service", sorted(HANDLERS))
def test_get_slash_answers_ok_with_service_and_version_without_a_key(
    service, mem0_server, lambda_invocations, monkeypatch
):
    # Given a secret store that must not be asked (an ARN is set, and any read would fail the test)
    monkeypatch.setenv("ELEVENLABS_WORKSPACE_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:x")
    monkeypatch.setattr(secret_store, "read_secret", lambda *a: pytest.fail("the health answer read a secret"))
    # When GET / arrives with no key or signature
    response = HANDLERS[service](health_event(), LambdaContext())
    # Then 200, a small JSON body naming the service and the version, nothing else, and no outside call
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert json.loads(response["body"]) == {"status": "ok", "service": service, "version": __version__}
    assert WORKSPACE_KEY not in response["body"]
    assert HMAC_KEY not in response["body"]
    assert mem0_server.requests == []
    assert list(lambda_invocations) == []


@pytest.mark.parametrize("service", sorted(HANDLERS))
def test_other_requests_are_not_taken_for_health_checks(service):
    # A POST to the endpoint's own route without credentials is still refused, and a GET there still gets 405.
    route = f"/{service}"
    assert HANDLERS[service](http_event(route, b"{}"), LambdaContext())["statusCode"] == 401
    event = http_event(route, None)
    event["requestContext"]["http"]["method"] = "GET"
    event["routeKey"] = event["requestContext"]["routeKey"] = f"ANY {route}"
    assert HANDLERS[service](event, LambdaContext())["statusCode"] == 405
