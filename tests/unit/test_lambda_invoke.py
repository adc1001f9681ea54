"""The post-call acknowledgement's self-invoke (agentic_memory.stores.lambda_invoke): a SigV4-signed Lambda
``Invoke`` over httpx, its answers and retries, and the boto3 path where the environment holds no credentials."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest

from agentic_memory.config import Settings, get_settings, load_settings
from agentic_memory.stores import lambda_invoke as aws

FUNCTION = "agentic-memory-post-call"
PAYLOAD = json.dumps({"kind": "post_call_job", "conversation_id": "conv_1"}).encode()


def settings_with(**fields) -> Settings:
    base = load_settings()
    return Settings(**{name: getattr(base, name) for name in Settings.__dataclass_fields__} | fields)


def invoker_answering(*statuses: int, sent: list[httpx.Request] | None = None) -> aws.SignedInvoker:
    """A signed invoker whose transport answers ``statuses`` in turn (an int), or raises (``None``)."""
    answers = list(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        if sent is not None:
            sent.append(request)
        status = answers.pop(0)
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        headers = {} if status == 202 else {"x-amzn-ErrorType": "ResourceNotFoundException:http://internal"}
        return httpx.Response(status, headers=headers, request=request)

    return aws.SignedInvoker(get_settings(), httpx.MockTransport(answer))


def test_the_signed_invoke_is_the_signature_botocore_computes(monkeypatch):
    # Given the invoker's signer (httpx-auth AWS4Auth) and botocore's own SigV4, same credentials and time
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from httpx_auth import AWS4Auth

    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    auth = AWS4Auth("AKIDEXAMPLE", secret, "eu-west-1", "lambda", security_token="tok")
    url = f"https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/{FUNCTION}/invocations"
    request = httpx.Request("POST", url, content=PAYLOAD, headers={"X-Amz-Invocation-Type": "Event"})
    # When httpx-auth signs our Invoke request
    signed = next(auth.auth_flow(request))
    header = signed.headers["Authorization"]
    names = header.split("SignedHeaders=")[1].split(",")[0].split(";")
    stamp = signed.headers["x-amz-date"]
    # and botocore signs the same headers at the same time
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: datetime.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    theirs = AWSRequest("POST", url, data=PAYLOAD)
    for name in names:
        if name != "x-amz-date":
            theirs.headers[name] = signed.headers[name]
    SigV4Auth(Credentials("AKIDEXAMPLE", secret, "tok"), "lambda", "eu-west-1").add_auth(theirs)
    # Then both produce the same signature over the same signed headers, the invocation type and token included
    assert {"host", "x-amz-invocation-type", "x-amz-security-token", "x-amz-date"} <= set(names)
    assert header.replace(", ", ",") == theirs.headers["Authorization"].replace(", ", ",")


def test_the_invoke_goes_to_the_regions_endpoint_or_the_local_override():
    for region, override, expected in [
        ("eu-west-1", None, "https://lambda.eu-west-1.amazonaws.com"),
        ("cn-north-1", None, "https://lambda.cn-north-1.amazonaws.com.cn"),
        ("us-east-1", "http://127.0.0.1:3001/", "http://127.0.0.1:3001"),
    ]:
        invoker = aws.SignedInvoker(
            settings_with(aws_region=region, lambda_endpoint=override, aws_credentials=("a", "b", None))
        )
        assert invoker.base == expected
        invoker.close()


def test_the_local_override_is_boto3s_variable(monkeypatch):
    # Given boto3's endpoint override for Lambda (how `make dev` routes the self-invoke)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:3001")
    # Then the signed path reads the same variable
    assert load_settings().lambda_endpoint == "http://127.0.0.1:3001"


def test_an_accepted_invoke_is_one_request(monkeypatch):
    # Given Lambda accepting at once
    sent: list[httpx.Request] = []
    monkeypatch.setattr(aws, "_invoker", invoker_answering(202, sent=sent))
    # When the job is queued, Then one signed request carried it
    aws.invoke_async(FUNCTION, PAYLOAD)
    [request] = sent
    assert request.url.path == f"/2015-03-31/functions/{FUNCTION}/invocations"
    assert request.headers["X-Amz-Invocation-Type"] == "Event"
    assert request.content == PAYLOAD


def test_passing_failures_are_tried_again_three_attempts_in_all(monkeypatch):
    # Given Lambda throttling, then a refused connection, then accepting
    sent: list[httpx.Request] = []
    monkeypatch.setattr(aws, "_invoker", invoker_answering(429, None, 202, sent=sent))
    # When the job is queued, Then it succeeds on the third attempt
    aws.invoke_async(FUNCTION, PAYLOAD)
    assert len(sent) == 3


@pytest.mark.parametrize(
    ("statuses", "raised", "attempts"),
    [
        ((404,), "404 \\(ResourceNotFoundException\\)", 1),  # not passing: no second try
        ((503, 503, 503), "503", 3),
    ],
)
def test_an_invoke_lambda_does_not_accept_raises(monkeypatch, statuses, raised, attempts):
    sent: list[httpx.Request] = []
    monkeypatch.setattr(aws, "_invoker", invoker_answering(*statuses, sent=sent))
    with pytest.raises(RuntimeError, match=raised):
        aws.invoke_async(FUNCTION, PAYLOAD)
    assert len(sent) == attempts


def test_a_connection_that_never_works_raises_after_three_attempts(monkeypatch):
    sent: list[httpx.Request] = []
    monkeypatch.setattr(aws, "_invoker", invoker_answering(None, None, None, sent=sent))
    with pytest.raises(httpx.ConnectError):
        aws.invoke_async(FUNCTION, PAYLOAD)
    assert len(sent) == 3


def test_without_credentials_in_the_environment_boto3_serves(monkeypatch):
    # Given a runtime that serves credentials elsewhere (SnapStart's container endpoint)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    get_settings.cache_clear()
    # Then there is no signed invoker, and the self-invoke uses boto3's client
    assert aws.invoker() is None


def test_a_reset_drops_the_signed_invokers_connections():
    # Given the container's invoker
    first = aws.invoker()
    assert first is not None
    assert aws.invoker() is first
    # When the clients are reset (SnapStart's after-restore hook does this), Then a new one is made
    aws.reset()
    assert first.http.is_closed
    assert aws.invoker() is not first
