"""API Gateway event parsing and the error mapping."""

from __future__ import annotations

import base64
import json

import pytest

from agentic_memory.edge.http import Request, error_response, parse_json_object, parse_request, respond
from agentic_memory.errors import AppError, BadRequest, PayloadTooLarge, Unauthorized


def test_headers_are_lower_cased_and_body_kept_as_raw_bytes():
    request = parse_request({"headers": {"X-Workspace-Key": "k"}, "body": '{"a":1}'}, max_body_bytes=100)
    assert request.header("x-workspace-key") == "k"
    assert request.header("X-WORKSPACE-KEY") == "k"
    assert request.body == b'{"a":1}'


def test_base64_bodies_are_decoded():
    raw = b'{"caller_id": "+1"}'
    event = {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    assert parse_request(event, max_body_bytes=100).body == raw


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"body": "!!!not base64", "isBase64Encoded": True}, BadRequest),
        ({"body": 12}, BadRequest),
        ("not an event", BadRequest),
        ({"body": "x" * 101}, PayloadTooLarge),
        ({"body": base64.b64encode(b"x" * 200).decode(), "isBase64Encoded": True}, PayloadTooLarge),
    ],
)
def test_bad_events(event, error):
    with pytest.raises(error):
        parse_request(event, max_body_bytes=100)


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"nope", b"[]", b"\xff\xfe", b'{"a": ' + b"1" * 5000 + b"}", b"[" * 100_000]
)
def test_json_bodies_that_are_not_objects_are_400(body):
    with pytest.raises(BadRequest):
        parse_json_object(Request(headers={}, body=body, request_id=""))


def test_errors_map_to_status_and_json_in_one_place():
    response = error_response(Unauthorized("no"))
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == {"error": "unauthorized", "message": "no"}


def test_unexpected_exceptions_become_a_bare_500_without_details():
    def boom():
        raise RuntimeError("secret detail")

    response = respond(boom)
    assert response["statusCode"] == 500
    assert "secret detail" not in response["body"]
    assert json.loads(response["body"])["error"] == AppError.code
