"""The retention sweep and the audit trail in template.yaml: a schedule that always runs, aimed at post-call
with the sweep's own event, an alarm on the metric the sweep emits, the audit table, and roles that grant no
more than the code uses."""

from __future__ import annotations

import json
from typing import Any

from agentic_memory.observability import Metric
from agentic_memory.worker import events
from tests.infra.test_reconcile_template import deployed, invokers_of_post_call


def props(cfn: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return cfn["Resources"][logical_id]["Properties"]


def statements(cfn: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    found = {}
    for policy in props(cfn, role_id)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Sid" in statement:
                found[statement["Sid"]] = statement
    return found


def test_the_sweep_runs_every_15_minutes_whatever_the_parameters_say(cfn):
    # Given the stack with every default (no ElevenLabs key, MemoryRetentionDays 0) and with retention on
    for overrides in ({}, {"MemoryRetentionDays": 30}, {"ElevenLabsApiKey": "sk_" + "k" * 40}):
        resources = deployed(cfn, **overrides)
        # Then the sweep's rule and permission exist: a call's deletion settings can make it due any day
        assert {"RetentionSweepSchedule", "RetentionSweepSchedulePermission"} <= set(invokers_of_post_call(resources))
    rule = cfn["Resources"]["RetentionSweepSchedule"]
    assert "Condition" not in rule
    spec = rule["Properties"]
    # within a day of the due date with room for failures, and 96 runs of up to 30 s a day for a backlog
    assert spec["ScheduleExpression"] == "rate(15 minutes)"
    assert spec["State"] == "ENABLED"
    [target] = spec["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["PostCallFunction", "Arn"]}
    # And the event it sends is the one the handler routes to the sweep
    assert events.is_sweep_event(json.loads(target["Input"]))
    permission = props(cfn, "RetentionSweepSchedulePermission")
    assert permission["SourceArn"] == {"Fn::GetAtt": ["RetentionSweepSchedule", "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"


def test_the_alarm_watches_the_metric_the_sweep_emits(cfn):
    alarm = props(cfn, "RetentionSweepFailedAlarm")
    assert alarm["MetricName"] == Metric.RETENTION_SWEEP_FAILED == "RetentionSweepFailed"
    assert alarm["Namespace"] == "AgenticMemory"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "post-call"}]
    # three failing hours in a row: time to act before a day has passed
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3600, 3, 3)
    assert Metric.MEMORIES_EXPIRED == "MemoriesExpired"


def test_the_audit_table_is_encrypted_recoverable_and_expires_its_records(cfn):
    spec = props(cfn, "AuditTable")
    assert spec["BillingMode"] == "PAY_PER_REQUEST"
    # encrypted: with the customer-managed key when KmsKeyArn is set (tests/infra/test_adoption_template.py)
    assert spec["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
    }
    assert spec["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert spec["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    env = props(cfn, "PostCallFunction")["Environment"]["Variables"]
    assert env["AUDIT_TABLE"] == {"Ref": "AuditTable"}
    assert env["AUDIT_RETENTION_DAYS"] == {"Ref": "AuditRetentionDays"}
    assert cfn["Parameters"]["AuditRetentionDays"]["Default"] == 400
    assert cfn["Outputs"]["AuditTableName"]["Value"] == {"Ref": "AuditTable"}


def test_the_functions_may_only_append_to_the_audit_trail(cfn):
    table = {"Fn::GetAtt": ["AuditTable", "Arn"]}
    granted = {
        (role, sid): statement["Action"]
        for role in ("ClientDataRole", "RetrieveRole", "PostCallRole")
        for sid, statement in statements(cfn, role).items()
        if statement.get("Resource") == table
    }
    assert granted == {("PostCallRole", "AppendAuditRecords"): "dynamodb:PutItem"}


def test_the_operator_policy_grants_what_the_tool_uses_and_no_wildcard(cfn):
    document = props(cfn, "MemoryOperatorPolicy")["PolicyDocument"]
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    assert set(by_sid) == {"FindTheStack", "ReadWorkerSettings", "RunTheSweepNow", "CallerProfiles", "AuditTrail"}
    for statement in by_sid.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions)
        assert statement["Resource"] != "*"
    # The audit trail can be added to and read; a record can never be deleted by the tool's operators
    assert "dynamodb:DeleteItem" not in by_sid["AuditTrail"]["Action"]
