"""Bursts at Mem0's quota in template.yaml (issue 23): the queue where calls wait for their turn at Mem0, the
event source mapping that brings them back to post-call with a concurrency cap, the role's exact rights on
it, its alarms, and the settings the worker paces itself by."""

from __future__ import annotations

import json
import re
from typing import Any

from agentic_memory.config import _limit
from agentic_memory.observability import Metric

WAIT_QUEUE = {"Fn::GetAtt": ["PostCallWaitQueue", "Arn"]}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def post_call_statements(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for policy in props(cfn, "PostCallRole")["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Sid" in statement:
                found[statement["Sid"]] = statement
    return found


def test_the_wait_queue_is_encrypted_outlives_any_wait_and_parks_what_fails_three_times(cfn):
    queue = props(cfn, "PostCallWaitQueue")
    # SQS-managed keys, or the customer-managed key when KmsKeyArn is set
    assert queue["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", {"Ref": "AWS::NoValue"}, True]}
    assert queue["KmsMasterKeyId"] == {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600  # SQS's maximum
    # Six times the function's timeout (Lambda Developer Guide, "Using Lambda with Amazon SQS")
    assert queue["VisibilityTimeout"] >= 6 * props(cfn, "PostCallFunction")["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["PostCallDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }


def test_post_call_takes_waited_jobs_one_at_a_time_with_a_concurrency_cap(cfn):
    # Given the event source mappings SAM makes of the function's SQS event
    mappings = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    # Then exactly one reads the wait queue into post-call
    [mapping] = [m for m in mappings if m["EventSourceArn"] == WAIT_QUEUE]
    assert mapping["FunctionName"] == {"Ref": "PostCallFunction"}
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And its MaximumConcurrency (2 to 1000, Lambda's bounds) caps the runs it starts
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WaitingJobsConcurrency"}}
    parameter = cfn["Parameters"]["WaitingJobsConcurrency"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (2, 1000)
    # And no reserved concurrency on post-call unless the operator asks for it (ReservedConcurrency, 0 by
    # default): it would cap the acknowledgement as well
    assert cfn["Parameters"]["ReservedConcurrency"]["Default"] == 0
    assert props(cfn, "PostCallFunction")["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }


def test_the_role_may_send_to_the_wait_queue_and_poll_it_and_nothing_more(cfn):
    by_sid = post_call_statements(cfn)
    assert by_sid["WaitForMem0"]["Action"] == "sqs:SendMessage"
    assert by_sid["WaitForMem0"]["Resource"] == WAIT_QUEUE
    assert sorted(by_sid["WaitQueueEventSource"]["Action"]) == sorted(
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    )
    assert by_sid["WaitQueueEventSource"]["Resource"] == WAIT_QUEUE
    # Every statement that names the wait queue is one of these two
    naming = {sid for sid, statement in by_sid.items() if "PostCallWaitQueue" in json.dumps(statement)}
    assert naming == {"WaitForMem0", "WaitQueueEventSource"}


def test_the_worker_knows_the_queue_and_the_quota(cfn):
    env = props(cfn, "PostCallFunction")["Environment"]["Variables"]
    assert env["DEFER_QUEUE_URL"] == {"Ref": "PostCallWaitQueue"}
    assert env["MEM0_ADD_LIMIT"] == {"Ref": "Mem0AddLimit"}
    assert env["MEM0_REQUEST_LIMIT"] == {"Ref": "Mem0RequestLimit"}
    assert env["MEM0_THROTTLE_MAX_WAIT_HOURS"] == {"Ref": "ThrottleMaxWaitHours"}


def test_the_limit_parameters_accept_exactly_what_the_worker_reads(cfn):
    # Given each limit parameter's pattern (CloudFormation matches it against the whole value)
    for name in ("Mem0AddLimit", "Mem0RequestLimit"):
        pattern = re.compile(cfn["Parameters"][name]["AllowedPattern"])
        accepted = ["1000/min", "5000/min", "200/6s", "off"]
        refused = ["", "1000", "1000/hour", "0/min", "-5/min", "1000/min; rm"]
        # Then what it accepts, config reads as a limit (or none for off), and what it refuses never deploys
        for value in accepted:
            assert pattern.fullmatch(value), (name, value)
            assert _limit(value, ("default",)) != ("default",), value
        for value in refused:
            assert not pattern.fullmatch(value), (name, value)
    assert cfn["Parameters"]["Mem0AddLimit"]["Default"] == "1000/min"  # DESIGN.md section 4
    assert _limit("1000/min", None) == (1000, 60.0)


def test_alarms_watch_what_could_pile_up(cfn):
    alarms = {key: r["Properties"] for key, r in cfn["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    queue_name = {"Fn::GetAtt": ["PostCallWaitQueue", "QueueName"]}
    waiting = alarms["PostCallWaitingAlarm"]
    assert (waiting["Namespace"], waiting["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesDelayed")
    assert waiting["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    stalled = alarms["PostCallWaitStalledAlarm"]
    assert (stalled["Namespace"], stalled["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    # Each wait is at most 900 s (SQS), so an oldest message twice that old is not waiting but stuck
    assert stalled["Threshold"] >= 2 * 900
    throttled = alarms["Mem0ThrottledAlarm"]
    assert (throttled["Namespace"], throttled["MetricName"]) == ("AgenticMemory", Metric.MEM0_THROTTLED)
    assert throttled["Dimensions"] == [{"Name": "service", "Value": "post-call"}]


def test_the_wait_queue_is_an_output(cfn):
    assert cfn["Outputs"]["PostCallWaitQueueUrl"]["Value"] == {"Ref": "PostCallWaitQueue"}
