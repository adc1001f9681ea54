"""template.yaml holds what the product needs from AWS, and no more.

Most checks read the transformed template (what CloudFormation really creates); the few that are
about the SAM source itself (parameters, the layer's build metadata) read the raw template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import validate_template

FUNCTIONS = {
    # logical id: (name suffix, handler, route, timeout)
    "ClientDataFunction": ("client-data", "client_data.handler.lambda_handler", "/client-data", 5),
    "RetrieveFunction": ("retrieve", "retrieve.handler.lambda_handler", "/retrieve", 5),
    "PostCallFunction": ("post-call", "post_call.handler.lambda_handler", "/post-call", 30),
}
APIS = {"ClientDataApi": "ClientDataFunction", "RetrieveApi": "RetrieveFunction", "PostCallApi": "PostCallFunction"}
LOG_GROUPS = {
    "ClientDataFunction": "ClientDataLogGroup",
    "RetrieveFunction": "RetrieveLogGroup",
    "PostCallFunction": "PostCallLogGroup",
}
ROLES = {"ClientDataFunction": "ClientDataRole", "RetrieveFunction": "RetrieveRole", "PostCallFunction": "PostCallRole"}
SECRETS = ("Mem0ApiKey", "ElevenLabsWorkspaceKey", "ElevenLabsHmacKey")
POST_CALL_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-post-call"

# DESIGN.md section 5, plus the knobs the template adds, per function. Exact: a secret a function does
# not use must not be in its environment.
COMMON_ENV = {
    "MEM0_API_KEY": {"Ref": "Mem0ApiKey"},
    "MEM0_HOST": {"Ref": "Mem0Host"},
    "MEM0_ORG_ID": {"Ref": "Mem0OrgId"},
    "MEM0_PROJECT_ID": {"Ref": "Mem0ProjectId"},
    "MEM0_DIR": "/tmp/.mem0",
    "MEM0_TELEMETRY": "false",
    "MEM0_SEARCH_LIMIT": {"Ref": "Mem0SearchLimit"},
    "MEM0_TIMEOUT": {"Ref": "Mem0Timeout"},
    "MEM0_INTERACTIVE_TIMEOUT": {"Ref": "Mem0InteractiveTimeout"},
    "LOG_LEVEL": {"Ref": "LogLevel"},
    "POWERTOOLS_METRICS_NAMESPACE": "AgenticMemory",
}
EXPECTED_ENV = {
    "ClientDataFunction": COMMON_ENV
    | {
        "ELEVENLABS_WORKSPACE_KEY": {"Ref": "ElevenLabsWorkspaceKey"},
        "CONVERSATION_OVERRIDE": {"Ref": "ConversationOverride"},
        "POWERTOOLS_SERVICE_NAME": "client-data",
    },
    "RetrieveFunction": COMMON_ENV
    | {
        "ELEVENLABS_WORKSPACE_KEY": {"Ref": "ElevenLabsWorkspaceKey"},
        "POWERTOOLS_SERVICE_NAME": "retrieve",
    },
    "PostCallFunction": COMMON_ENV
    | {
        "ELEVENLABS_HMAC_KEY": {"Ref": "ElevenLabsHmacKey"},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
        "POWERTOOLS_SERVICE_NAME": "post-call",
    },
}


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: res for key, res in template["Resources"].items() if res["Type"] == resource_type}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Inline statements of a role; a conditional statement is returned as its true branch, marked."""
    found = []
    for policy in props(template, role_id).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                condition, when_true, when_false = statement["Fn::If"]
                assert when_false == {"Ref": "AWS::NoValue"}
                found.append({**when_true, "_condition": condition})
            else:
                found.append(statement)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_cfn_lint_reports_nothing_on_raw_and_transformed(findings):
    # Given template.yaml, When cfn-lint checks it as written and as transformed,
    # Then there is no error and no warning (nor anything else).
    assert [str(finding) for finding in findings] == []


def test_three_python312_arm64_functions_share_the_layer(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    (layer_id,) = of_type(cfn, "AWS::Lambda::LayerVersion")
    for logical_id, (suffix, handler, _route, timeout) in FUNCTIONS.items():
        p = props(cfn, logical_id)
        assert p["Runtime"] == "python3.12"
        assert p["Architectures"] == ["arm64"]
        assert p["MemorySize"] == 256
        assert p["Handler"] == handler
        assert p["Timeout"] == timeout
        assert p["Layers"] == [{"Ref": layer_id}]
        assert p["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"}
        # CodeUri: src/ for all three (the validator swapped it for one placeholder).
        assert p["Code"] == {"S3Bucket": "bucket", "S3Key": "codeuri/src.zip"}


def test_layer_is_built_for_the_functions_architecture(raw, cfn):
    layer = raw["Resources"]["Mem0Layer"]
    architecture = layer["Metadata"]["BuildArchitecture"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert layer["Properties"]["ContentUri"] == "layer/"
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    for logical_id in FUNCTIONS:
        assert props(cfn, logical_id)["Architectures"] == [architecture]


def test_each_api_has_exactly_its_post_route_on_stage_prod(cfn):
    apis = of_type(cfn, "AWS::ApiGatewayV2::Api")
    assert set(apis) == set(APIS)
    stages = of_type(cfn, "AWS::ApiGatewayV2::Stage")
    for api_id, function_id in APIS.items():
        route = FUNCTIONS[function_id][2]
        paths = props(cfn, api_id)["Body"]["paths"]
        assert list(paths) == [route]
        assert list(paths[route]) == ["post"]
        integration = paths[route]["post"]["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert integration["payloadFormatVersion"] == "2.0"
        assert function_id in json.dumps(integration["uri"])
        (stage,) = [s["Properties"] for s in stages.values() if s["Properties"]["ApiId"] == {"Ref": api_id}]
        assert stage["StageName"] == "Prod"
        assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
        assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def test_interactive_apis_call_the_alias_only_when_it_carries_snapstart_or_provisioned_concurrency(cfn):
    # SnapStart and provisioned concurrency live on the `live` alias; otherwise $LATEST serves, so a
    # parameter-only change (a rotated key) takes effect at once.
    for api_id, function_id in (("ClientDataApi", "ClientDataFunction"), ("RetrieveApi", "RetrieveFunction")):
        target = {"Fn::If": ["UseLiveAlias", {"Ref": f"{function_id}Aliaslive"}, {"Fn::GetAtt": [function_id, "Arn"]}]}
        uri = props(cfn, api_id)["Body"]["paths"][FUNCTIONS[function_id][2]]["post"]
        assert uri["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"][1] == {"Target": target}
        permission = props(cfn, f"{api_id}Permission")
        assert permission["FunctionName"] == target
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["SourceArn"]["Fn::Sub"].endswith(f"${{{api_id}}}/*/POST{FUNCTIONS[function_id][2]}")
        function = props(cfn, function_id)
        assert function["SnapStart"] == {
            "Fn::If": ["SnapStartOn", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
        }
        alias = props(cfn, f"{function_id}Aliaslive")
        assert alias["ProvisionedConcurrencyConfig"]["Fn::If"][0] == "ProvisionedOn"
    assert cfn["Conditions"]["UseLiveAlias"] == {
        "Fn::Or": [{"Condition": "SnapStartOn"}, {"Condition": "ProvisionedOn"}]
    }
    assert "SnapStartOrProvisionedConcurrency" in cfn["Rules"]
    # post-call has no alias: its self-invocation and EventInvokeConfig both use $LATEST.
    assert "PostCallFunctionAliaslive" not in cfn["Resources"]


def test_log_groups_are_the_functions_own_with_retention(cfn):
    for function_id, group_id in LOG_GROUPS.items():
        function_name = props(cfn, function_id)["FunctionName"]["Fn::Sub"]
        group = props(cfn, group_id)
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert props(cfn, function_id)["LoggingConfig"]["LogGroup"] == {"Ref": group_id}
    assert set(of_type(cfn, "AWS::Logs::LogGroup")) == set(LOG_GROUPS.values())
    assert cfn["Parameters"]["LogRetentionDays"]["Default"] == 7


def test_secrets_are_noecho_and_required(raw):
    for name in SECRETS:
        parameter = raw["Parameters"][name]
        assert parameter["NoEcho"] is True
        assert parameter["MinLength"] == 1
        assert "Default" not in parameter


def test_post_call_may_invoke_itself_by_name_without_a_circular_dependency(cfn):
    (invoke,) = [s for s in statements(cfn, "PostCallRole") if s["Action"] == "lambda:InvokeFunction"]
    assert invoke["Resource"] == [{"Fn::Sub": POST_CALL_ARN}, {"Fn::Sub": f"{POST_CALL_ARN}:*"}]
    # The role must not reference the function it serves (function -> role -> function).
    assert "PostCallFunction" not in json.dumps(cfn["Resources"]["PostCallRole"])
    assert props(cfn, "PostCallFunction")["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-post-call"}


def test_failed_jobs_retry_twice_then_park_in_an_encrypted_14_day_queue(cfn):
    (config,) = of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
    p = config["Properties"]
    assert p["FunctionName"] == {"Ref": "PostCallFunction"}
    assert p["Qualifier"] == "$LATEST"
    assert p["MaximumRetryAttempts"] == 2
    assert p["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["PostCallDeadLetterQueue", "Arn"]}
    assert set(of_type(cfn, "AWS::SQS::Queue")) == {"PostCallDeadLetterQueue"}
    queue = props(cfn, "PostCallDeadLetterQueue")
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True
    # The destination writes with the function's role: exactly one statement allows it.
    sends = [s for s in statements(cfn, "PostCallRole") if "sqs:SendMessage" in as_list(s["Action"])]
    assert sends == [
        {
            "Sid": "OnFailureDestination",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["PostCallDeadLetterQueue", "Arn"]},
        }
    ]


def test_idempotency_table_matches_powertools_defaults(cfn):
    (table_id,) = of_type(cfn, "AWS::DynamoDB::Table")
    table = props(cfn, table_id)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    env = props(cfn, "PostCallFunction")["Environment"]["Variables"]
    assert env["IDEMPOTENCY_TABLE"] == {"Ref": table_id}


def test_every_environment_variable_is_set_where_it_belongs_and_nowhere_else(cfn):
    for function_id, expected in EXPECTED_ENV.items():
        assert props(cfn, function_id)["Environment"]["Variables"] == expected, function_id


def test_interactive_functions_may_only_write_their_logs_and_traces(cfn):
    # Given client-data and retrieve, Then their roles allow their own log group, X-Ray only under
    # TracingOn, and nothing else: no managed policies, no data access.
    for function_id in ("ClientDataFunction", "RetrieveFunction"):
        role_id = ROLES[function_id]
        assert props(cfn, function_id)["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
        role = props(cfn, role_id)
        assert "ManagedPolicyArns" not in role
        by_sid = {s["Sid"]: s for s in statements(cfn, role_id)}
        assert set(by_sid) == {"WriteOwnLogs", "XRay"}
        assert by_sid["WriteOwnLogs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert by_sid["WriteOwnLogs"]["Resource"] == {"Fn::GetAtt": [LOG_GROUPS[function_id], "Arn"]}
        assert by_sid["XRay"]["_condition"] == "TracingOn"
        assert all(action.startswith("xray:") for action in by_sid["XRay"]["Action"])


def test_post_call_role_holds_exactly_what_the_worker_uses(cfn):
    role = props(cfn, "PostCallRole")
    assert "ManagedPolicyArns" not in role
    by_sid = {s["Sid"]: s for s in statements(cfn, "PostCallRole")}
    assert set(by_sid) == {
        "WriteOwnLogs",
        "InvokeSelfAsynchronously",
        "IdempotencyRecords",
        "OnFailureDestination",
        "XRay",
    }
    dynamodb = by_sid["IdempotencyRecords"]
    assert sorted(dynamodb["Action"]) == sorted(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    )
    assert dynamodb["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert by_sid["XRay"]["_condition"] == "TracingOn"
    # No role besides the three explicit ones: SAM generated none with broader managed policies.
    assert set(of_type(cfn, "AWS::IAM::Role")) == set(ROLES.values())


def test_alarms_cover_errors_throttles_dead_letters_and_degraded_answers(cfn):
    alarms = [a["Properties"] for a in of_type(cfn, "AWS::CloudWatch::Alarm").values()]
    for alarm in alarms:
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        for actions in ("AlarmActions", "OKActions"):
            assert alarm[actions] == {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}

    def watched(namespace, metric):
        return {
            (d["Name"], json.dumps(d["Value"]), a["Threshold"])
            for a in alarms
            if a["Namespace"] == namespace and a["MetricName"] == metric
            for d in a["Dimensions"]
        }

    functions = {("FunctionName", json.dumps({"Ref": f}), 1) for f in FUNCTIONS}
    assert watched("AWS/Lambda", "Errors") == functions
    assert watched("AWS/Lambda", "Throttles") == functions
    queue = ("QueueName", json.dumps({"Fn::GetAtt": ["PostCallDeadLetterQueue", "QueueName"]}), 1)
    assert watched("AWS/SQS", "ApproximateNumberOfMessagesVisible") == {queue}
    degraded = {("service", json.dumps("client-data"), 5), ("service", json.dumps("retrieve"), 5)}
    assert watched("AgenticMemory", "DegradedAnswer") == degraded
    topic = cfn["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "HasAlarmEmail"
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]


def test_outputs_name_the_urls_queue_table_and_functions(cfn):
    outputs = cfn["Outputs"]
    for key, (api_id, route) in {
        "ClientDataApiUrl": ("ClientDataApi", "/client-data"),
        "RetrieveApiUrl": ("RetrieveApi", "/retrieve"),
        "PostCallApiUrl": ("PostCallApi", "/post-call"),
    }.items():
        url = outputs[key]["Value"]["Fn::Sub"]
        assert url == f"https://${{{api_id}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/Prod{route}"
    assert outputs["PostCallDeadLetterQueueUrl"]["Value"] == {"Ref": "PostCallDeadLetterQueue"}
    assert outputs["IdempotencyTableName"]["Value"] == {"Ref": "IdempotencyTable"}
    for function_id in FUNCTIONS:
        assert outputs[f"{function_id}Name"]["Value"] == {"Ref": function_id}


@pytest.mark.parametrize(
    ("correct", "broken", "rule"),
    [
        pytest.param("Runtime: python3.12\n", "Runtime: python3.99\n", "E3030", id="unknown-runtime"),
        pytest.param(
            f"- !Sub {POST_CALL_ARN}\n", "- !GetAtt PostCallFunction.Arn\n", "E3004", id="circular-dependency"
        ),
    ],
)
def test_validator_reports_a_broken_template(tmp_path: Path, template_path: Path, correct, broken, rule):
    # Given a copy of the template with one deliberate mistake, When it is validated,
    # Then the validator reports it (so the clean run above means something).
    text = template_path.read_text(encoding="utf-8")
    assert correct in text
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(correct, broken, 1), encoding="utf-8")
    assert rule in {finding.rule for finding in validate_template.lint(copy)}
    assert validate_template.main([str(copy)]) == 1
