"""The caller profile table in template.yaml: what stores/profile_table.py needs from it, and who may do what.

DESIGN.md section 6 and issue 11: on demand, TTL on the profile's expiry, point-in-time recovery,
encryption; client-data may only read it, the worker may write it (and nothing more).
"""

from __future__ import annotations

from typing import Any

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
    ]
    assert set(profile.item_key("+14155550123", "agent_1")) == {"pk", "sk"}


def test_client_data_and_the_worker_get_the_table_and_retrieve_does_not(cfn):
    env = {name: props(cfn, name)["Environment"]["Variables"] for name in ("ClientDataFunction", "PostCallFunction")}
    for variables in env.values():
        assert variables["PROFILE_TABLE"] == {"Ref": "ProfileTable"}
    assert "PROFILE_TABLE" not in props(cfn, "RetrieveFunction")["Environment"]["Variables"]


def test_client_data_may_only_read_one_item_at_a_time(cfn):
    [statement] = touching_the_profile_table(cfn, "ClientDataRole")
    assert statement["Effect"] == "Allow"
    assert actions(statement) == ["dynamodb:GetItem"]


def test_the_worker_may_read_and_write_profiles_but_not_delete_or_scan_them(cfn):
    [statement] = touching_the_profile_table(cfn, "PostCallRole")
    assert actions(statement) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]


def test_retrieve_has_no_access_to_profiles(cfn):
    assert touching_the_profile_table(cfn, "RetrieveRole") == []


def test_no_role_reaches_the_table_through_a_wildcard(cfn):
    granting = {
        (role_id, sid): statement
        for role_id in ("ClientDataRole", "RetrieveRole", "PostCallRole")
        for sid, statement in statements(cfn, role_id).items()
        if any(action == "*" or action.startswith("dynamodb:") for action in actions(statement))
    }
    # The check has something to check: at least the profile grants above are among them
    assert {("ClientDataRole", "ReadCallerProfiles"), ("PostCallRole", "CallerProfiles")} <= set(granting)
    wildcards = [
        key
        for key, statement in granting.items()
        if "*" in resources(statement) or {"*", "dynamodb:*"} & set(actions(statement))
    ]
    assert wildcards == []


def test_the_table_name_is_an_output_for_the_scripts(cfn):
    assert cfn["Outputs"]["ProfileTableName"]["Value"] == {"Ref": "ProfileTable"}
