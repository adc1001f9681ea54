"""scripts/replay_dlq.py: parked post-call jobs run again, and a record goes only when its job succeeded.

The queue is moto's SQS (inside the ``dynamodb_table`` fixture's moto, which the worker's idempotency
uses too); ``--local`` runs the real post-call handler against the local Mem0 server.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import replay_dlq
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from tests.support import CALLER, load_event

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:agentic-memory-post-call:$LATEST"
JOB = load_event("post_call_job.json")


def record(conversation_id: str = "conv_a", **job_changes: Any) -> dict[str, Any]:
    """Lambda's on-failure destination record for a job that failed three times."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-21T09:31:00.000Z",
        "requestContext": {
            "requestId": f"req-{conversation_id}",
            "functionArn": FUNCTION_ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {**JOB, "conversation_id": conversation_id, **job_changes},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "MemoryError", "errorMessage": "Mem0 is down"},
    }


MALFORMED = [
    "this is not json",
    json.dumps({"version": "1.0", "requestContext": {}}),
    json.dumps(record("conv_bad", kind="something_else")),
    json.dumps(record("conv_bad", caller_id="")),
]


@pytest.fixture
def queue(dynamodb_table) -> str:
    return boto3.client("sqs").create_queue(QueueName="agentic-memory-post-call-dlq")["QueueUrl"]


def send(url: str, *bodies: str) -> None:
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def left_in(url: str) -> list[str]:
    """Every message in the queue, looked at and left there (visible again) for the next run."""
    sqs = boto3.client("sqs")
    seen: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not messages:
            break
        seen += messages
    for message in seen:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return [message["Body"] for message in seen]


def replay(tmp_path: Path, *args: str) -> int:
    return replay_dlq.main([*args, "--wait", "0", "--env-file", str(tmp_path / "absent.env")])


def conversations_written(server) -> set[str]:
    return {r.body["metadata"]["conversation_id"] for r in server.requests if r.path == "/v3/memories/add/"}


def assert_safe_output(text: str) -> None:
    """The report names jobs by conversation id and masked caller: no transcript, no full number."""
    for turn in JOB["turns"]:
        assert turn["content"] not in text
    assert JOB["summary"] not in text
    for form in (CALLER, CALLER[1:], CALLER[2:]):
        assert form not in text


def test_local_replay_deletes_exactly_the_jobs_that_succeeded(mem0_server, queue, tmp_path, capsys):
    send(queue, json.dumps(record("conv_a")), *MALFORMED, json.dumps(record("conv_b")))
    assert replay(tmp_path, "--queue-url", queue, "--local") == 0
    assert conversations_written(mem0_server) == {"conv_a", "conv_b"}
    assert mem0_server.store.count({"user_id": CALLER}) > 0
    assert sorted(left_in(queue)) == sorted(MALFORMED)  # skipped, reported, kept
    out = capsys.readouterr().out
    assert "replayed 2, failed 0, skipped 4" in out
    assert out.count("skipped   record") == 4
    assert "replayed  conv_a  caller +1********29  written (2 writes); record removed" in out
    assert_safe_output(out)


def test_a_job_the_wait_queue_parked_as_it_is_is_replayed_too(mem0_server, queue, tmp_path, capsys):
    # Given a waiting job whose hand-back to Lambda failed three times: the wait queue's redrive policy moves
    # the message itself, a job with its pacing, to the dead-letter queue (template.yaml, PostCallWaitQueue)
    send(queue, json.dumps({**JOB, "conversation_id": "conv_waited", "pacing": {"slot": 1.0, "deferrals": 2}}))
    # When it is replayed
    assert replay(tmp_path, "--queue-url", queue, "--local") == 0
    # Then it is written and its message removed
    assert conversations_written(mem0_server) == {"conv_waited"}
    assert left_in(queue) == []
    assert "replayed 1, failed 0, skipped 0" in capsys.readouterr().out


def test_a_job_that_fails_again_keeps_its_message_and_exits_1(mem0_server, queue, tmp_path, capsys):
    send(queue, json.dumps(record("conv_a")))
    mem0_server.knobs.update(fail_status=503)
    assert replay(tmp_path, "--queue-url", queue, "--local") == 1
    assert [json.loads(body)["requestPayload"]["conversation_id"] for body in left_in(queue)] == ["conv_a"]
    assert mem0_server.store.count() == 0
    out = capsys.readouterr().out
    assert "failed    conv_a  caller +1********29" in out
    assert "record kept" in out
    assert "replayed 0, failed 1, skipped 0" in out
    assert_safe_output(out)
    # Once Mem0 is back, the same message replays and goes.
    mem0_server.knobs.update(fail_status=None)
    assert replay(tmp_path, "--queue-url", queue, "--local") == 0
    assert left_in(queue) == []
    assert conversations_written(mem0_server) == {"conv_a"}


def test_a_replayed_duplicate_counts_as_done(mem0_server, queue, tmp_path):
    send(queue, json.dumps(record("conv_a")), json.dumps(record("conv_a")))
    assert replay(tmp_path, "--queue-url", queue, "--local") == 0
    assert left_in(queue) == []
    adds = [r for r in mem0_server.requests if r.path == "/v3/memories/add/"]
    assert len(adds) == 2  # the second copy wrote nothing


def test_dry_run_lists_and_changes_nothing(mem0_server, queue, tmp_path, capsys):
    bodies = [json.dumps(record("conv_a")), MALFORMED[0], json.dumps(record("conv_b"))]
    send(queue, *bodies)
    assert replay(tmp_path, "--queue-url", queue, "--dry-run") == 0
    assert sorted(left_in(queue)) == sorted(bodies)
    assert mem0_server.requests == []
    out = capsys.readouterr().out
    assert "would replay  conv_a  caller +1********29  (RetriesExhausted, 3 attempts)" in out
    assert "would replay 2, failed 0, skipped 1" in out


def test_max_limits_how_many_are_handled(mem0_server, queue, tmp_path):
    send(queue, *(json.dumps(record(f"conv_{i}")) for i in range(3)))
    assert replay(tmp_path, "--queue-url", queue, "--local", "--max", "2") == 0
    assert len(conversations_written(mem0_server)) == 2
    assert len(left_in(queue)) == 1


# --------------------------------------------------------------------------- the local file


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def test_file_mode_removes_replayed_lines_atomically(mem0_server, dynamodb_table, tmp_path, capsys):
    letters = tmp_path / ".local" / "dead-letters.jsonl"
    letters.parent.mkdir()
    write_lines(letters, [json.dumps(record("conv_a")), MALFORMED[1], "", json.dumps(record("conv_b"))])
    assert replay(tmp_path, "--file", str(letters), "--local") == 0
    assert letters.read_text(encoding="utf-8").splitlines() == [MALFORMED[1], ""]
    assert conversations_written(mem0_server) == {"conv_a", "conv_b"}
    assert [p.name for p in letters.parent.iterdir()] == ["dead-letters.jsonl"]  # no temporary left behind
    assert "replayed 2, failed 0, skipped 1" in capsys.readouterr().out


def test_file_mode_keeps_failed_lines_and_lines_appended_meanwhile(mem0_server, dynamodb_table, tmp_path, monkeypatch):
    letters = tmp_path / "dead-letters.jsonl"
    write_lines(letters, [json.dumps(record("conv_a")), json.dumps(record("conv_b"))])
    arrived = json.dumps(record("conv_late"))
    real = replay_dlq.run_local

    def flaky(job):
        if job["conversation_id"] == "conv_b":
            with letters.open("a", encoding="utf-8") as handle:  # the dev stack parks another job
                handle.write(arrived + "\n")
            return False, "MemoryError: down"
        return real(job)

    monkeypatch.setattr(replay_dlq, "run_local", flaky)
    assert replay(tmp_path, "--file", str(letters), "--local") == 1
    remaining = [json.loads(line)["requestPayload"]["conversation_id"] for line in letters.read_text().splitlines()]
    assert remaining == ["conv_b", "conv_late"]


def test_file_mode_dry_run_and_a_missing_file(mem0_server, tmp_path, capsys):
    letters = tmp_path / "dead-letters.jsonl"
    write_lines(letters, [json.dumps(record("conv_a"))])
    before = letters.read_bytes()
    assert replay(tmp_path, "--file", str(letters), "--dry-run") == 0
    assert letters.read_bytes() == before
    assert replay(tmp_path, "--file", str(tmp_path / "none.jsonl"), "--local") == 0
    assert "no dead letters" in capsys.readouterr().out
    assert mem0_server.requests == []


# --------------------------------------------------------------------------- through Lambda


def payload(value: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def stubbed_lambda(monkeypatch):
    """The Lambda client the script makes, stubbed; other services stay moto's."""
    client = boto3.client("lambda")
    real = replay_dlq.make_client
    monkeypatch.setattr(
        replay_dlq, "make_client", lambda service, region: client if service == "lambda" else real(service, region)
    )
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_invoke(stub: Stubber, function: str, response: dict[str, Any]) -> None:
    stub.add_response(
        "invoke",
        {"StatusCode": 200, **response},
        {"FunctionName": function, "InvocationType": "RequestResponse", "Payload": ANY},
    )


def test_through_lambda_a_function_error_is_a_failure(queue, stubbed_lambda, tmp_path, capsys):
    send(queue, json.dumps(record("conv_a")), json.dumps(record("conv_b")))
    expect_invoke(stubbed_lambda, FUNCTION_ARN, {"Payload": payload({"status": "written", "writes": 3})})
    expect_invoke(
        stubbed_lambda,
        FUNCTION_ARN,
        {"FunctionError": "Unhandled", "Payload": payload({"errorType": "MemoryError", "errorMessage": "down"})},
    )
    assert replay(tmp_path, "--queue-url", queue) == 1
    [kept] = left_in(queue)
    assert json.loads(kept)["requestPayload"]["conversation_id"] == "conv_b"
    out = capsys.readouterr().out
    assert "failed    conv_b  caller +1********29  Unhandled MemoryError: down; record kept" in out


def test_through_lambda_an_unexpected_answer_is_a_failure(queue, stubbed_lambda, tmp_path):
    send(queue, json.dumps(record("conv_a")))
    expect_invoke(stubbed_lambda, "other-function", {"Payload": payload({"status": "invalid"})})
    assert replay(tmp_path, "--queue-url", queue, "--function-name", "other-function") == 1
    assert len(left_in(queue)) == 1


def test_stack_mode_reads_the_queue_and_function_from_the_outputs(queue, stubbed_lambda, tmp_path):
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "PostCallDeadLetterQueueUrl": {"Value": queue},
            "PostCallFunctionName": {"Value": "stack-post-call"},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="agentic-memory", TemplateBody=json.dumps(template))
    send(queue, json.dumps(record("conv_a")))
    expect_invoke(stubbed_lambda, "stack-post-call", {"Payload": payload({"status": "duplicate", "writes": 0})})
    assert replay(tmp_path, "--stack", "agentic-memory") == 0
    assert left_in(queue) == []


def test_an_unknown_stack_is_a_usage_error(dynamodb_table, tmp_path, capsys):
    assert replay(tmp_path, "--stack", "no-such-stack") == 2
    assert "cannot read stack" in capsys.readouterr().err
