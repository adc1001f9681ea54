"""What issue 24 asks of template.yaml: the secrets in Secrets Manager with only their ARNs in the functions'
environment, a first deploy in one round, access logs without caller data, the optional customer-managed key
and reserved concurrency, a health route per API, and scanner suppressions that each give a reason."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import scan_template
import validate_template

from agentic_memory.config import SECRET_ARN_SUFFIX, SECRET_PLACEHOLDER_PREFIX, SECRET_VARIABLES
from agentic_memory.edge import auth
from agentic_memory.errors import Unauthorized
from tests.infra.test_template import FUNCTIONS, ROLES, accepts, of_type, props, statements

ROOT = Path(validate_template.ROOT)
SECRET_RESOURCES = {
    "MEM0_API_KEY": "Mem0ApiKeySecret",
    "ELEVENLABS_WORKSPACE_KEY": "WorkspaceKeySecret",
    "ELEVENLABS_HMAC_KEY": "HmacKeySecret",
    "ELEVENLABS_API_KEY": "ElevenLabsApiKeySecret",
}
# Which secrets each function may read: exactly those it uses.
READS = {
    "ClientDataFunction": {"Mem0ApiKeySecret", "WorkspaceKeySecret"},
    "RetrieveFunction": {"Mem0ApiKeySecret", "WorkspaceKeySecret", "ElevenLabsApiKeySecret"},
    "PostCallFunction": {"Mem0ApiKeySecret", "HmacKeySecret", "ElevenLabsApiKeySecret"},
}
KMS_IF = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}


def environment(cfn: dict[str, Any], function_id: str) -> dict[str, Any]:
    return props(cfn, function_id)["Environment"]["Variables"]


def refs(value: Any) -> set[str]:
    """Every resource a value references with Ref (through Fn::If)."""
    return set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', json.dumps(value)))


def test_no_function_environment_holds_a_secret_only_the_arns(cfn):
    # Given the deployed functions' environments, Then no secret variable is there, each secret a function
    # uses is named by its ARN (a Ref to its Secrets Manager secret), and no NoEcho parameter is referenced.
    secret_parameters = {name for name, p in cfn["Parameters"].items() if p.get("NoEcho")}
    assert secret_parameters >= {"Mem0ApiKey", "ElevenLabsWorkspaceKey", "ElevenLabsHmacKey", "ElevenLabsApiKey"}
    for function_id in FUNCTIONS:
        env = environment(cfn, function_id)
        assert not set(SECRET_VARIABLES) & set(env), function_id
        assert not refs(env) & secret_parameters, function_id
        arns = {name.removesuffix(SECRET_ARN_SUFFIX) for name in env if name.endswith(SECRET_ARN_SUFFIX)}
        assert {SECRET_RESOURCES[name] for name in arns} == READS[function_id], function_id
        for name in arns:
            assert SECRET_RESOURCES[name] in refs(env[name + SECRET_ARN_SUFFIX])


def test_each_role_reads_exactly_its_own_secrets_and_the_key_only_when_set(cfn):
    for function_id, role_id in ROLES.items():
        by_sid = {s["Sid"]: s for s in statements(cfn, role_id)}
        read = by_sid["ReadOwnSecrets"]
        assert read["Action"] == "secretsmanager:GetSecretValue"
        assert refs(read["Resource"]) == READS[function_id], role_id
        key = by_sid["UseStackKey"]
        assert key["_condition"] == "HasKmsKey"
        assert key["Resource"] == {"Ref": "KmsKeyArn"}
        assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_the_secrets_come_from_the_parameters_or_are_made_by_the_stack(cfn):
    secrets = of_type(cfn, "AWS::SecretsManager::Secret")
    assert set(secrets) == set(SECRET_RESOURCES.values())
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"] == KMS_IF
        assert "Name" not in secret["Properties"]  # a fixed name would block a new stack of the same name
    assert secrets["ElevenLabsApiKeySecret"]["Condition"] == "HasElevenLabsApiKey"
    assert props(cfn, "Mem0ApiKeySecret")["SecretString"] == {"Ref": "Mem0ApiKey"}
    # The workspace key: the parameter's value, or generated (letters and digits: safe in a header, no comma).
    workspace = props(cfn, "WorkspaceKeySecret")
    assert workspace["SecretString"] == {
        "Fn::If": ["HasWorkspaceKey", {"Ref": "ElevenLabsWorkspaceKey"}, {"Ref": "AWS::NoValue"}]
    }
    generated = workspace["GenerateSecretString"]["Fn::If"]
    assert generated[:2] == ["HasWorkspaceKey", {"Ref": "AWS::NoValue"}]
    assert generated[2]["PasswordLength"] >= 32
    assert generated[2]["ExcludePunctuation"] is True


def test_a_first_deploy_needs_no_webhook_secret_and_its_placeholder_fails_closed(cfn, raw):
    # Given the HMAC parameter left empty (the webhook that gives it needs the stack's URL)
    assert raw["Parameters"]["ElevenLabsHmacKey"]["Default"] == ""
    condition, given, placeholder = props(cfn, "HmacKeySecret")["SecretString"]["Fn::If"]
    assert (condition, given) == ("HasHmacKey", {"Ref": "ElevenLabsHmacKey"})
    # Then the stack stores a placeholder that the post-call check refuses, even when it signs the request,
    assert placeholder.startswith(SECRET_PLACEHOLDER_PREFIX)
    body = b"{}"
    with pytest.raises(Unauthorized):
        auth.verify_signature(auth.sign(body, placeholder, 1_700_000_000), body, (placeholder,),
                              tolerance_seconds=60, now=1_700_000_000)  # fmt: skip
    # and the template's own parameter rules refuse it as a value, so it can never be deployed as a key
    assert not accepts(raw["Parameters"]["ElevenLabsHmacKey"], placeholder)
    # The outputs name every secret's ARN (for scripts/stack_secret.py), never a value
    outputs = cfn["Outputs"]
    for logical_id in SECRET_RESOURCES.values():
        assert outputs[f"{logical_id}Arn"]["Value"] == {"Ref": logical_id}


def test_each_api_logs_its_requests_in_a_format_without_caller_data(cfn):
    stages = [s["Properties"] for s in of_type(cfn, "AWS::ApiGatewayV2::Stage").values()]
    assert len(stages) == 3
    group = props(cfn, "ApiAccessLogGroup")
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["KmsKeyId"] == KMS_IF
    for stage in stages:
        settings = stage["AccessLogSettings"]
        assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
        fields = json.loads(settings["Format"])
        variables = set(re.findall(r"\$context\.([A-Za-z.]+)", settings["Format"]))
        assert {"requestId", "status", "routeKey"} <= variables
        # Nothing a caller said or is: no path, query, headers, body, user agent or authorizer data.
        assert not {v for v in variables if v.split(".")[0] in ("path", "authorizer", "error")}
        assert not variables & {"identity.userAgent", "identity.caller", "identity.user", "path"}
        assert all(isinstance(value, str) for value in fields.values())


def test_reserved_concurrency_and_the_customer_managed_key_apply_to_every_function(cfn, raw):
    assert raw["Parameters"]["ReservedConcurrency"]["Default"] == 0
    assert raw["Parameters"]["KmsKeyArn"]["Default"] == ""
    for function_id in FUNCTIONS:
        function = props(cfn, function_id)
        assert function["ReservedConcurrentExecutions"] == {
            "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }
        assert function["KmsKeyArn"] == KMS_IF
    for table in of_type(cfn, "AWS::DynamoDB::Table"):
        assert props(cfn, table)["SSESpecification"]["KMSMasterKeyId"] == KMS_IF
    for queue in of_type(cfn, "AWS::SQS::Queue"):
        assert props(cfn, queue)["KmsMasterKeyId"] == KMS_IF
    assert props(cfn, "AlarmTopic")["KmsMasterKeyId"] == KMS_IF


def test_get_slash_reaches_each_function_for_the_health_answer(cfn):
    # client-data and retrieve: a GET / path in their OpenAPI body, and a permission for that route
    for api_id in ("ClientDataApi", "RetrieveApi"):
        permission = props(cfn, f"{api_id}HealthPermission")
        assert permission["SourceArn"]["Fn::Sub"].endswith(f"${{{api_id}}}/*/GET/")
    # post-call: a SAM HttpApi event, which SAM turns into the route and its permission
    events = [
        r for r in of_type(cfn, "AWS::Lambda::Permission").values() if "PostCallApi" in json.dumps(r["Properties"])
    ]
    arns = [r["Properties"]["SourceArn"]["Fn::Sub"] for r in events]
    assert any((arn if isinstance(arn, str) else arn[0]).endswith("/GET/") for arn in arns), arns


def test_every_scanner_suppression_in_the_template_gives_its_reason():
    # Given template.yaml, When its checkov skips and cfn-lint ignores are listed, Then there are some of each,
    # and each has a one-line reason beside it (make validate runs the scanners themselves: scan_template.py).
    found = scan_template.suppressions((ROOT / "template.yaml").read_text())
    assert {s.scanner for s in found} == {"checkov", "cfn-lint"}
    assert [str(s) for s in found if not s.reason or len(s.reason) < 20] == []
    assert all(re.fullmatch(r"CKV2?_AWS_\d+|[EW]S\d{4}", s.rule) for s in found)


def test_a_suppression_without_its_reason_is_caught():
    text = (ROOT / "template.yaml").read_text()
    broken = re.sub(r"(- id: CKV_AWS_117\n)\s+comment: [^\n]*\n", r"\1", text, count=1)
    broken = re.sub(r"\n +# One function, several callers by design[^\n]*\n +#[^\n]*", "", broken, count=1)
    unexplained = [s for s in scan_template.suppressions(broken) if not s.reason]
    assert {s.rule for s in unexplained} == {"CKV_AWS_117", "WS1002"}


def test_make_test_runs_the_scanners_through_make_validate():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\bvalidate\b", makefile, re.MULTILINE)
    validate = makefile.split("\nvalidate:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/validate_template.py" in validate
    assert "scripts/scan_template.py --bin $(SCAN_VENV)/bin" in validate
    pins = (ROOT / "requirements-scan.txt").read_text()
    assert re.search(r"^checkov==\d", pins, re.MULTILINE)
    assert re.search(r"^cfn_lint_serverless==\d", pins, re.MULTILINE)
