"""scripts/stackfind.py: every operations script finds a running `make dev` by itself, or a deployed
stack with --stack, with the same flags and the same one-line messages.

A "running make dev" here is a state file written as scripts/dev.py writes it, naming this process
(alive) and a listening socket as its HTTP API; the Mem0 it names is the local Mem0 server fixture.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import forget_caller
import load_test
import pytest
import replay_dlq
import simulate_call
import stackfind

from devstack import statefile
from tests.support import CALLER, ROOT

SCRIPTS = {
    "forget_caller": lambda args: forget_caller.main([*args, CALLER, "--yes"]),
    "replay_dlq": lambda args: replay_dlq.main([*args, "--dry-run"]),
    "load_test": lambda args: load_test.main([*args, "--calls", "1"]),
    "simulate_call": lambda args: simulate_call.main(args),
}


@pytest.fixture(autouse=True)
def restored_environment() -> Iterator[None]:
    """The scripts configure os.environ for their stack; give every later test its environment back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty `.local` for discovery, so a `make dev` running on this machine is never picked up."""
    folder = tmp_path / "local"
    folder.mkdir()
    monkeypatch.setattr(stackfind, "LOCAL_DIR", folder)
    return folder


@pytest.fixture
def listener() -> Iterator[Any]:
    """Makes listening sockets: the HTTP API ports of the fake stacks (discovery checks they answer)."""
    sockets: list[socket.socket] = []

    def make() -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sockets.append(sock)
        return sock

    yield make
    for sock in sockets:
        sock.close()


def fake_stack(
    local_dir: Path, listener: Any, *, mem0: Any = None, pid: int | None = None, env: str = ""
) -> tuple[int, Path]:
    """A state file as dev.py writes it in .local/<port>/, for a stack that answers on <port>."""
    sock = listener()
    port = sock.getsockname()[1]
    data_dir = local_dir / str(port)
    env_file = data_dir / "dot.env"
    data_dir.mkdir()
    env_file.write_text(env or "ELEVENLABS_WORKSPACE_KEY=ws-local-key-0001\nELEVENLABS_HMAC_KEY=hmac-local-key-01\n")
    state = {
        "pid": os.getpid() if pid is None else pid,
        "port": port,
        "api_url": f"http://127.0.0.1:{port}",
        "region": "us-east-1",
        "data_dir": str(data_dir),
        "env_file": str(env_file),
        "lambda_endpoint_url": "http://127.0.0.1:9",
        "dynamodb_endpoint_url": "http://127.0.0.1:8",
        "mem0_url": mem0.url if mem0 else "http://127.0.0.1:7",
        "local_mem0": True,
        "mem0_api_key": mem0.api_key if mem0 else "local-abc",
        "functions": {"client-data": "dev-client-data", "retrieve": "dev-retrieve", "post-call": "dev-post-call"},
        "tables": {"IDEMPOTENCY_TABLE": "dev-idempotency"},
        "dead_letters": str(data_dir / "dead-letters.jsonl"),
    }
    path = statefile.state_path_for(port, local_dir)
    statefile.write(path, state)
    return port, path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("using ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------- the same flags and messages everywhere


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_missing_state_file_is_one_line_and_exit_status_2_in_every_script(script, tmp_path, capsys):
    # Given a state file that does not exist (the stack is not running), When any script is pointed at it,
    # Then it says so on one line, the same line everywhere, and exits 2: no traceback.
    missing = tmp_path / "dev-stack.json"
    assert SCRIPTS[script](["--state", str(missing)]) == 2
    line = one_error_line(capsys)
    assert line == f"error: {missing} does not exist: is `make dev` running? (it writes .local/<port>/dev-stack.json)"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_an_unknown_port_names_the_command_that_starts_it(script, local_dir, capsys):
    assert SCRIPTS[script](["--port", "3999"]) == 2
    assert one_error_line(capsys) == (
        f"error: no `make dev` on port 3999: {local_dir}/3999/dev-stack.json does not exist"
        " (start it with `make dev PORT=3999`)"
    )


@pytest.mark.parametrize("script", ["replay_dlq", "simulate_call"])
def test_with_no_stack_running_the_scripts_that_need_one_say_how_to_start_it(script, local_dir, capsys):
    assert SCRIPTS[script]([]) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: no running `make dev` found")
    assert "start one with `make dev`, or pass --stack NAME for a deployed stack" in line


def test_a_stale_state_file_is_not_taken_for_a_running_stack(local_dir, listener, capsys):
    # Given a state file left by a stack that was killed (its process is gone)
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    port, _ = fake_stack(local_dir, listener, pid=int(child.stdout))
    # Then discovery ignores it, and naming it says it is not running any more.
    assert stackfind.find_running(required=False) is None
    assert simulate_call.main(["--port", str(port)]) == 2
    assert "is not running any more" in one_error_line(capsys)


def test_two_stacks_side_by_side_need_a_port_and_each_is_found_by_it(local_dir, listener, capsys):
    port_a, _ = fake_stack(local_dir, listener)
    port_b, _ = fake_stack(local_dir, listener)
    assert simulate_call.main([]) == 2
    low, high = sorted((port_a, port_b))
    assert (
        one_error_line(capsys) == f"error: 2 `make dev` stacks are running (ports {low}, {high}): pick one with --port"
    )
    for port in (port_a, port_b):
        target = stackfind.resolve(stackfind_args(port=port), announce=False)
        assert target.url("retrieve") == f"http://127.0.0.1:{port}/retrieve"


def test_two_stack_flags_at_once_are_refused(capsys):
    assert forget_caller.main(["--stack", "prod", "--port", "3000", CALLER]) == 2
    assert one_error_line(capsys) == "error: --stack and --port each name a stack: give only one"


def stackfind_args(**values: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    stackfind.add_arguments(parser)
    flags = [item for name, value in values.items() for item in (f"--{name}", str(value))]
    return parser.parse_args(flags)


# ---------------------------------------------------------------------- make dev: nothing to set up


def test_forget_caller_uses_the_running_stacks_mem0_without_a_key_in_the_environment(
    mem0_server, local_dir, listener, monkeypatch, capsys
):
    # Given a running `make dev` with its Mem0 stand-in, and no MEM0_API_KEY anywhere
    mem0_server.store.add([{"role": "user", "content": "Likes window seats"}], user_id=CALLER, infer=False)
    fake_stack(local_dir, listener, mem0=mem0_server)
    monkeypatch.delenv("MEM0_API_KEY")
    monkeypatch.delenv("MEM0_HOST")
    # When the documented command runs as written
    code = forget_caller.main([CALLER, "--yes", "--env-file", str(local_dir / "absent.env")])
    # Then it found the stack by itself and deleted the caller's memories there
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "using make dev on http://127.0.0.1:" in captured.err
    assert "deleted; none remain" in captured.out
    assert mem0_server.store.count({"user_id": CALLER}) == 0


def test_forget_caller_without_a_stack_or_a_key_says_what_to_do(local_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("MEM0_API_KEY", raising=False)
    assert forget_caller.main([CALLER, "--yes", "--env-file", str(tmp_path / "absent.env")]) == 2
    line = one_error_line(capsys)
    assert "no running `make dev` found and MEM0_API_KEY is not set" in line
    assert "--stack NAME" in line


def test_a_local_stack_configures_this_process_for_its_parts(local_dir, listener, monkeypatch):
    port, path = fake_stack(
        local_dir, listener, env="LOG_LEVEL=DEBUG\nDEFAULT_REGION=GB\nELEVENLABS_HMAC_KEY=from-file\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("DEFAULT_REGION", "US")  # the shell wins over the stack's .env, as in dev.py
    target = stackfind.resolve(stackfind_args(port=port), announce=False)
    target.apply()
    state = json.loads(path.read_text())
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == "local"
    assert os.environ["AWS_ENDPOINT_URL_LAMBDA"] == state["lambda_endpoint_url"]
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == state["dynamodb_endpoint_url"]
    assert os.environ["IDEMPOTENCY_TABLE"] == "dev-idempotency"
    assert (os.environ["MEM0_API_KEY"], os.environ["MEM0_HOST"]) == (state["mem0_api_key"], state["mem0_url"])
    assert (os.environ["LOG_LEVEL"], os.environ["DEFAULT_REGION"]) == ("DEBUG", "US")
    assert target.function_name("post-call") == "dev-post-call"
    assert target.secret("ELEVENLABS_HMAC_KEY") == os.environ["ELEVENLABS_HMAC_KEY"]  # the shell's (conftest)
    monkeypatch.delenv("ELEVENLABS_HMAC_KEY")
    assert target.secret("ELEVENLABS_HMAC_KEY") == "from-file"


def test_load_test_refuses_a_stack_on_the_real_mem0_platform(local_dir, listener, monkeypatch, capsys):
    # Given a stack whose Mem0 is the real platform (no stand-in key in its state), When load_test is
    # pointed at it, Then it refuses on one line (it can only check a local store) instead of crashing.
    port, path = fake_stack(local_dir, listener)
    state = json.loads(path.read_text())
    statefile.write(path, {**state, "local_mem0": False, "mem0_api_key": None, "mem0_url": "https://api.mem0.ai"})
    assert load_test.main(["--port", str(port), "--calls", "1"]) == 2
    assert "real Mem0 Platform" in capsys.readouterr().err


# ---------------------------------------------------------------------- a deployed stack by name


@pytest.fixture
def deployed(dynamodb_table) -> dict[str, str]:
    """A stack in moto: the template's outputs, its secrets in Secrets Manager, and three functions whose
    environments hold the secrets' ARNs (as template.yaml sets them), not the secrets."""
    secrets = boto3.client("secretsmanager")
    arns = {
        name: secrets.create_secret(Name=f"prod-{name.lower()}", SecretString=value)["ARN"]
        for name, value in {
            "ELEVENLABS_WORKSPACE_KEY": "deployed-ws-key-1,deployed-ws-key-0",
            "ELEVENLABS_HMAC_KEY": "deployed-hmac-key-1",
            "MEM0_API_KEY": "m0-deployed",
        }.items()
    }
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    arn_of = {f"{name}_SECRET_ARN": arn for name, arn in arns.items()}
    environments = {
        "client-data": {k: arn_of[k] for k in ("ELEVENLABS_WORKSPACE_KEY_SECRET_ARN", "MEM0_API_KEY_SECRET_ARN")},
        "retrieve": {k: arn_of[k] for k in ("ELEVENLABS_WORKSPACE_KEY_SECRET_ARN", "MEM0_API_KEY_SECRET_ARN")},
        "post-call": {
            "ELEVENLABS_HMAC_KEY_SECRET_ARN": arn_of["ELEVENLABS_HMAC_KEY_SECRET_ARN"],
            "MEM0_API_KEY_SECRET_ARN": arn_of["MEM0_API_KEY_SECRET_ARN"],
            "ELEVENLABS_API_KEY_SECRET_ARN": "",
            "MEM0_HOST": "https://mem0.example",
            "IDEMPOTENCY_TABLE": "prod-idempotency",
            "POWERTOOLS_SERVICE_NAME": "post-call",
            "MEM0_DIR": "/tmp/.mem0",
        },
    }
    outputs = {}
    for route, variables in environments.items():
        name = f"prod-{route}"
        boto3.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
            Environment={"Variables": variables},
        )
        outputs[stackfind.FUNCTION_OUTPUTS[route]] = name
        outputs[stackfind.URL_OUTPUTS[route]] = f"https://api-{route}.example/Prod/{route}"
    outputs["PostCallDeadLetterQueueUrl"] = "https://sqs.example/dlq"
    outputs |= {stackfind.SECRET_OUTPUTS[name]: arn for name, arn in arns.items()}
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName="prod", TemplateBody=json.dumps(template))
    return outputs


def test_a_deployed_stack_gives_its_urls_keys_and_worker_settings(deployed, monkeypatch):
    monkeypatch.setenv("MEM0_API_KEY", "m0-from-the-shell")
    target = stackfind.resolve(stackfind_args(stack="prod", region="us-east-1"), announce=False)
    assert target.label == "stack prod (us-east-1)"
    assert target.url("post-call") == "https://api-post-call.example/Prod/post-call"
    assert target.secret("ELEVENLABS_WORKSPACE_KEY") == "deployed-ws-key-1,deployed-ws-key-0"
    assert target.secret("ELEVENLABS_HMAC_KEY") == "deployed-hmac-key-1"
    assert target.secret("ELEVENLABS_API_KEY") == ""  # optional, not set: the stack has no output for it
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9")  # left over from a local run
    target.apply()
    # The deployed worker's settings win over the shell's; Lambda-only variables are not copied; the keys
    # come from Secrets Manager and the ARNs stay behind (this process reads no secret store itself).
    assert os.environ["MEM0_API_KEY"] == "m0-deployed"
    assert not [name for name in os.environ if name.endswith("_SECRET_ARN")]
    assert os.environ["IDEMPOTENCY_TABLE"] == "prod-idempotency"
    assert "AWS_ENDPOINT_URL_LAMBDA" not in os.environ
    assert os.environ.get("POWERTOOLS_SERVICE_NAME") != "post-call"
    assert os.environ.get("MEM0_DIR") != "/tmp/.mem0"


def test_the_keys_come_from_the_secret_store_not_the_function_configuration(deployed):
    # Given a deployed stack whose functions' environment holds only ARNs, When its keys are read,
    # Then each is the secret's current value, read from Secrets Manager: a rotated key shows at once.
    target = stackfind.resolve(stackfind_args(stack="prod", region="us-east-1"), announce=False)
    assert "ELEVENLABS_HMAC_KEY" not in target.function_environment("post-call")
    boto3.client("secretsmanager").put_secret_value(
        SecretId=deployed[stackfind.SECRET_OUTPUTS["ELEVENLABS_HMAC_KEY"]], SecretString="rotated-hmac-key-2"
    )
    assert target.secret("ELEVENLABS_HMAC_KEY") == "rotated-hmac-key-2"


def test_a_stack_older_than_the_secret_store_is_one_clear_line(deployed):
    # Given a stack deployed before 1.0.0 (no secret outputs), When a script asks for a key,
    # Then it is told to deploy again, not handed a configuration value.
    target = stackfind.resolve(stackfind_args(stack="prod", region="us-east-1"), announce=False)
    target.outputs = {k: v for k, v in target.outputs.items() if not k.endswith("SecretArn")}
    with pytest.raises(stackfind.TargetError, match=r"predates 1\.0\.0"):
        target.secret("ELEVENLABS_WORKSPACE_KEY")


def test_simulate_call_takes_a_deployed_stacks_urls_and_keys(deployed):
    # What `simulate_call.py --stack prod --region us-east-1` parses to.
    args = argparse.Namespace(
        base_url=None, client_data_url=None, retrieve_url=None, post_call_url=None, workspace_key=None,
        hmac_key=None, env_file=Path("absent.env"), stack="prod", region="us-east-1", port=None, state=None,
    )  # fmt: skip
    workspace, hmac_key = simulate_call.resolve_endpoints(args)
    assert (workspace, hmac_key) == ("deployed-ws-key-1", "deployed-hmac-key-1")
    assert args.retrieve_url == "https://api-retrieve.example/Prod/retrieve"
    assert args.target_label == "stack prod (us-east-1)"


def test_an_unknown_deployed_stack_is_one_line(dynamodb_table, capsys):
    assert simulate_call.main(["--stack", "no-such-stack", "--region", "us-east-1"]) == 2
    assert one_error_line(capsys).startswith("error: cannot read stack 'no-such-stack' in us-east-1: ")


def test_the_stack_module_stays_standard_library_only():
    # simulate_call.py runs with a bare python3.12; importing stackfind must not need boto3 or yaml.
    code = (
        "import sys; sys.modules['boto3'] = None; sys.modules['yaml'] = None;"
        f"sys.path.insert(0, {str(ROOT / 'scripts')!r}); import stackfind, simulate_call"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
