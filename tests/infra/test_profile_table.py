"""The caller profile table in template.yaml: what stores/profile_table.py needs from it, and who may do what.

DESIGN.md section 6 and issue 11: on demand, TTL on the profile's expiry, point-in-time recovery,
encryption; client-data may only read it, the worker may write it (and nothing more). Issue 20: our own
lines' marks live in a partition of their own (stores/line_marks.py); retrieve may read that partition and
nothing else, and the worker may list and delete marks there but never a caller's item.
"""

from __future__ import annotations

from typing import Any

from agentic_memory.stores import line_marks
from agentic_memory.stores import profile_table as profile


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def statements(template: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    """A role's inline statements by Sid, a conditional one (``Fn::If``) as its true branch. Every statement
    has a Sid: one without fails here rather than escaping the checks below."""
    found = {}
    for policy in props(template, role_id)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found[statement["Sid"]] = statement
    return found


def resources(statement: dict[str, Any]) -> list[Any]:
    value = statement["Resource"]
    return value if isinstance(value, list) else [value]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return sorted([value] if isinstance(value, str) else value)


def touching_the_profile_table(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    target = {"Fn::GetAtt": ["ProfileTable", "Arn"]}
    return [s for s in statements(template, role_id).values() if s.get("Resource") == target]


def test_the_table_is_on_demand_encrypted_recoverable_and_expires_profiles(cfn):
    table = cfn["Resources"]["ProfileTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    spec = table["Properties"]
    assert spec["BillingMode"] == "PAY_PER_REQUEST"
    # Encrypted at rest: DynamoDB's AWS-managed key, or the customer-managed KmsKeyArn when set (issue 24).
    assert spec["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
    }
    assert spec["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # TTL on the attribute stores/profile_table.py writes the expiry to
    assert spec["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "expires_at" in profile.MANAGED


def test_the_key_is_the_one_profile_py_reads_and_writes(cfn):
    spec = props(cfn, "ProfileTable")
    assert spec["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert spec["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        # the keys of the retention ledger's sparse index (stores/retention_ledger.py), nothing else
        {"AttributeName": "due_bucket", "AttributeType": "S"},
        {"AttributeName": "due_at", "AttributeType": "N"},
    ]
    assert set(profile.item_key("+14155550123", "agent_1")) == {"pk", "sk"}


def test_the_ledger_index_is_the_one_the_sweep_queries(cfn):
    from agentic_memory.stores import retention_ledger

    [index] = props(cfn, "ProfileTable")["GlobalSecondaryIndexes"]
    assert index["IndexName"] == retention_ledger.DUE_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "due_bucket", "KeyType": "HASH"},
        {"AttributeName": "due_at", "KeyType": "RANGE"},
    ]
    # Given a ledger line as the worker writes it, When its item is built, Then it carries both index keys
    from agentic_memory.domain.retention import DueEntry

    item = retention_ledger._item(DueEntry("+14155550123", "call", "conv_1", 100, 50))
    assert {"due_bucket", "due_at"} <= set(item)
    assert "expires_at" not in item  # a ledger line never expires by TTL: what it points at would stay


def only_the_marks(statement: dict[str, Any]) -> bool:
    """The statement's keys are limited to the marks' partition (IAM's dynamodb:LeadingKeys)."""
    condition = statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
    return condition.get("dynamodb:LeadingKeys") == [line_marks.MARKS_PK]


def test_every_function_gets_the_table(cfn):
    env = {
        name: props(cfn, name)["Environment"]["Variables"]
        for name in ("ClientDataFunction", "PostCallFunction", "RetrieveFunction")
    }
    for variables in env.values():
        assert variables["PROFILE_TABLE"] == {"Ref": "ProfileTable"}


def test_client_data_may_only_read(cfn):
    [statement] = touching_the_profile_table(cfn, "ClientDataRole")
    assert statement["Effect"] == "Allow"
    # One BatchGetItem per call (the profiles and the marks); GetItem where boto3 reads one item
    assert actions(statement) == ["dynamodb:BatchGetItem", "dynamodb:GetItem"]


def test_the_worker_may_read_and_write_profiles_delete_and_list_only_marks_and_due_lines(cfn):
    by_sid = {s["Sid"]: s for s in touching_the_profile_table(cfn, "PostCallRole")}
    assert set(by_sid) == {"CallerProfiles", "OwnLineMarks", "RetentionDeletes"}
    assert actions(by_sid["CallerProfiles"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert "Condition" not in by_sid["CallerProfiles"]
    assert actions(by_sid["OwnLineMarks"]) == ["dynamodb:DeleteItem", "dynamodb:Query"]
    assert only_the_marks(by_sid["OwnLineMarks"])
    # the retention sweep deletes ledger lines, and the profiles of callers of whom nothing is left
    assert actions(by_sid["RetentionDeletes"]) == ["dynamodb:DeleteItem"]
    # its queries reach the ledger's index only, never the whole table
    index = statements(cfn, "PostCallRole")["RetentionDueLines"]
    assert actions(index) == ["dynamodb:Query"]
    assert index["Resource"] == {"Fn::Sub": "${ProfileTable.Arn}/index/retention-due"}
    every = [action for statement in statements(cfn, "PostCallRole").values() for action in actions(statement)]
    assert "dynamodb:Scan" not in every


def test_retrieve_may_read_only_the_marks_of_our_lines(cfn):
    [statement] = touching_the_profile_table(cfn, "RetrieveRole")
    assert actions(statement) == ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
    assert only_the_marks(statement)
    # and a mark's key is in that partition, a caller's never is
    assert line_marks.key("+14155550123")["pk"] == {"S": line_marks.MARKS_PK}
    assert profile.item_key("+14155550123", None)["pk"] != {"S": line_marks.MARKS_PK}


def test_no_role_reaches_the_table_through_a_wildcard(cfn):
    granting = {
        (role_id, sid): statement
        for role_id in ("ClientDataRole", "RetrieveRole", "PostCallRole")
        for sid, statement in statements(cfn, role_id).items()
        if any(action == "*" or action.startswith("dynamodb:") for action in actions(statement))
    }
    # The check has something to check: at least the profile grants above are among them
    assert {
        ("ClientDataRole", "ReadCallerProfiles"),
        ("PostCallRole", "CallerProfiles"),
        ("RetrieveRole", "ReadOwnLineMarks"),
    } <= set(granting)
    wildcards = [
        key
        for key, statement in granting.items()
        if "*" in resources(statement) or {"*", "dynamodb:*"} & set(actions(statement))
    ]
    assert wildcards == []


def test_the_table_name_is_an_output_for_the_scripts(cfn):
    assert cfn["Outputs"]["ProfileTableName"]["Value"] == {"Ref": "ProfileTable"}
