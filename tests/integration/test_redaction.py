"""REDACT_PII end to end (issue 13): a caller who says their card number and social security number.
Nothing redacted may appear in the job (which is also what the dead-letter queue would keep for 14
days), in any Mem0 request, in the next call's memory_context, in retrieve's answers, or in a log line."""

from __future__ import annotations

import json
import logging

from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

KEY = {"x-workspace-key": WORKSPACE_KEY}
SECRETS = ("4111 1111 1111 1111", "4111111111111111", "987-65-4321", "987654321", "GB82 WEST 1234 5698 7654 32")
TRANSCRIPT = [
    {"role": "agent", "message": "Hello! How can I help you today?"},
    {"role": "user", "message": "I want to pay my bill. My card number is 4111 1111 1111 1111, security code 123."},
    {"role": "agent", "message": "Thanks. I also need to verify your identity."},
    {"role": "user", "message": "Sure, my social is 987-65-4321. My order number is 55012."},
    {"role": "agent", "message": "And the account for the refund?"},
    {"role": "user", "message": "The IBAN is GB82 WEST 1234 5698 7654 32, call me back on +1 612 978 2029."},
]


def leaked(text: str) -> list[str]:
    flat = text.replace(" ", "").replace("-", "")
    return [s for s in SECRETS if s in text or s.replace(" ", "").replace("-", "") in flat] + (
        ["security code 123"] if "code 123" in text else []
    )


def test_nothing_redacted_is_stored_shown_or_logged(mem0_server, dynamodb_table, lambda_invocations, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    # Given a call where the caller reads out card, SSN and IBAN, also in the summary and collected data
    body = post_call_body(
        transcript=TRANSCRIPT,
        analysis={
            "call_successful": "success",
            "transcript_summary": "Caller paid with card 4111111111111111 and gave SSN 987-65-4321.",
            "call_summary_title": "Bill payment",
            "data_collection_results": {
                "card_number": {"value": 4111111111111111},
                "ssn": {"value": "987654321"},
                "order_number": {"value": 55012},
            },
        },
    )
    # When the webhook is delivered and the worker writes the job
    answer = body_of(post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext()))
    assert answer["status"] == "accepted"
    job = lambda_invocations[0][2]
    assert post_call(job, LambdaContext())["status"] == "written"
    assert mem0_server.wait_idle()
    # Then the job (and so the dead-letter queue) holds placeholders, not numbers
    job_text = json.dumps(job, ensure_ascii=False)
    assert leaked(job_text) == []
    assert "[card number]" in job_text
    assert "[social security number]" in job_text
    assert "55012" in job_text  # an order number that fails Luhn stays
    assert "+1 612 978 2029" in job_text  # so does a phone number
    # And no Mem0 request carried them
    assert leaked(json.dumps([r.body for r in mem0_server.requests], ensure_ascii=False)) == []
    # And the next call's context and the tool's answers hold none
    event = http_event("/client-data", {"caller_id": CALLER, "called_number": "+15550100001", "call_sid": "CA9"}, KEY)
    dynamic = body_of(client_data(event, LambdaContext()))["dynamic_variables"]
    assert dynamic["returning_caller"] == "yes"
    assert leaked(json.dumps(dynamic, ensure_ascii=False)) == []
    for query in ("card number", "social security number", "bank account IBAN"):
        found = body_of(retrieve(http_event("/retrieve", {"query": query, "caller_id": CALLER}, KEY), LambdaContext()))
        assert leaked(json.dumps(found, ensure_ascii=False)) == []
    # And no log line did
    logs = capsys.readouterr()
    records = json.dumps([vars(r) for r in caplog.records], default=str, ensure_ascii=False)
    assert leaked(logs.out + logs.err + caplog.text + records) == []
    counted = [getattr(r, "redacted", None) for r in caplog.records if getattr(r, "redacted", None)]
    assert counted  # the counts by kind are logged, never the values
    assert counted[0]["card_number"] >= 2


def test_redaction_can_be_switched_off(monkeypatch, mem0_server, dynamodb_table, lambda_invocations):
    monkeypatch.setenv("REDACT_PII", "false")
    body = post_call_body(transcript=TRANSCRIPT)
    post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert "4111 1111 1111 1111" in json.dumps(lambda_invocations[0][2])
