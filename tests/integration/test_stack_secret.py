"""scripts/stack_secret.py: a deployed stack's secrets shown, set and rotated in Secrets Manager (moto), found
through the stack's outputs, with weak values refused and every failure one `error:` line."""

from __future__ import annotations

import io
import json

import boto3
import pytest
import stack_secret
import stackfind

PLACEHOLDER = "placeholder: not set yet; run scripts/stack_secret.py --stack NAME set hmac"


@pytest.fixture
def stack(dynamodb_table, monkeypatch) -> dict[str, str]:
    """A stack named prod in moto whose outputs name its secrets, as template.yaml's do (no ElevenLabs API key)."""
    client = boto3.client("secretsmanager")
    values = {"MEM0_API_KEY": "m0-Rt5yU8iO2pA4sD6fG9hJ", "ELEVENLABS_WORKSPACE_KEY": "Gx7kP2mQ9vL4wR8tZ3nB5cY1"}
    values["ELEVENLABS_HMAC_KEY"] = PLACEHOLDER
    arns = {name: client.create_secret(Name=f"prod/{name}", SecretString=v)["ARN"] for name, v in values.items()}
    outputs = {stackfind.SECRET_OUTPUTS[name]: arn for name, arn in arns.items()}
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName="prod", TemplateBody=json.dumps(template))
    return arns


def value_of(arn: str) -> str:
    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def run(monkeypatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return stack_secret.main(["--stack", "prod", "--region", "us-east-1", *args])


def test_show_prints_the_generated_workspace_key_for_elevenlabs(stack, monkeypatch, capsys):
    assert run(monkeypatch, "show", "workspace") == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "Gx7kP2mQ9vL4wR8tZ3nB5cY1"
    assert "a secret" in captured.err


def test_set_hmac_replaces_the_placeholder_with_the_webhooks_secret(stack, monkeypatch, capsys):
    # Given a stack deployed before its webhook existed, When the webhook's secret is piped in,
    # Then the secret holds it (and only it), and the message says when the functions use it
    assert run(monkeypatch, "set", "hmac", stdin="wsec_9f8e7d6c5b4a39281706\n") == 0
    assert value_of(stack["ELEVENLABS_HMAC_KEY"]) == "wsec_9f8e7d6c5b4a39281706"
    assert "within 5 minutes" in capsys.readouterr().out


def test_keep_previous_rotates_without_refusing_the_old_key(stack, monkeypatch):
    # Given a workspace key in use, When a new one is generated keeping the previous,
    # Then both are accepted (new first), and the stack's placeholder is never kept as a key
    assert run(monkeypatch, "set", "workspace", "--generate", "--keep-previous") == 0
    new, old = value_of(stack["ELEVENLABS_WORKSPACE_KEY"]).split(",")
    assert old == "Gx7kP2mQ9vL4wR8tZ3nB5cY1"
    assert len(new) >= 40
    assert stack_secret.problem(new) is None
    assert run(monkeypatch, "set", "hmac", "--keep-previous", stdin="wsec_9f8e7d6c5b4a39281706\n") == 0
    assert value_of(stack["ELEVENLABS_HMAC_KEY"]) == "wsec_9f8e7d6c5b4a39281706"


@pytest.mark.parametrize(
    "weak", ["short", "REPLACE_ME_0123456789", "has a space in it ok", "a,b-0123456789abcdef", "x" * 20, PLACEHOLDER]
)
def test_weak_values_are_refused_and_nothing_changes(stack, monkeypatch, capsys, weak):
    assert run(monkeypatch, "set", "hmac", stdin=weak + "\n") == 2
    assert capsys.readouterr().err.startswith("error: not set: ")
    assert value_of(stack["ELEVENLABS_HMAC_KEY"]) == PLACEHOLDER


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("set", "elevenlabs"), "has no elevenlabs secret"),
        (("set", "mem0", "--keep-previous"), "--keep-previous is for workspace and hmac"),
    ],
)
def test_what_cannot_be_done_is_one_line(stack, monkeypatch, capsys, args, expected):
    assert run(monkeypatch, *args, stdin="m0-another-key-000000\n") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert expected in err


def test_a_stack_is_required(capsys):
    assert stack_secret.main(["show", "workspace"]) == 2
    assert "--stack NAME" in capsys.readouterr().err
