"""post_call's handler: the signed webhook (HTTP) and the asynchronous worker (job)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from agentic_memory import aws
from agentic_memory.ingest import Job
from post_call.handler import lambda_handler
from tests.support import (
    CALLER,
    HMAC_KEY,
    LambdaContext,
    body_of,
    http_event,
    load_event,
    post_call_body,
    signed_headers,
)


def deliver(body: bytes, headers=None, **kwargs):
    headers = signed_headers(body) if headers is None else headers
    return lambda_handler(http_event("/post-call", body, headers, **kwargs), LambdaContext())


class TestWebhook:
    @pytest.mark.parametrize("base64_encoded", [False, True])
    def test_accepts_and_queues_a_compact_job(self, lambda_invocations, base64_encoded):
        response = deliver(post_call_body(), base64_encoded=base64_encoded)
        assert response["statusCode"] == 200
        assert body_of(response)["status"] == "accepted"
        [(path, invocation_type, job)] = lambda_invocations
        assert path == "/2015-03-31/functions/agentic-memory-post-call/invocations"
        assert invocation_type == "Event"
        assert job == load_event("post_call_job.json")

    def test_the_exact_invoke_call(self):
        # Given a stubbed Lambda client expecting exactly one asynchronous self-invoke
        client = aws.client("lambda")
        job = Job.model_validate(load_event("post_call_job.json")).model_dump_json().encode()
        with Stubber(client) as stub:
            stub.add_response(
                "invoke",
                {"StatusCode": 202},
                {"FunctionName": "agentic-memory-post-call", "InvocationType": "Event", "Payload": job},
            )
            # When the webhook arrives Then the call matches and the answer is 200
            assert deliver(post_call_body())["statusCode"] == 200
            stub.assert_no_pending_responses()

    def test_sample_event_once_resigned(self, lambda_invocations):
        from sign_event import resign

        event = resign(load_event("post_call.json"), HMAC_KEY)
        assert lambda_handler(event, LambdaContext())["statusCode"] == 200
        assert len(lambda_invocations) == 1

    def test_sample_event_as_committed_is_stale_and_rejected(self, lambda_invocations):
        assert lambda_handler(load_event("post_call.json"), LambdaContext())["statusCode"] == 401
        assert lambda_invocations == []

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"elevenlabs-signature": "garbage"},
            "wrong-key",
            "stale",
            "future",
        ],
    )
    def test_401_and_nothing_queued_without_a_valid_signature(self, lambda_invocations, headers):
        body = post_call_body()
        if headers == "wrong-key":
            headers = signed_headers(body, key="not-the-key")
        elif headers == "stale":
            headers = signed_headers(body, timestamp=int(time.time()) - 1801)
        elif headers == "future":
            headers = signed_headers(body, timestamp=int(time.time()) + 1801)
        response = deliver(body, headers)
        assert response["statusCode"] == 401
        assert body_of(response)["error"] == "unauthorized"
        assert lambda_invocations == []

    def test_signature_is_checked_on_the_raw_bytes(self, lambda_invocations):
        body = post_call_body()
        reformatted = json.dumps(json.loads(body), indent=1).encode()  # same JSON, other bytes
        assert deliver(reformatted, signed_headers(body))["statusCode"] == 401

    def test_either_rotated_key_is_accepted(self, lambda_invocations, monkeypatch):
        from agentic_memory.config import get_settings

        monkeypatch.setenv("ELEVENLABS_HMAC_KEY", f"old-key, {HMAC_KEY}")
        get_settings.cache_clear()
        body = post_call_body()
        assert deliver(body, signed_headers(body, key="old-key"))["statusCode"] == 200
        assert deliver(body, signed_headers(body, key=HMAC_KEY))["statusCode"] == 200

    @pytest.mark.parametrize("event_type", ["post_call_audio", "call_initiation_failure", "post_call_future_type"])
    def test_other_event_types_are_ignored_with_200(self, lambda_invocations, event_type):
        payload = {"type": event_type, "event_timestamp": 1, "data": {"full_audio": "SUQz" * 1000}}
        body = json.dumps(payload).encode()
        response = deliver(body)
        assert response["statusCode"] == 200
        assert body_of(response)["status"] == "ignored"
        assert lambda_invocations == []

    def test_no_caller_is_ignored_with_200(self, lambda_invocations):
        body = post_call_body(
            metadata={"phone_call": {"external_number": "anonymous"}},
            conversation_initiation_client_data={"dynamic_variables": {}},
            user_id=None,
        )
        response = deliver(body)
        assert response["statusCode"] == 200
        assert "no caller" in body_of(response)["reason"]
        assert lambda_invocations == []

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[]",
            b"",
            b'{"data": {}}',
            b'{"type": 5}',
            b'{"type": "post_call_transcription", "data": 3}',
            b'{"type": "post_call_transcription", "data": {"transcript": "x"}}',
            b'{"type": "post_call_transcription", "data": {"agent_id": "a"}}',
        ],
    )
    def test_bad_signed_payloads_get_400(self, lambda_invocations, body):
        response = deliver(body)
        assert response["statusCode"] == 400
        assert set(body_of(response)) == {"error", "message"}
        assert lambda_invocations == []

    def test_invoke_failure_answers_500_so_the_sender_retries(self, lambda_invocations):
        lambda_invocations.fail_with = EndpointConnectionError(endpoint_url="https://lambda")
        response = deliver(post_call_body())
        assert response["statusCode"] == 500
        assert body_of(response)["error"] == "dispatch_failed"


def run_worker(job=None, context=None):
    return lambda_handler(job or load_event("post_call_job.json"), context or LambdaContext())


class TestWorker:
    def test_writes_three_requests_with_metadata(self, mem0_server, dynamodb_table):
        result = run_worker()
        assert result == {"status": "written", "writes": 3}
        adds = [r for r in mem0_server.requests if r.path == "/v3/memories/add/"]
        assert len(adds) == 3
        assert [a.body["infer"] for a in adds] == [True, False, False]
        for add in adds:
            assert add.body["user_id"] == CALLER
            assert add.body["agent_id"] == "agent_7101k0example"
            assert add.body["metadata"]["conversation_id"] == "conv_01jexample0000000000000001"
            assert add.body["metadata"]["agent_id"] == "agent_7101k0example"
        assert adds[1].body["metadata"]["kind"] == "call_summary"
        assert adds[1].body["metadata"]["outcome"] == "success"

    def test_the_same_job_twice_writes_once(self, mem0_server, dynamodb_table):
        run_worker()
        before = mem0_server.store.count()
        assert run_worker() == {"status": "duplicate", "writes": 0}
        assert mem0_server.store.count() == before
        assert len([r for r in mem0_server.requests if r.path == "/v3/memories/add/"]) == 3

    def test_mem0_down_raises_so_lambda_retries_and_the_retry_writes(self, mem0_server, dynamodb_table):
        mem0_server.knobs.update(fail_status=503)
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever mem0 raises must propagate
            run_worker()
        mem0_server.knobs.update(fail_status=None)
        assert run_worker()["status"] == "written"
        assert mem0_server.store.count() > 0

    def test_a_partial_failure_is_resumed_without_duplicates(self, mem0_server, dynamodb_table):
        # Given the first write succeeds and Mem0 then fails with a bad request (not retried in process)
        original = mem0_server.store.add
        calls = []

        def flaky_add(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise ValueError("injected")
            return original(*args, **kwargs)

        mem0_server.store.add = flaky_add
        with pytest.raises(Exception):  # noqa: B017, PT011
            run_worker()
        first_count = mem0_server.store.count()
        # When Lambda retries the job
        mem0_server.store.add = original
        assert run_worker()["writes"] == 2
        # Then the conversation write was not repeated
        conversation_adds = [
            r
            for r in mem0_server.requests
            if r.path == "/v3/memories/add/" and r.body["metadata"]["kind"] == "conversation"
        ]
        assert len(conversation_adds) == 1
        assert mem0_server.store.count() > first_count

    def test_no_caller_or_malformed_job_is_dropped_not_retried(self, mem0_server, dynamodb_table):
        assert run_worker({"kind": "post_call_job", "conversation_id": "c"})["status"] == "invalid"
        assert mem0_server.requests == []
