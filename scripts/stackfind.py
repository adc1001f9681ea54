"""Which stack an operations script works on: a running `make dev`, or a deployed stack by name.

Every script (forget_caller, replay_dlq, load_test, simulate_call, export_caller, backfill) takes the
same flags and answers with the same messages:

    (no flag)         the one `make dev` running on this machine (it writes .local/<port>/dev-stack.json)
    --port N          the `make dev` on port N (`make dev PORT=N`)
    --state FILE      the `make dev` that wrote FILE (a stack started with `scripts/dev.py --data-dir`)
    --stack NAME      a deployed stack: its CloudFormation outputs and its functions' configuration
    --region REGION   the deployed stack's region (default: your AWS configuration)

A script uses it like this::

    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        target = stackfind.resolve(args)
    except stackfind.TargetError as exc:
        return stackfind.fail(exc)          # "error: <one line>" on stderr, exit status 2
    target.apply()                          # that stack's Mem0, tables and AWS endpoints, for src/ code
    target.url("retrieve"), target.secret("ELEVENLABS_WORKSPACE_KEY"), target.function_name("post-call")

Against `make dev` nothing needs setting up: the state file names the local Mem0 stand-in (and its
per-run key), the local Lambda and DynamoDB endpoints and the tables, and the stack's `.env` holds its
keys. Against a deployed stack, URLs, names and the secrets' ARNs come from the stack's outputs, the secrets
from Secrets Manager (`secretsmanager:GetSecretValue`, never the functions' configuration, which holds only
the ARNs), and the worker's other settings from the post-call function's environment
(`lambda:GetFunctionConfiguration`), so an operator copies no secret.

Standard library only until `--stack` is used (boto3 is imported then), so simulate_call.py still runs
with a bare python3.12.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import MutableMapping
from functools import cached_property
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from devstack import statefile  # standard library only
from devstack.envfile import parse_env_file

LOCAL_DIR = statefile.LOCAL_DIR  # where `make dev` keeps one folder per port; tests point it elsewhere
EXIT_USAGE = 2
ROUTES = ("client-data", "retrieve", "post-call")
URL_OUTPUTS = {"client-data": "ClientDataApiUrl", "retrieve": "RetrieveApiUrl", "post-call": "PostCallApiUrl"}
FUNCTION_OUTPUTS = {
    "client-data": "ClientDataFunctionName",
    "retrieve": "RetrieveFunctionName",
    "post-call": "PostCallFunctionName",
}
# The stack output naming each secret's Secrets Manager ARN (template.yaml, issue 24).
SECRET_OUTPUTS = {
    "MEM0_API_KEY": "Mem0ApiKeySecretArn",
    "ELEVENLABS_WORKSPACE_KEY": "WorkspaceKeySecretArn",
    "ELEVENLABS_HMAC_KEY": "HmacKeySecretArn",
    "ELEVENLABS_API_KEY": "ElevenLabsApiKeySecretArn",
}
# The suffix of the functions' variables holding those ARNs (config.py): a name, not a secret.
SECRET_ARN_SUFFIX = "_SECRET_ARN"  # nosec B105
# Variables of the deployed post-call function that describe Lambda, not the stack's settings.
NOT_COPIED = frozenset({"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL", "MEM0_DIR"})
LOCAL_ONLY = ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_DYNAMODB")


class TargetError(RuntimeError):
    """No usable stack; the message is one line for the operator (exit status 2)."""


def fail(exc: BaseException | str, *, prog: str | None = None) -> int:
    """Print ``error: <message>`` on stderr, the form every script uses; returns the exit status 2."""
    prefix = f"{prog}: " if prog else ""
    print(f"{prefix}error: {exc}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def add_arguments(
    parser: argparse.ArgumentParser, *, deployed: bool = True, local: bool = True, default: str | None = None
) -> None:
    """The stack-choosing flags. ``deployed=False`` for tools that only make sense locally; ``default`` says
    what the tool uses when no flag is given (the running `make dev`, unless the tool says otherwise)."""
    group = parser.add_argument_group("which stack", default or "default: the one `make dev` running on this machine")
    if local:
        group.add_argument("--port", type=int, help="the `make dev` on this port (make dev PORT=N)")
        group.add_argument("--state", type=Path, metavar="FILE", help="a `make dev` state file (dev.py --data-dir)")
    if deployed:
        group.add_argument("--stack", metavar="NAME", help="a deployed stack, by CloudFormation stack name")
        group.add_argument("--region", help="the deployed stack's AWS region (default: your AWS configuration)")
    parser.set_defaults(**{name: None for name in ("port", "state", "stack", "region") if name not in _dests(parser)})


def _dests(parser: argparse.ArgumentParser) -> set[str]:
    return {action.dest for action in parser._actions}


def chosen(args: argparse.Namespace) -> list[str]:
    """The stack flags given on the command line, e.g. ``["--stack"]``."""
    return [f"--{name}" for name in ("stack", "port", "state") if getattr(args, name, None) is not None]


def resolve(
    args: argparse.Namespace, *, required: bool = True, deployed: bool = True, announce: bool = True
) -> LocalStack | DeployedStack | None:
    """The stack the flags name, else the one running `make dev`.

    ``required=False``: None when no flag is given and no `make dev` runs (the script then falls back to
    its environment). Raises TargetError for a named stack that is missing or not running, for several
    running `make dev` stacks when none is named, and (``required``) when none runs.
    """
    flags = chosen(args)
    if len(flags) > 1:
        raise TargetError(f"{' and '.join(flags)} each name a stack: give only one")
    target: LocalStack | DeployedStack | None
    if getattr(args, "stack", None):
        target = DeployedStack.load(args.stack, getattr(args, "region", None))
    elif getattr(args, "state", None) is not None:
        target = LocalStack.from_file(Path(args.state))
    elif getattr(args, "port", None) is not None:
        target = LocalStack.on_port(int(args.port))
    else:
        target = find_running(required=required, deployed=deployed)
    if target is not None and announce:
        print(f"using {target.label}", file=sys.stderr, flush=True)
    return target


def configure_memory_access(args: argparse.Namespace, env_file: Path) -> int | None:
    """For scripts that read or change a caller's memories in-process (forget, export): configure this
    process for the stack the flags name or the running `make dev`, else from ``env_file``; keep the
    functions' INFO lines and mem0's/httpx's request URLs (which may hold the number) off the terminal.

    Returns None when configured, else the exit status after one `error: ...` line.
    """
    import logging

    try:
        target = resolve(args, required=False)
    except TargetError as exc:
        return fail(exc)
    if target is not None:
        target.apply()
    else:
        from devstack.envfile import apply_env_file

        apply_env_file(env_file)
        if not os.environ.get("MEM0_API_KEY"):
            return fail(
                "no running `make dev` found and MEM0_API_KEY is not set: start `make dev`, pass --stack NAME"
                " for a deployed stack, or set MEM0_API_KEY (environment or .env)"
            )
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # nothing here flushes metrics
    logging.getLogger("mem0").setLevel(logging.CRITICAL)  # a failed request's URL, at ERROR
    logging.getLogger("httpx").setLevel(logging.WARNING)  # every URL, at INFO
    return None


def find_running(*, required: bool = True, deployed: bool = True) -> LocalStack | None:
    """The one live `make dev` under LOCAL_DIR."""
    live = statefile.running(LOCAL_DIR)
    if len(live) == 1:
        return LocalStack(*live[0])
    if len(live) > 1:
        ports = ", ".join(str(state.get("port", "?")) for _, state in live)
        raise TargetError(f"{len(live)} `make dev` stacks are running (ports {ports}): pick one with --port")
    if not required:
        return None
    where = statefile.shown(LOCAL_DIR / "<port>" / statefile.STATE_FILE)
    also = ", or pass --stack NAME for a deployed stack" if deployed else ""
    raise TargetError(f"no running `make dev` found (no live {where}): start one with `make dev`{also}")


# --------------------------------------------------------------------------- make dev


class LocalStack:
    """A running `make dev`, described by its state file."""

    kind = "make dev"

    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = Path(path)
        self.state = state

    @classmethod
    def on_port(cls, port: int) -> LocalStack:
        path = statefile.state_path_for(port, LOCAL_DIR)
        if not path.is_file():
            raise TargetError(
                f"no `make dev` on port {port}: {statefile.shown(path)} does not exist"
                f" (start it with `make dev PORT={port}`)"
            )
        return cls.from_file(path, hint=f"make dev PORT={port}")

    @classmethod
    def from_file(cls, path: Path, *, hint: str = "make dev") -> LocalStack:
        try:
            state = statefile.read(path)
        except statefile.StateError as exc:
            raise TargetError(f"{exc}: is `make dev` running? (it writes .local/<port>/dev-stack.json)") from None
        if not statefile.is_live(state):
            raise TargetError(
                f"the `make dev` of {statefile.shown(path)} is not running any more (pid {state.get('pid')},"
                f" {state.get('api_url')}): start it again with `{hint}`"
            )
        return cls(path, state)

    @property
    def api_url(self) -> str:
        return str(self.state["api_url"]).rstrip("/")

    @property
    def label(self) -> str:
        return f"make dev on {self.api_url} ({statefile.shown(self.path)})"

    def url(self, route: str) -> str:
        """The full URL of ``client-data``, ``retrieve`` or ``post-call``."""
        return f"{self.api_url}/{route}"

    def function_name(self, route: str) -> str:
        functions = self.state.get("functions") or {}
        if route not in functions:
            raise TargetError(f"{statefile.shown(self.path)} names no {route} function")
        return str(functions[route])

    @property
    def dead_letters(self) -> Path:
        return Path(self.state.get("dead_letters") or self.path.parent / "dead-letters.jsonl")

    @property
    def env_file(self) -> Path | None:
        value = self.state.get("env_file")
        return Path(value) if value else None

    @property
    def mem0(self) -> tuple[str, str | None]:
        """(base URL, key): the key only for the local stand-in (a real key stays in the stack's .env)."""
        return str(self.state.get("mem0_url", "")), self.state.get("mem0_api_key")

    @cached_property
    def settings(self) -> dict[str, str]:
        """The stack's .env values (its keys and settings)."""
        return parse_env_file(self.env_file) if self.env_file else {}

    def secret(self, name: str) -> str:
        """A secret as the stack resolved it: the shell's value wins over the stack's .env, as in dev.py."""
        return os.environ.get(name) or self.settings.get(name) or ""

    def environment(self) -> dict[str, str]:
        """What code from src/ needs to work on this stack's data from another process."""
        env = statefile.local_aws_environment(str(self.state.get("region") or statefile.LOCAL_REGION))
        if self.state.get("lambda_endpoint_url"):
            env["AWS_ENDPOINT_URL_LAMBDA"] = str(self.state["lambda_endpoint_url"])
        if self.state.get("dynamodb_endpoint_url"):
            env["AWS_ENDPOINT_URL_DYNAMODB"] = str(self.state["dynamodb_endpoint_url"])
        env.update({str(k): str(v) for k, v in (self.state.get("tables") or {}).items()})
        url, key = self.mem0
        if self.state.get("local_mem0") and key:
            env["MEM0_API_KEY"], env["MEM0_HOST"] = str(key), url
        if self.state.get("local_elevenlabs") and self.state.get("elevenlabs_api_key"):
            env["ELEVENLABS_API_KEY"] = str(self.state["elevenlabs_api_key"])
            env["ELEVENLABS_API_BASE"] = str(self.state.get("elevenlabs_api_url") or "")
        return env

    def apply(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Configure this process for the stack: its .env as defaults (the shell wins), then its parts."""
        environ = os.environ if environ is None else environ
        for name, value in self.settings.items():
            if not environ.get(name):
                environ[name] = value
        for name in statefile.AWS_VARIABLES_DROPPED:
            environ.pop(name, None)
        environ.update(self.environment())
        data_dir = self.path.parent
        environ.setdefault("MEM0_DIR", str(data_dir / ".mem0"))
        environ.setdefault("MEM0_TELEMETRY", "false")


# --------------------------------------------------------------------------- deployed


def _short(exc: BaseException, limit: int = 200) -> str:
    return " ".join(str(exc).split())[:limit]


class DeployedStack:
    """A CloudFormation stack of this template, read with your AWS credentials."""

    kind = "stack"

    def __init__(self, name: str, region: str, outputs: dict[str, str], session: Any) -> None:
        self.name, self.region, self.outputs, self.session = name, region, outputs, session
        self._environments: dict[str, dict[str, str]] = {}
        self._secrets: dict[str, str] = {}

    @classmethod
    def load(cls, name: str, region: str | None = None) -> DeployedStack:
        try:
            import boto3
        except ImportError:
            raise TargetError("--stack needs boto3: run the script with .venv/bin/python (make setup)") from None
        session = boto3.session.Session(region_name=region)
        if not session.region_name:
            raise TargetError("no AWS region: pass --region, or set one (aws configure, AWS_DEFAULT_REGION)")
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        except Exception as exc:
            raise TargetError(f"cannot read stack {name!r} in {session.region_name}: {_short(exc)}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
        return cls(name, session.region_name, outputs, session)

    @property
    def label(self) -> str:
        return f"stack {self.name} ({self.region})"

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, **kwargs)

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            raise TargetError(
                f"stack {self.name!r} has no {key} output (not an AgenticMemory stack, or not fully deployed)"
            )
        return value

    def url(self, route: str) -> str:
        return self.output(URL_OUTPUTS[route])

    def function_name(self, route: str) -> str:
        return self.output(FUNCTION_OUTPUTS[route])

    def function_environment(self, route: str) -> dict[str, str]:
        """The environment variables of one of the stack's functions (``lambda:GetFunctionConfiguration``)."""
        if route not in self._environments:
            name = self.function_name(route)
            try:
                configuration = self.client("lambda").get_function_configuration(FunctionName=name)
            except Exception as exc:
                raise TargetError(
                    f"cannot read the configuration of {name} (needs lambda:GetFunctionConfiguration): {_short(exc)}"
                ) from None
            variables = (configuration.get("Environment") or {}).get("Variables") or {}
            self._environments[route] = {str(k): str(v) for k, v in variables.items()}
        return self._environments[route]

    def secret_arn(self, name: str) -> str | None:
        """The ARN of the secret behind variable ``name`` (an output of the stack), or None when the stack has
        none for it (an optional secret left unset). Raises TargetError for a stack older than 1.0.0."""
        if "Mem0ApiKeySecretArn" not in self.outputs:
            raise TargetError(
                f"stack {self.name!r} has no secret outputs (Mem0ApiKeySecretArn): it predates 1.0.0, which keeps"
                " the keys in Secrets Manager; deploy it again (CHANGELOG.md, Upgrading)"
            )
        return self.outputs.get(SECRET_OUTPUTS[name]) or None

    def secret(self, name: str) -> str:
        """A secret's value, read from Secrets Manager (``secretsmanager:GetSecretValue``); "" when unset."""
        if name not in self._secrets:
            arn = self.secret_arn(name)
            if arn is None:
                self._secrets[name] = ""
            else:
                try:
                    self._secrets[name] = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
                except Exception as exc:
                    raise TargetError(
                        f"cannot read {name} from Secrets Manager (needs secretsmanager:GetSecretValue on {arn}):"
                        f" {_short(exc)}"
                    ) from None
        return self._secrets[name]

    def environment(self) -> dict[str, str]:
        """The post-call worker's settings (Mem0, tables, identity rules), for code from src/ run here: its
        environment without the secrets' ARNs, and the secrets' values read from Secrets Manager instead (this
        process signs with the operator's credentials, not the function's)."""
        env = {
            k: v
            for k, v in self.function_environment("post-call").items()
            if k not in NOT_COPIED and not k.endswith(SECRET_ARN_SUFFIX)
        }
        for name in ("MEM0_API_KEY", "ELEVENLABS_API_KEY"):
            value = self.secret(name)
            if value:
                env[name] = value
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = self.region
        return env

    def apply(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Configure this process like the deployed worker; the stack's values win over the shell's."""
        environ = os.environ if environ is None else environ
        for name in LOCAL_ONLY:
            environ.pop(name, None)
        environ.update(self.environment())
        environ.setdefault("MEM0_TELEMETRY", "false")


Target = LocalStack | DeployedStack
