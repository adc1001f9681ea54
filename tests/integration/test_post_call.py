"""post_call's handler: the signed webhook (HTTP) and the asynchronous worker (job)."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from agentic_memory.domain.job import Job
from agentic_memory.domain.memory_labels import record_kind, text_digest
from agentic_memory.stores import aws_clients, idempotency, lambda_invoke
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

    def test_the_exact_signed_invoke_request(self, monkeypatch):
        # Given credentials in the environment (as Lambda gives them) and an httpx transport that records
        import httpx

        sent: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(202, request=request)

        monkeypatch.setattr(
            lambda_invoke,
            "_invoker",
            lambda_invoke.SignedInvoker(lambda_invoke.get_settings(), httpx.MockTransport(record)),
        )
        job = Job.model_validate(load_event("post_call_job.json")).model_dump_json().encode()
        # When the webhook arrives
        assert deliver(post_call_body())["statusCode"] == 200
        # Then exactly one asynchronous Invoke of this function left, SigV4-signed for Lambda, body = the job
        [request] = sent
        assert request.method == "POST"
        assert str(request.url) == (
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/agentic-memory-post-call/invocations"
        )
        assert request.headers["X-Amz-Invocation-Type"] == "Event"
        assert "/us-east-1/lambda/aws4_request" in request.headers["Authorization"]
        assert request.content == job

    def test_the_exact_boto3_invoke_without_credentials_in_the_environment(self, monkeypatch):
        # Given no credentials in the environment (SnapStart) and a stubbed Lambda client expecting one invoke
        from agentic_memory.config import get_settings

        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        get_settings.cache_clear()
        client = aws_clients.client("lambda")
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

        monkeypatch.setenv("ELEVENLABS_HMAC_KEY", f"old-hmac-secret-retired, {HMAC_KEY}")
        get_settings.cache_clear()
        body = post_call_body()
        assert deliver(body, signed_headers(body, key="old-hmac-secret-retired"))["statusCode"] == 200
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
    def test_writes_two_requests_with_metadata(self, mem0_server, dynamodb_table):
        result = run_worker()
        assert result == {"status": "written", "writes": 2}
        adds = [r for r in mem0_server.requests if r.path == "/v3/memories/add/"]
        assert len(adds) == 2
        assert [a.body["infer"] for a in adds] == [True, False]
        for add in adds:
            assert add.body["user_id"] == CALLER
            # Never agent_id: Mem0 would file what the agent said under the agent alone (DESIGN.md 4).
            assert "agent_id" not in add.body
            assert add.body["metadata"]["conversation_id"] == "conv_01jexample0000000000000001"
            assert add.body["metadata"]["agent_id"] == "agent_7101k0example"
        # The summary and the collected facts travel in one add (issue 23), the summary named by its digest
        notes = adds[1].body
        assert notes["metadata"]["kind"] == "call_notes"
        assert notes["metadata"]["outcome"] == "success"
        summary = notes["messages"][0]["content"]
        assert notes["metadata"]["summary_sha256"] == text_digest(summary)
        assert "Caller's name is Maria Lopez." in [m["content"] for m in notes["messages"][1:]]
        # And Mem0 keeps each message as a memory that says what it is
        kinds = Counter(
            record_kind(r["memory"], r["metadata"]) for r in mem0_server.store.get_all({"user_id": CALLER})[1]
        )
        assert kinds["call_summary"] == 1
        assert kinds["fact"] == len(notes["messages"]) - 1

    def test_the_same_job_twice_writes_once(self, mem0_server, dynamodb_table):
        run_worker()
        assert mem0_server.wait_idle()  # the conversation (infer=True) is extracted after Mem0 answers
        before = mem0_server.store.count()
        assert run_worker() == {"status": "duplicate", "writes": 0}
        assert mem0_server.store.count() == before
        assert len([r for r in mem0_server.requests if r.path == "/v3/memories/add/"]) == 2

    def test_mem0_down_raises_so_lambda_retries_and_the_retry_writes(self, mem0_server, dynamodb_table):
        mem0_server.knobs.update(fail_status=503)
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever mem0 raises must propagate
            run_worker()
        mem0_server.knobs.update(fail_status=None)
        assert run_worker()["status"] == "written"
        assert mem0_server.store.count() > 0

    def test_a_partial_failure_is_resumed_without_duplicates(self, mem0_server, dynamodb_table):
        # Given the conversation write succeeds and Mem0 then refuses the notes (not retried in process)
        original = mem0_server.store.write
        calls = []

        def flaky_write(request):
            if not request.infer:  # the conversation is extracted in the background; the notes are synchronous
                calls.append(1)
                if len(calls) == 1:
                    raise ValueError("injected")
            return original(request)

        mem0_server.store.write = flaky_write
        with pytest.raises(Exception):  # noqa: B017, PT011
            run_worker()
        assert mem0_server.wait_idle()
        first_count = mem0_server.store.count()
        # When Lambda retries the job
        mem0_server.store.write = original
        assert run_worker()["writes"] == 1
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


class TestCrashWindow:
    def test_a_worker_that_died_after_its_writes_does_not_write_again(self, mem0_server, dynamodb_table, monkeypatch):
        # Given a worker whose two Mem0 writes land, but which dies before the last idempotency record
        # completes; the earlier one is lost too (as if the container died before it reached DynamoDB)
        from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

        original = BasePersistenceLayer.save_success
        saved = []

        def die(self, *args, **kwargs):
            saved.append(1)
            if len(saved) < 2:
                return original(self, *args, **kwargs)
            raise SystemExit("the container was killed")

        monkeypatch.setattr(BasePersistenceLayer, "save_success", die)
        with pytest.raises(SystemExit):
            run_worker()
        monkeypatch.undo()
        assert mem0_server.wait_idle()  # the conversation's extraction finished meanwhile
        adds_before = len([r for r in mem0_server.requests if r.path == "/v3/memories/add/"])
        stored_before = mem0_server.store.count()
        # ... and its in-progress idempotency records have expired by the time Lambda retries (its marks that
        # the writes were being sent stay: they expire with the records' retention, in days)
        import boto3

        table = boto3.resource("dynamodb").Table(dynamodb_table)
        records = [item for item in table.scan()["Items"] if item["id"].startswith(idempotency.KEY_PREFIX)]
        assert records
        for item in records:
            table.delete_item(Key={"id": item["id"]})
        # When Lambda retries the job
        result = run_worker()
        # Then what already reached Mem0 is found there and written no second time
        assert result == {"status": "duplicate", "writes": 0}
        assert len([r for r in mem0_server.requests if r.path == "/v3/memories/add/"]) == adds_before
        assert mem0_server.store.count() == stored_before


class TestRetention:
    def test_every_write_carries_the_expiration_date(
        self, monkeypatch, mem0_server, dynamodb_table, lambda_invocations
    ):
        # Given MEMORY_RETENTION_DAYS=30 and a call that started on 2026-11-21 (DESIGN.md section 6)
        monkeypatch.setenv("MEMORY_RETENTION_DAYS", "30")
        assert deliver(post_call_body())["statusCode"] == 200
        [(_, _, job)] = lambda_invocations
        # When the worker writes it
        assert run_worker(job)["status"] == "written"
        # Then every Mem0 add carries Mem0's expiration_date, 30 days on
        adds = [r.body for r in mem0_server.requests if r.path == "/v3/memories/add/"]
        assert len(adds) == 2
        assert {add["expiration_date"] for add in adds} == {"2026-12-21"}

    def test_without_retention_nothing_expires(self, mem0_server, dynamodb_table, lambda_invocations):
        deliver(post_call_body())
        run_worker(lambda_invocations[0][2])
        adds = [r.body for r in mem0_server.requests if r.path == "/v3/memories/add/"]
        assert adds
        assert all("expiration_date" not in add for add in adds)
