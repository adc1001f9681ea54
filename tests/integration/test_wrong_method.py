"""A request with the wrong method (an ElevenLabs server tool left on its default GET) gets a 405 JSON
error that says to use POST, from every endpoint, before anything else is looked at."""

from __future__ import annotations

import json

import pytest

from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import WORKSPACE_KEY, LambdaContext, http_event, post_call_body, signed_headers

HANDLERS = {"/client-data": client_data, "/retrieve": retrieve, "/post-call": post_call}


def with_method(event: dict, method: str) -> dict:
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"ANY {event['rawPath'].removeprefix('/Prod')}"
    return event


@pytest.mark.parametrize("route", sorted(HANDLERS))
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "get"])
def test_a_wrong_method_is_a_405_that_says_post(route, method, mem0_server, lambda_invocations):
    # Given a request that would otherwise be accepted (right key, right signature, a valid body)
    body = post_call_body() if route == "/post-call" else b'{"caller_id": "+16129782029"}'
    headers = signed_headers(body) if route == "/post-call" else {"x-workspace-key": WORKSPACE_KEY}
    event = with_method(http_event(route, body, headers), method)
    # When it arrives with another method than POST
    response = HANDLERS[route](event, LambdaContext())
    # Then the answer is 405 with a JSON error naming POST, an Allow header, and nothing was done
    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "POST"
    assert response["headers"]["content-type"] == "application/json"
    error = json.loads(response["body"])
    assert error["error"] == "method_not_allowed"
    assert f"/Prod{route} must use POST, not {method.upper()}" in error["message"]
    assert mem0_server.requests == []
    assert list(lambda_invocations) == []


@pytest.mark.parametrize("route", sorted(HANDLERS))
def test_the_method_is_checked_before_the_key_or_signature(route):
    # A GET without credentials still learns what is wrong first: the method (ElevenLabs' tool form
    # sends its headers with any method, so the key is rarely the problem then).
    response = HANDLERS[route](with_method(http_event(route, None), "GET"), LambdaContext())
    assert response["statusCode"] == 405


def test_post_and_an_event_without_a_method_are_served_as_before(mem0_server):
    headers = {"x-workspace-key": WORKSPACE_KEY}
    posted = client_data(http_event("/client-data", b'{"caller_id": "+16129782029"}', headers), LambdaContext())
    assert posted["statusCode"] == 200
    event = http_event("/client-data", b'{"caller_id": "+16129782029"}', headers)
    del event["requestContext"]["http"]["method"]  # a hand-made test event: taken as POST
    assert client_data(event, LambdaContext())["statusCode"] == 200
