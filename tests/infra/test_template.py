"""template.yaml holds what the product needs from AWS, and no more.

Most checks read the transformed template (what CloudFormation really creates); the few that are
about the SAM source itself (parameters, the layer's build metadata) read the raw template.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import validate_template

from agentic_memory.observability import Metric

ROOT = Path(validate_template.ROOT)

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
# Secrets that may be left empty: the stack generates the workspace key, and the webhook's HMAC secret is set
# once the webhook exists (scripts/stack_secret.py): one deploy, not two (issue 24).
OPTIONAL_SECRETS = ("ElevenLabsWorkspaceKey", "ElevenLabsHmacKey")
POST_CALL_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-post-call"

# DESIGN.md section 5, plus the knobs the template adds, per function. Exact: a secret a function does
# not use must not be in its environment.
COMMON_ENV = {
    # The secret's ARN, never the key (stores/secret_store.py reads it; issue 24).
    "MEM0_API_KEY_SECRET_ARN": {"Ref": "Mem0ApiKeySecret"},
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
    # identity, scope, disclosure, retention and redaction (DESIGN.md section 7)
    "CALLER_DISCLOSURE": {"Ref": "CallerDisclosure"},
    "MEMORY_SCOPE": {"Ref": "MemoryScope"},
    "DEFAULT_REGION": {"Ref": "DefaultRegion"},
    "AGENT_PHONE_NUMBERS": {"Ref": "AgentPhoneNumbers"},
    "MEMORY_RETENTION_DAYS": {"Ref": "MemoryRetentionDays"},
    "REDACT_PII": {"Ref": "RedactPii"},
    # agents opt in (issue 20): every path asks the same list
    "MEMORY_AGENT_IDS": {"Ref": "MemoryAgentIds"},
}
EXPECTED_ENV = {
    "ClientDataFunction": COMMON_ENV
    | {
        "ELEVENLABS_WORKSPACE_KEY_SECRET_ARN": {"Ref": "WorkspaceKeySecret"},
        "CONVERSATION_OVERRIDE": {"Ref": "ConversationOverride"},
        "POWERTOOLS_SERVICE_NAME": "client-data",
        # the caller profile (tests/infra/test_profile_table.py)
        "PROFILE_TABLE": {"Ref": "ProfileTable"},
        # user_id in the initiation answer (off by default: docs/elevenlabs-setup.md)
        "SEND_USER_ID": {"Ref": "SendUserId"},
    },
    "RetrieveFunction": COMMON_ENV
    | {
        "ELEVENLABS_WORKSPACE_KEY_SECRET_ARN": {"Ref": "WorkspaceKeySecret"},
        "POWERTOOLS_SERVICE_NAME": "retrieve",
        # web calls: the conversation's user_id from the conversations API
        "ELEVENLABS_API_KEY_SECRET_ARN": {"Fn::If": ["HasElevenLabsApiKey", {"Ref": "ElevenLabsApiKeySecret"}, ""]},
        "ELEVENLABS_API_BASE": {"Ref": "ElevenLabsApiBase"},
        # our own lines' marks, the only keys its role may read (tests/infra/test_profile_table.py)
        "PROFILE_TABLE": {"Ref": "ProfileTable"},
    },
    "PostCallFunction": COMMON_ENV
    | {
        "ELEVENLABS_HMAC_KEY_SECRET_ARN": {"Ref": "HmacKeySecret"},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
        "POWERTOOLS_SERVICE_NAME": "post-call",
        "PROFILE_TABLE": {"Ref": "ProfileTable"},  # tests/infra/test_profile_table.py
        # reconcile (tests/infra/test_reconcile_template.py)
        "ELEVENLABS_API_KEY_SECRET_ARN": {"Fn::If": ["HasElevenLabsApiKey", {"Ref": "ElevenLabsApiKeySecret"}, ""]},
        "ELEVENLABS_API_BASE": {"Ref": "ElevenLabsApiBase"},
        "RECONCILE_AGENT_IDS": {"Ref": "ReconcileAgentIds"},
        "AUDIT_TABLE": {"Ref": "AuditTable"},
        "AUDIT_RETENTION_DAYS": {"Ref": "AuditRetentionDays"},
        # Mem0's quota and the wait queue (tests/infra/test_wait_queue_template.py)
        "DEFER_QUEUE_URL": {"Ref": "PostCallWaitQueue"},
        "MEM0_ADD_LIMIT": {"Ref": "Mem0AddLimit"},
        "MEM0_REQUEST_LIMIT": {"Ref": "Mem0RequestLimit"},
        "MEM0_THROTTLE_MAX_WAIT_HOURS": {"Ref": "ThrottleMaxWaitHours"},
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
    assert layer["Metadata"]["BuildMethod"] == "makefile"  # layer/Makefile (tests/infra/test_layer.py)
    assert layer["Properties"]["ContentUri"] == "layer/"
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    for logical_id in FUNCTIONS:
        assert props(cfn, logical_id)["Architectures"] == [architecture]


def test_each_api_has_its_post_route_and_any_other_method_reaches_the_same_function_on_stage_prod(cfn):
    # Given each HTTP API, Then its one path has a POST route and an ANY route with the same Lambda
    # integration: a wrong method (a server tool left on GET) reaches the function, which answers 405.
    apis = of_type(cfn, "AWS::ApiGatewayV2::Api")
    assert set(apis) == set(APIS)
    stages = of_type(cfn, "AWS::ApiGatewayV2::Stage")
    for api_id, function_id in APIS.items():
        route = FUNCTIONS[function_id][2]
        paths = props(cfn, api_id)["Body"]["paths"]
        # The route, and GET / for the health answer (edge/health.py), served by the same function.
        assert sorted(paths) == ["/", route]
        assert sorted(paths["/"]) == ["get"]
        health = paths["/"]["get"]["x-amazon-apigateway-integration"]
        assert function_id in json.dumps(health["uri"])
        assert sorted(paths[route]) == ["post", "x-amazon-apigateway-any-method"]
        integration = paths[route]["post"]["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert integration["payloadFormatVersion"] == "2.0"
        assert function_id in json.dumps(integration["uri"])
        other = paths[route]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        assert other == integration
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
        # Every method of the path may invoke it (the ANY route answers 405 from the function).
        assert permission["SourceArn"]["Fn::Sub"].endswith(f"${{{api_id}}}/*/*{FUNCTIONS[function_id][2]}")
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
    # And one group for the three APIs' access logs (tests/infra/test_adoption_template.py).
    assert set(of_type(cfn, "AWS::Logs::LogGroup")) == set(LOG_GROUPS.values()) | {"ApiAccessLogGroup"}
    assert cfn["Parameters"]["LogRetentionDays"]["Default"] == 7


def test_secrets_are_noecho_required_and_at_least_16_characters(raw):
    for name in SECRETS:
        parameter = raw["Parameters"][name]
        assert parameter["NoEcho"] is True
        assert "AllowedPattern" in parameter
        if name in OPTIONAL_SECRETS:
            # Empty is allowed (generated, or set later); anything else is as strong as a required secret.
            assert parameter["Default"] == ""
            assert parameter["AllowedPattern"].startswith("^$|")
            assert "{16,}" in parameter["AllowedPattern"]
        else:
            assert parameter["MinLength"] >= 16
            assert "Default" not in parameter
    # Any other secret parameter (NoEcho) follows the same rules; an optional one may be left empty.
    for name, parameter in raw["Parameters"].items():
        if parameter.get("NoEcho"):
            assert "AllowedPattern" in parameter, name
            assert parameter.get("MinLength", 0) >= 16 or parameter.get("Default") == "", name


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
    # and the queue where calls wait for their turn at Mem0 (tests/infra/test_wait_queue_template.py); the
    # reconcile schedule has its own (tests/infra/test_reconcile_template.py).
    assert set(of_type(cfn, "AWS::SQS::Queue")) == {
        "PostCallDeadLetterQueue",
        "PostCallWaitQueue",
        "ReconcileDeadLetterQueue",
        "RetentionSweepDeadLetterQueue",
    }
    queue = props(cfn, "PostCallDeadLetterQueue")
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    # SQS-managed encryption, or the customer-managed key when KmsKeyArn is set: never unencrypted.
    assert queue["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", {"Ref": "AWS::NoValue"}, True]}
    assert queue["KmsMasterKeyId"] == {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    # The destination writes with the function's role: exactly one statement allows it.
    sends = [
        s
        for s in statements(cfn, "PostCallRole")
        if "sqs:SendMessage" in as_list(s["Action"]) and s["Resource"] != {"Fn::GetAtt": ["PostCallWaitQueue", "Arn"]}
    ]
    assert sends == [
        {
            "Sid": "OnFailureDestination",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["PostCallDeadLetterQueue", "Arn"]},
        }
    ]


def test_idempotency_table_matches_powertools_defaults(cfn):
    # Three tables: these records, the caller profiles (tests/infra/test_profile_table.py) and the audit
    # trail (tests/infra/test_retention_template.py).
    assert set(of_type(cfn, "AWS::DynamoDB::Table")) == {"IdempotencyTable", "ProfileTable", "AuditTable"}
    table_id = "IdempotencyTable"
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
    # TracingOn, and nothing else: no managed policies, no data access but client-data's reading of
    # caller profiles and retrieve's of our lines' marks (checked in tests/infra/test_profile_table.py).
    for function_id in ("ClientDataFunction", "RetrieveFunction"):
        role_id = ROLES[function_id]
        assert props(cfn, function_id)["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
        role = props(cfn, role_id)
        assert "ManagedPolicyArns" not in role
        by_sid = {s["Sid"]: s for s in statements(cfn, role_id)}
        profiles = {"ReadCallerProfiles"} if function_id == "ClientDataFunction" else {"ReadOwnLineMarks"}
        # Its own secrets and the optional customer-managed key (tests/infra/test_adoption_template.py).
        assert set(by_sid) == {"WriteOwnLogs", "XRay", "ReadOwnSecrets", "UseStackKey"} | profiles
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
        "CallerProfiles",  # tests/infra/test_profile_table.py
        "RetentionDueLines",  # the retention sweep: tests/infra/test_profile_table.py
        "RetentionDeletes",
        "AppendAuditRecords",  # tests/infra/test_retention_template.py
        "OwnLineMarks",  # the same
        "OnFailureDestination",
        "WaitForMem0",  # tests/infra/test_wait_queue_template.py
        "WaitQueueEventSource",
        "XRay",
        "ReadOwnSecrets",  # tests/infra/test_adoption_template.py
        "UseStackKey",
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
    schedule = ("QueueName", json.dumps({"Fn::GetAtt": ["ReconcileDeadLetterQueue", "QueueName"]}), 1)
    sweep = ("QueueName", json.dumps({"Fn::GetAtt": ["RetentionSweepDeadLetterQueue", "QueueName"]}), 1)
    assert watched("AWS/SQS", "ApproximateNumberOfMessagesVisible") == {queue, schedule, sweep}
    waiting = ("QueueName", json.dumps({"Fn::GetAtt": ["PostCallWaitQueue", "QueueName"]}), 2000)
    assert watched("AWS/SQS", "ApproximateNumberOfMessagesDelayed") == {waiting}
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


# ---------------------------------------------------------------------- secret parameters refuse placeholders

# Constructs that mean something else (or nothing) in Java's java.util.regex, the dialect CloudFormation
# evaluates AllowedPattern in ("Using regular expressions in CloudFormation templates", AWS docs):
# Python-only named groups and anchors, possessive and atomic forms, Java-only escapes and class
# intersection. A pattern free of them matches the same strings in both.
_NOT_PORTABLE = re.compile(r"\(\?P|\\[AZzhHRQEpPG]|[*+?}]\+|\(\?>|&&")
PLACEHOLDERS = (
    "REPLACE_ME",
    "REPLACE_ME_WORKSPACE_KEY_0123456789",
    "changeme-changeme-changeme",
    "xxxxxxxxxxxxxxxxxxxxxxxx",
    "XXXX-XXXX-XXXX-XXXX-XXXX",
    "your-workspace-key-goes-here",
    "<your-secret-here-please>",
    "example-secret-value-1234",
    "aaaaaaaaaaaaaaaaaaaaaaaa",
    "0123456789abcdef0123456789abcdef",
    "short-key",
    "has spaces in it but long",
)
ENV_NAMES = {
    "MEM0_API_KEY": "Mem0ApiKey",
    "ELEVENLABS_WORKSPACE_KEY": "ElevenLabsWorkspaceKey",
    "ELEVENLABS_HMAC_KEY": "ElevenLabsHmacKey",
    "ELEVENLABS_API_KEY": "ElevenLabsApiKey",
}


def secret_parameters(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every NoEcho parameter: the three required secrets and any optional one (an API key)."""
    found = {name: p for name, p in raw["Parameters"].items() if p.get("NoEcho")}
    assert set(SECRETS) <= set(found)
    return found


def accepts(parameter: dict[str, Any], value: str) -> bool:
    """CloudFormation's checks of a String parameter value: MinLength, MaxLength, AllowedValues and
    AllowedPattern, which must match the whole value (Java's Pattern.matches, here re.fullmatch)."""
    if not parameter.get("MinLength", 0) <= len(value) <= parameter.get("MaxLength", 4096):
        return False
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        return False
    pattern = parameter.get("AllowedPattern")
    if pattern is None:
        return True
    assert not _NOT_PORTABLE.search(pattern), f"not portable to Java regex: {pattern}"
    return re.fullmatch(pattern, value) is not None


def example_secret_values() -> dict[str, set[str]]:
    """Every secret value written in the example configuration, the README and the `sam local` environment
    file, by parameter."""

    found: dict[str, set[str]] = {name: set() for name in ENV_NAMES.values()}
    samconfig = tomllib.loads((ROOT / "samconfig.toml.example").read_text(encoding="utf-8"))
    overrides = samconfig["default"]["deploy"]["parameters"]["parameter_overrides"]
    for pair in shlex.split(overrides):
        name, _, value = pair.partition("=")
        if name in found:
            found[name].add(value)
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        name, sep, value = line.lstrip("# ").partition("=")
        if sep and name in ENV_NAMES:
            found[ENV_NAMES[name]].add(value.strip().strip("\"'"))
    # The plain keys `sam local invoke` is given (the README's --env-vars file; issue 24).
    local = json.loads((ROOT / "events" / "local-env.json").read_text(encoding="utf-8"))["Parameters"]
    for name, value in local.items():
        if name in ENV_NAMES and value:
            found[ENV_NAMES[name]].add(value)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, value in re.findall(r"\b(" + "|".join(ENV_NAMES.values()) + r")=(\"[^\"]*\"|\S+)", readme):
        value = value.strip('"')
        if not value.startswith("$"):  # a shell variable the reader fills in
            found[name].add(value)
    return found


def test_no_placeholder_in_the_examples_passes_the_secret_parameters_rules(raw):
    # Given every secret value the example files and the README show (samconfig.toml.example's
    # REPLACE_ME values, .env.example's, the README's sam local invoke test keys),
    # When CloudFormation would check them against the parameters' rules,
    # Then every one is refused: a stack deployed from the examples as written cannot be created.
    examples = example_secret_values()
    assert all(examples[name] for name in SECRETS), examples  # the examples do show values to check
    for name, values in examples.items():
        if name not in raw["Parameters"]:
            continue
        parameter = raw["Parameters"][name]
        for value in values:
            if value == "" and parameter.get("Default") == "":
                continue  # an optional secret left empty is simply off
            assert not accepts(parameter, value), (name, value)


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_common_placeholders_and_weak_values_are_refused(raw, placeholder):
    for name, parameter in secret_parameters(raw).items():
        assert not accepts(parameter, placeholder), name


def test_strong_random_keys_and_real_key_shapes_pass(raw):
    # Given keys as `make secret` makes them (secrets.token_urlsafe(32)), Mem0's m0-... keys and
    # ElevenLabs' wsec_... webhook secrets, Then every secret parameter accepts them.

    keys = [secrets.token_urlsafe(32) for _ in range(2000)]
    for name, parameter in secret_parameters(raw).items():
        refused = [key for key in keys if not accepts(parameter, key)]
        assert refused == [], name
    assert accepts(raw["Parameters"]["Mem0ApiKey"], "m0-" + secrets.token_hex(20))
    assert accepts(raw["Parameters"]["ElevenLabsHmacKey"], "wsec_" + secrets.token_hex(32))


def test_rotation_lists_pass_only_when_every_key_is_strong(raw):

    new, old = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    for name in ("ElevenLabsWorkspaceKey", "ElevenLabsHmacKey"):
        parameter = raw["Parameters"][name]
        assert accepts(parameter, f"{new},{old}")
        assert accepts(parameter, f"{new}, {old}")
        assert not accepts(parameter, f"{new},REPLACE_ME")
        assert not accepts(parameter, f"{new},short")
        assert not accepts(parameter, f"{new},")
    # The Mem0 key is one key: a list there is a mistake.
    assert not accepts(raw["Parameters"]["Mem0ApiKey"], f"{new},{old}")


def test_make_secret_prints_a_key_the_template_accepts(raw):

    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "secret"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    key = result.stdout.strip()
    assert len(key) >= 40
    for name in ("ElevenLabsWorkspaceKey", "ElevenLabsHmacKey"):
        assert accepts(raw["Parameters"][name], key)


# ---------------------------------------------------------------------- the dashboard


def dashboard_body(cfn: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The dashboard's JSON with its !Sub variables left as ``${...}`` text, and those variables."""
    ((_, dashboard),) = of_type(cfn, "AWS::CloudWatch::Dashboard").items()
    template = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(template, str)
    return json.loads(template), set(re.findall(r"\$\{([^}!]+)\}", template))


def dashboard_metrics(body: dict[str, Any]) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """(widget title, metric row without its options, options) for every metric of every widget."""
    rows = []
    for widget in body["widgets"]:
        for row in widget["properties"]["metrics"]:
            options = row[-1] if isinstance(row[-1], dict) else {}
            rows.append((widget["properties"]["title"], [v for v in row if not isinstance(v, dict)], options))
    return rows


def test_dashboard_shows_what_operators_watch(cfn):

    body, variables = dashboard_body(cfn)
    # Only the region and the dead-letter queue are substituted: nothing else may be left unresolved.
    assert variables == {"AWS::Region", "PostCallDeadLetterQueue.QueueName"}
    rows = dashboard_metrics(body)
    services = {props(cfn, f)["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] for f in FUNCTIONS}
    ours = {(row[1], row[3]) for _, row, _ in rows if row and row[0] == "AgenticMemory"}
    emitted = {value for key, value in vars(Metric).items() if key.isupper()}
    # Every custom metric is one the code emits (ConversationsRecovered: the reconcile schedule's),
    # under the `service` dimension that Powertools sets from POWERTOOLS_SERVICE_NAME.
    assert {name for name, _ in ours} <= emitted | {"ConversationsRecovered"}
    assert all(row[2] == "service" and row[3] in services for _, row, _ in rows if row and row[0] == "AgenticMemory")
    wanted = {
        ("JobAccepted", "post-call"),  # calls remembered
        ("MemoriesWritten", "post-call"),
        ("CallerReturning", "client-data"),  # returning-caller rate
        ("CallerNew", "client-data"),
        ("DegradedAnswer", "client-data"),
        ("DegradedAnswer", "retrieve"),
        ("Mem0Errors", "client-data"),
        ("Mem0Errors", "retrieve"),
        ("Mem0Errors", "post-call"),
        ("ConversationsRecovered", "post-call"),
        ("SignatureRejected", "post-call"),
    }
    assert wanted <= ours
    latency_stats = {
        (row[3], options.get("stat")) for _, row, options in rows if row[:2] == ["AgenticMemory", "Mem0Latency"]
    }
    assert latency_stats == {(s, stat) for s in ("client-data", "retrieve", "post-call") for stat in ("p50", "p95")}
    depth = [row for _, row, _ in rows if row[:2] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible"]]
    assert depth == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${PostCallDeadLetterQueue.QueueName}"]
    ]


def test_returning_caller_rate_is_metric_math_over_returning_and_new(cfn):
    body, _ = dashboard_body(cfn)
    rows = dashboard_metrics(body)
    ids = {row[1]: options["id"] for _, row, options in rows if row and row[0] == "AgenticMemory" and "id" in options}
    (expression,) = [options["expression"] for _, row, options in rows if not row and "expression" in options]
    # The rate divides returning callers by all answered callers (returning + new), as a percentage.
    returning, new = ids["CallerReturning"], ids["CallerNew"]
    assert re.fullmatch(rf"100 \* {returning} / \({returning} \+ {new}\)", expression)
    hidden = [options for _, row, options in rows if options.get("id") in (returning, new)]
    assert all(options.get("visible") is False for options in hidden)


def test_dashboard_widgets_fit_the_grid_without_overlapping(cfn):
    body, _ = dashboard_body(cfn)
    assert body["widgets"], "the dashboard has no widgets to check"
    cells = set()
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        columns = range(widget["x"], widget["x"] + widget["width"])
        area = {(x, y) for x in columns for y in range(widget["y"], widget["y"] + widget["height"])}
        assert not cells & area, widget["properties"]["title"]
        cells |= area
        assert widget["properties"]["region"] == "${AWS::Region}"


def test_dashboard_url_is_a_stack_output(cfn):
    ((dashboard_id, dashboard),) = of_type(cfn, "AWS::CloudWatch::Dashboard").items()
    assert dashboard["Properties"]["DashboardName"] == {"Fn::Sub": "${AWS::StackName}"}
    url = cfn["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url == (
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        f"#dashboards:name=${{{dashboard_id}}}"
    )
