"""The reconcile schedule in template.yaml: optional, keyed on the ElevenLabs API key, aimed at post-call.

Conditions are evaluated here for a given set of parameter values, so "no key" can be checked as what
CloudFormation would create, not as text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentic_memory.observability import Metric

RECONCILE_RESOURCES = {
    "ReconcileSchedule": "AWS::Events::Rule",
    "ReconcileSchedulePermission": "AWS::Lambda::Permission",
    "ConversationsRecoveredAlarm": "AWS::CloudWatch::Alarm",
    "ReconcileFailedAlarm": "AWS::CloudWatch::Alarm",
}
RETENTION_SWEEP = ["RetentionSweepSchedule", "RetentionSweepSchedulePermission"]
REQUIRED = {"Mem0ApiKey": "m0-abcdefghijklmnop", "ElevenLabsWorkspaceKey": "w" * 20, "ElevenLabsHmacKey": "h" * 20}


def _value(node: Any, parameters: dict[str, Any], conditions: dict[str, Any]) -> Any:
    """The value of a condition expression (Fn::Not, Fn::Equals, Fn::Or, Fn::And, Ref, Condition)."""
    if isinstance(node, dict) and len(node) == 1:
        [(name, argument)] = node.items()
        if name == "Ref":
            return parameters[argument]
        if name == "Condition":
            return _value(conditions[argument], parameters, conditions)
        if name == "Fn::Not":
            return not _value(argument[0], parameters, conditions)
        if name == "Fn::Equals":
            left, right = (_value(part, parameters, conditions) for part in argument)
            return str(left) == str(right)
        if name == "Fn::Or":
            return any(_value(part, parameters, conditions) for part in argument)
        if name == "Fn::And":
            return all(_value(part, parameters, conditions) for part in argument)
    return node


def deployed(cfn: dict[str, Any], **overrides: Any) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation would create with the parameters' defaults, REQUIRED and ``overrides``."""
    parameters = {name: spec.get("Default", "") for name, spec in cfn["Parameters"].items()}
    parameters.update(REQUIRED, **overrides)
    conditions = cfn.get("Conditions", {})
    return {
        logical_id: resource
        for logical_id, resource in cfn["Resources"].items()
        if "Condition" not in resource or _value({"Condition": resource["Condition"]}, parameters, conditions)
    }


def invokers_of_post_call(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Schedules and rules that would invoke a function, and permissions for EventBridge to do so."""
    found = []
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        text = json.dumps(resource.get("Properties", {}))
        if kind == "AWS::Lambda::EventSourceMapping" and "PostCallWaitQueue" in text:
            continue  # calls coming back from their wait for Mem0 (tests/infra/test_wait_queue_template.py)
        if kind in ("AWS::Events::Rule", "AWS::Scheduler::Schedule", "AWS::Lambda::EventSourceMapping") or (
            kind == "AWS::Lambda::Permission" and "events.amazonaws.com" in text
        ):
            found.append(logical_id)
    return found


def test_the_api_key_is_an_optional_noecho_parameter(raw):
    parameter = raw["Parameters"]["ElevenLabsApiKey"]
    assert parameter["NoEcho"] is True
    assert parameter["Default"] == ""
    assert raw["Parameters"]["ElevenLabsApiBase"]["Default"] == "https://api.elevenlabs.io"
    assert raw["Parameters"]["ReconcileAgentIds"]["Default"] == ""


def test_reconcile_without_a_key_schedules_nothing(cfn):
    # Given the stack deployed with no ElevenLabs API key (the default)
    resources = deployed(cfn)
    # Then no reconcile rule, schedule or EventBridge permission exists, and no reconcile alarm: only the
    # retention sweep's, which runs whatever the key (tests/infra/test_retention_template.py)
    assert sorted(invokers_of_post_call(resources)) == RETENTION_SWEEP
    assert not set(RECONCILE_RESOURCES) & set(resources)
    # And the function itself carries no schedule of its own (a SAM Schedule event would be unconditional)
    function = cfn["Resources"]["PostCallFunction"]
    assert "Events" not in function.get("Properties", {})


def test_with_a_key_one_rule_every_15_minutes_invokes_post_call(cfn):
    resources = deployed(cfn, ElevenLabsApiKey="sk_" + "k" * 40)
    assert sorted(invokers_of_post_call(resources)) == sorted(
        ["ReconcileSchedule", "ReconcileSchedulePermission", *RETENTION_SWEEP]
    )
    for logical_id, kind in RECONCILE_RESOURCES.items():
        assert resources[logical_id]["Type"] == kind
        assert resources[logical_id]["Condition"] == "HasElevenLabsApiKey"
    rule = resources["ReconcileSchedule"]["Properties"]
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert rule["State"] == "ENABLED"
    # No Input: the function receives EventBridge's own scheduled event, which routes to reconcile. An event
    # EventBridge cannot deliver waits in the schedule's own dead-letter queue (issue 24), for at most one
    # schedule period of retries.
    assert rule["Targets"] == [
        {
            "Id": "post-call",
            "Arn": {"Fn::GetAtt": ["PostCallFunction", "Arn"]},
            "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 900},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "Arn"]}},
        }
    ]
    (statement,) = resources["ReconcileDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ReconcileSchedule", "Arn"]}}}
    for queue_part in ("ReconcileDeadLetterQueue", "ReconcileDeadLetterQueuePolicy", "ReconcileDeadLetterAlarm"):
        assert resources[queue_part]["Condition"] == "HasElevenLabsApiKey"
    permission = resources["ReconcileSchedulePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["PostCallFunction", "Arn"]}
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ReconcileSchedule", "Arn"]}


def test_the_condition_is_the_key_being_non_empty(cfn):
    assert cfn["Conditions"]["HasElevenLabsApiKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ElevenLabsApiKey"}, ""]}]}


@pytest.mark.parametrize("function_id", ["PostCallFunction"])
def test_post_call_gets_the_key_base_and_agents(cfn, function_id):
    env = cfn["Resources"][function_id]["Properties"]["Environment"]["Variables"]
    # The key's secret (issue 24), never the key itself.
    assert "ELEVENLABS_API_KEY" not in env
    assert env["ELEVENLABS_API_KEY_SECRET_ARN"] == {
        "Fn::If": ["HasElevenLabsApiKey", {"Ref": "ElevenLabsApiKeySecret"}, ""]
    }
    assert env["ELEVENLABS_API_BASE"] == {"Ref": "ElevenLabsApiBase"}
    assert env["RECONCILE_AGENT_IDS"] == {"Ref": "ReconcileAgentIds"}


def test_client_data_never_holds_the_api_key(cfn):
    env = cfn["Resources"]["ClientDataFunction"]["Properties"]["Environment"]["Variables"]
    assert "ELEVENLABS_API_KEY" not in env
    assert "ELEVENLABS_API_KEY_SECRET_ARN" not in env


def test_the_alarms_watch_the_metrics_the_code_emits(cfn):
    alarms = {
        logical_id: cfn["Resources"][logical_id]["Properties"]
        for logical_id in ("ConversationsRecoveredAlarm", "ReconcileFailedAlarm")
    }
    recovered, failed = alarms["ConversationsRecoveredAlarm"], alarms["ReconcileFailedAlarm"]
    assert recovered["MetricName"] == Metric.CONVERSATIONS_RECOVERED == "ConversationsRecovered"
    assert failed["MetricName"] == Metric.RECONCILE_FAILED
    for alarm in alarms.values():
        assert alarm["Namespace"] == "AgenticMemory"
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "post-call"}]
        assert alarm["Statistic"] == "Sum"
    # A single call that needed recovering means a webhook was lost: worth a look
    assert recovered["Threshold"] == 1


def test_the_worker_role_already_allows_the_ingested_marker(cfn):
    # mark_ingested puts and was_ingested gets an item in the idempotency table: no new permission
    role = cfn["Resources"]["PostCallRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if isinstance(s, dict)]
    [records] = [s for s in statements if s.get("Sid") == "IdempotencyRecords"]
    assert {"dynamodb:GetItem", "dynamodb:PutItem"} <= set(records["Action"])
    assert records["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
