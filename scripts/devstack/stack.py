"""`make dev`: the three functions, their HTTP API, a local Lambda, DynamoDB and Mem0 in one process.

Why one process: it starts in about a second, needs no Docker, AWS account or Mem0 account, and a
debugger or a print sees everything. The pieces, all on 127.0.0.1:

* the HTTP API (`standins.api_gateway`) on the chosen port, routes and handlers read from template.yaml;
* a Lambda Invoke endpoint (`standins.aws_lambda`) on a free port; `AWS_ENDPOINT_URL_LAMBDA` points the
  unchanged boto3 self-invoke of post_call at it, and its worker runs the jobs with Lambda's retries;
* moto's DynamoDB on a free port with the template's tables (idempotency records and caller profiles,
  in memory only: after a restart callers are greeted from Mem0 until their next call rebuilds the profile),
  and on the same port moto's SQS with the template's queues, the wait queue's event source mapping polling
  it into post-call (`standins.sqs`);
* the Mem0 stand-in (`standins.mem0`, SQLite under the data dir) unless `MEM0_API_KEY` is set, with Mem0's
  quota when asked (`--mem0-add-limit 200/min`, or MEM0_STANDIN_ADD_LIMIT in .env).

The handlers read their settings once per process (`agentic_memory.config.get_settings`), so the
environment is complete before the first handler module is imported.
"""

from __future__ import annotations

import errno
import importlib
import json
import logging
import os
import secrets
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack import statefile
from devstack.envfile import apply_env_file, unquote
from devstack.statefile import AWS_VARIABLES_DROPPED, STATE_FILE
from standins.api_gateway import FunctionFailed, HttpApi, HttpApiServer
from standins.aws_lambda import DEFAULT_RETRY_DELAYS, REGION, LambdaInvokeServer, LambdaRuntime, LocalFunction
from standins.sam_template import ROOT, TEMPLATE, Route, Template, TemplateError

SECRETS = ("ELEVENLABS_WORKSPACE_KEY", "ELEVENLABS_HMAC_KEY")
# The local Lambda, DynamoDB and Mem0 take no credentials that matter: they never listen beyond this
# machine, whatever --host the public HTTP API uses (a tunnel forwards only the API's port).
INTERNAL_HOST = "127.0.0.1"
# Stop taking requests first, then let the worker finish its jobs while Mem0 and DynamoDB still answer.
SHUTDOWN_ORDER = (
    "HTTP API",
    "SQS event sources",
    "Lambda worker",
    "Lambda invoke endpoint",
    "SQS queues",
    "Mem0 stand-in",
    "ElevenLabs API stand-in",
    "DynamoDB (moto)",
    "state file",
)
ENV_FILE_HEADER = "# Local settings for `make dev` (git-ignored). Every variable is described in .env.example.\n"


class StackError(RuntimeError):
    """The stack could not start; the message is meant for the developer, on one line."""


class PortInUse(StackError):
    pass


# ---------------------------------------------------------------------- .env (see envfile.py)


def ensure_secrets(path: Path, environ: dict[str, str] | Any = os.environ) -> dict[str, str]:
    """Make and save local random secrets for the ones that are set nowhere; returns what it made.

    Existing lines of the file are kept; an empty ``NAME=`` line is filled in place, otherwise the
    new line is appended. A new file is readable by its owner only.
    """
    made = {name: secrets.token_urlsafe(24) for name in SECRETS if not environ.get(name)}
    if not made:
        return made
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [ENV_FILE_HEADER.rstrip("\n")]
    for name, value in made.items():
        for index, line in enumerate(lines):
            key, sep, rest = line.strip().removeprefix("export ").partition("=")
            if sep and key.strip() == name and not unquote(rest):
                lines[index] = f"{name}={value}"
                break
        else:
            lines.append(f"{name}={value}")
        environ[name] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return made


# ---------------------------------------------------------------------- the stack


@dataclass
class DevConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    # None: .local/<port> (statefile.data_dir_for), so stacks on different ports keep separate data.
    data_dir: Path | None = None
    env_file: Path = ROOT / ".env"
    template: Path = TEMPLATE
    stack_name: str = "agentic-memory-dev"
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    drain_seconds: float = 5.0
    # The Mem0 stand-in's quota (standins.mem0_quota: "200/min", "200/6s"); None: MEM0_STANDIN_ADD_LIMIT and
    # MEM0_STANDIN_REQUEST_LIMIT from the environment or .env, else no limit.
    mem0_add_limit: str | None = None
    mem0_request_limit: str | None = None


class DevStack:
    """Start with `start()`, stop with `close()`; `banner()` says what runs where."""

    def __init__(self, config: DevConfig, *, out: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir or statefile.data_dir_for(config.port)).resolve()
        self.dead_letter_path = self.data_dir / "dead-letters.jsonl"
        self.mem0_db = self.data_dir / "mem0.sqlite3"
        self.state_path = self.data_dir / STATE_FILE
        self._out = out or _print
        self._closers: list[tuple[str, Callable[[], Any]]] = []
        self.generated: dict[str, str] = {}
        self.routes: list[Route] = []
        self.tables: dict[str, str] = {}
        self.mem0_url = ""
        self.local_mem0 = False
        self.elevenlabs_api_url = ""
        self.local_elevenlabs = False
        self.ready_seconds = 0.0
        self.api_server: HttpApiServer | None = None
        self.runtime: LambdaRuntime | None = None
        self.invoke_server: LambdaInvokeServer | None = None
        self.dynamodb_url = ""
        self.queues: dict[str, str] = {}  # logical id -> URL (moto's SQS, on the DynamoDB server's port)
        self.mem0_quota: Any = None
        self.event_sources: list[Any] = []

    def log(self, line: str) -> None:
        self._out(f"[dev] {time.strftime('%H:%M:%S')} {line}")

    # ------------------------------------------------------------------ start

    def start(self, started: float | None = None) -> DevStack:
        """Everything, in the order the handlers need it; raises StackError (PortInUse) on failure."""
        started = time.perf_counter() if started is None else started
        try:
            self._start()
        except BaseException:
            self.close(quiet=True)
            raise
        self.ready_seconds = time.perf_counter() - started
        return self

    def _start(self) -> None:
        config = self.config
        try:
            template = Template.read(config.template, stack_name=config.stack_name)
            self.routes = template.routes()
        except (OSError, yaml.YAMLError, TemplateError) as exc:
            raise StackError(f"cannot read the routes of {config.template}: {exc}") from None

        # The public port first: when it is taken, say so before doing anything slow.
        api = HttpApi(self.routes, self._invoke_route, log=self.log)
        try:
            self.api_server = HttpApiServer(api, config.host, config.port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {config.port} on {config.host} is already in use (another `make dev`?);"
                    f" stop it or pick another port: make dev PORT={config.port + 1}"
                ) from None
            raise StackError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
        self._closers.append(("HTTP API", self.api_server.close))
        apply_env_file(config.env_file)
        self.generated = ensure_secrets(config.env_file)
        self.data_dir.mkdir(parents=True, exist_ok=True)

        self._fake_aws_environment()
        self.runtime = LambdaRuntime(
            [], dead_letter_path=self.dead_letter_path, retry_delays=config.retry_delays, log=self.log
        )
        self._closers.append(("Lambda worker", self._close_runtime))
        self.invoke_server = LambdaInvokeServer(self.runtime, INTERNAL_HOST, 0).start()
        self._closers.append(("Lambda invoke endpoint", self.invoke_server.close))
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = self.invoke_server.url

        self._start_dynamodb(template)
        self._start_queues(template)
        self._start_mem0()
        self._start_elevenlabs_api()
        self._set_defaults()
        self._load_functions(template)
        self._start_event_sources(template)
        self.api_server.start()
        self._write_state()

    def _write_state(self) -> None:
        """Where the running stack's parts are, for the scripts (scripts/stackfind.py reads it)."""
        functions = {route.path.strip("/"): route.function.name for route in self.routes}
        state = {
            "pid": os.getpid(),
            "port": self.config.port,
            "api_url": self._started(self.api_server).url,
            "region": REGION,
            "data_dir": str(self.data_dir),
            # Its keys live there (never copied here); the shell's values win, as they did for this stack.
            "env_file": str(Path(self.config.env_file).resolve()),
            "lambda_endpoint_url": self._started(self.invoke_server).url,
            "dynamodb_endpoint_url": self.dynamodb_url,
            "mem0_url": self.mem0_url,
            "local_mem0": self.local_mem0,
            # The stand-in's per-run key (it guards a 127.0.0.1 server only), so tools can reach it too.
            "mem0_api_key": os.environ["MEM0_API_KEY"] if self.local_mem0 else None,
            "elevenlabs_api_url": self.elevenlabs_api_url,
            "local_elevenlabs": self.local_elevenlabs,
            # Like the Mem0 stand-in's: a per-run key guarding a 127.0.0.1 fake, never a real one.
            "elevenlabs_api_key": os.environ["ELEVENLABS_API_KEY"] if self.local_elevenlabs else None,
            "functions": functions,
            "tables": self.tables,
            "queues": self.queues,
            "dead_letters": str(self.dead_letter_path),
        }
        statefile.write(self.state_path, state)
        # Only this stack's own file: another stack writing the same directory keeps its file.
        pid = os.getpid()
        self._closers.append(("state file", lambda: statefile.remove_if_ours(self.state_path, pid)))

    def _fake_aws_environment(self) -> None:
        for name in AWS_VARIABLES_DROPPED:
            os.environ.pop(name, None)
        # Dummy credentials (botocore signs every request), the region, and no ~/.aws files.
        os.environ.update(statefile.local_aws_environment(REGION))

    def _start_dynamodb(self, template: Template) -> None:
        from standins.dynamodb import DynamoDBServer

        moto = DynamoDBServer(INTERNAL_HOST).start()
        logging.getLogger("werkzeug").addHandler(logging.NullHandler())  # not even its errors on our console
        self._closers.append(("DynamoDB (moto)", moto.close))
        self.dynamodb_url = moto.url
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_url
        import boto3

        client = boto3.client("dynamodb", endpoint_url=self.dynamodb_url, region_name=REGION)
        for variable, table in template.tables().items():
            table.create(client)
            os.environ[variable] = table.name
            self.tables[variable] = table.name

    def _start_queues(self, template: Template) -> None:
        """The template's SQS queues in moto (the DynamoDB server serves SQS too), their URLs in the variables
        that name them, and boto3's SQS endpoint (``AWS_ENDPOINT_URL_SQS``) pointed there."""
        from standins.sqs import create_queues

        definitions = template.queues()
        if not definitions:
            return
        os.environ["AWS_ENDPOINT_URL_SQS"] = self.dynamodb_url
        import boto3

        client = boto3.client("sqs", endpoint_url=self.dynamodb_url, region_name=REGION)
        self.queues = create_queues(client, definitions)
        for variable, logical_id in template.queue_variables().items():
            os.environ[variable] = self.queues[logical_id]
        self._closers.append(("SQS queues", lambda: self._abandon_waiting(template)))

    def _start_event_sources(self, template: Template) -> None:
        """Lambda's event source mappings of the template's SQS events (``standins.sqs.SqsEventSource``)."""
        from standins.sqs import SqsEventSource

        runtime = self._started(self.runtime)
        definitions = template.queues()
        mappings = template.queue_events()
        if not mappings:
            return
        import boto3

        client = boto3.client("sqs", endpoint_url=self.dynamodb_url, region_name=REGION)
        for mapping in mappings:
            function = runtime.function(mapping.function)
            if function is None:
                raise StackError(f"the SQS event of {mapping.function} names no loaded function")

            def invoke(event: dict[str, Any], function: LocalFunction = function) -> Any:
                return runtime.invoke(function, event)

            source = SqsEventSource(
                client,
                self.queues[mapping.queue],
                definitions[mapping.queue].arn(REGION),
                mapping,
                invoke,
                log=self.log,
            ).start()
            self.event_sources.append(source)
        self._closers.append(("SQS event sources", lambda: [source.close() for source in self.event_sources]))

    def _abandon_waiting(self, template: Template) -> None:
        """Jobs still waiting in a queue that a function reads: parked in the dead-letter file as abandoned,
        as the local Lambda parks its unfinished jobs, so stopping `make dev` loses none."""
        from standins.sqs import waiting_bodies

        runtime = self._started(self.runtime)
        definitions = template.queues()
        parked = 0
        for mapping in template.queue_events():
            function = runtime.function(mapping.function)
            for body in waiting_bodies(definitions[mapping.queue].name, REGION):
                try:
                    event = json.loads(body)
                except ValueError:
                    continue
                if function is not None:
                    runtime.abandon(function, event)
                    parked += 1
        if parked:
            self.log(f"{parked} job(s) still waiting for Mem0 saved to {self.dead_letter_path} for replay")

    def _start_mem0(self) -> None:
        os.environ.setdefault("MEM0_DIR", str(self.data_dir / ".mem0"))
        os.environ.setdefault("MEM0_TELEMETRY", "false")
        if os.environ.get("MEM0_API_KEY"):
            self.mem0_url = (os.environ.get("MEM0_HOST") or "https://api.mem0.ai").rstrip("/")
            return
        from standins.mem0 import Mem0Server
        from standins.mem0_quota import Limit, Quota

        try:
            adds = Limit.parse(self.config.mem0_add_limit or os.environ.get("MEM0_STANDIN_ADD_LIMIT"))
            others = Limit.parse(self.config.mem0_request_limit or os.environ.get("MEM0_STANDIN_REQUEST_LIMIT"))
        except ValueError as exc:
            raise StackError(f"the Mem0 stand-in's quota: {exc}") from None
        # The worker is configured with its project's quota (MEM0_ADD_LIMIT, MEM0_REQUEST_LIMIT): locally, the
        # stand-in's, unless set otherwise (to see what a wrong setting does).
        if adds is not None:
            os.environ.setdefault("MEM0_ADD_LIMIT", str(adds))
        if others is not None:
            os.environ.setdefault("MEM0_REQUEST_LIMIT", str(others))
        self.mem0_quota = Quota(adds, others)
        key = f"local-{secrets.token_hex(8)}"
        server = Mem0Server(INTERNAL_HOST, 0, db=self.mem0_db, api_key=key, quota=self.mem0_quota).start()
        self._closers.append(("Mem0 stand-in", server.close))
        self.mem0_url = server.url
        self.local_mem0 = True
        os.environ["MEM0_API_KEY"] = key
        os.environ["MEM0_HOST"] = server.url

    def _start_elevenlabs_api(self) -> None:
        """ElevenLabs' conversations API for reconcile, backfill and a web call's mid-call lookup: the one
        named by ELEVENLABS_API_KEY (and ELEVENLABS_API_BASE) when set, else the local fake
        (standins/elevenlabs.py), so they all work offline."""
        if os.environ.get("ELEVENLABS_API_KEY"):
            base = os.environ.get("ELEVENLABS_API_BASE") or "https://api.elevenlabs.io"
            self.elevenlabs_api_url = base.rstrip("/")
            return
        from standins.elevenlabs import ElevenLabsApiServer

        key = f"local-{secrets.token_hex(8)}"
        server = ElevenLabsApiServer(INTERNAL_HOST, 0, api_key=key).start()
        self._closers.append(("ElevenLabs API stand-in", server.close))
        self.elevenlabs_api_url = server.url
        self.local_elevenlabs = True
        os.environ["ELEVENLABS_API_KEY"] = key
        os.environ["ELEVENLABS_API_BASE"] = server.url

    @staticmethod
    def _set_defaults() -> None:
        # The local stack's own number, as the call simulator dials out from it (an outbound call sends
        # it as the caller: DESIGN.md 3.1); .env or the shell may name others.
        os.environ.setdefault("AGENT_PHONE_NUMBERS", "+15550100000")
        # Every agent of the local stack has memory (the simulator's and yours); .env may name agents instead.
        os.environ.setdefault("MEMORY_AGENT_IDS", "*")
        os.environ.setdefault("LOG_LEVEL", "INFO")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AgenticMemory")
        # Off unless asked for: concurrent invocations share Powertools' one metric set in this process.
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    def _load_functions(self, template: Template) -> None:
        runtime = self._started(self.runtime)
        for function in template.functions().values():
            code = str((self.config.template.parent / function.code_uri).resolve())
            if code not in sys.path:
                sys.path.insert(0, code)
            try:
                module = importlib.import_module(function.module)
                handler = getattr(module, function.attribute)
            except Exception as exc:
                raise StackError(f"cannot load {function.logical_id} ({function.handler}): {exc!r}") from exc
            runtime.functions[function.name] = LocalFunction(
                name=function.name,
                handler=handler,
                timeout=function.timeout,
                memory_mb=function.memory_mb,
                async_retries=function.async_retries,
            )

    def _invoke_route(self, route: Route, event: dict[str, Any]) -> Any:
        """API Gateway's synchronous call of the route's function."""
        runtime = self._started(self.runtime)
        function = runtime.function(route.function.name)
        if function is None:
            raise FunctionFailed(route.function.name)
        outcome = runtime.invoke(function, event)
        if not outcome.ok:
            error = outcome.error or {}
            self.log(f"{function.name} FAILED: {error.get('errorType')}: {str(error.get('errorMessage'))[:200]}")
            raise FunctionFailed(function.name)
        return outcome.result

    # ------------------------------------------------------------------ stop

    def _close_runtime(self) -> None:
        runtime = self.runtime
        if runtime is None:
            return
        waiting = runtime.pending()
        if waiting:
            self.log(f"waiting up to {self.config.drain_seconds:g} s for {waiting} post-call job(s)")
        abandoned = runtime.close(self.config.drain_seconds)
        if abandoned:
            self.log(f"abandoned {abandoned} unfinished job(s); saved to {self.dead_letter_path} for replay")

    def close(self, *, quiet: bool = False) -> None:
        """Stop everything that started, in SHUTDOWN_ORDER; each part is stopped even if another fails."""
        rank = {name: index for index, name in enumerate(SHUTDOWN_ORDER)}
        closers, self._closers = sorted(self._closers, key=lambda item: rank[item[0]]), []
        for name, closer in closers:
            try:
                closer()
            except Exception as exc:
                if not quiet:
                    self.log(f"stopping {name} failed: {exc!r}")

    # ------------------------------------------------------------------ banner

    @staticmethod
    def _started[T](part: T | None) -> T:
        if part is None:
            raise StackError("the stack is not started")
        return part

    def url(self, route: Route) -> str:
        return f"{self._started(self.api_server).url}{route.path}"

    def finder_flag(self) -> str:
        """The scripts' flag that names this stack: `` --port N`` in the default data directory."""
        if self.data_dir == statefile.data_dir_for(self.config.port).resolve():
            return f" --port {self.config.port}"
        return f" --state {_shown(self.state_path)}"

    def banner(self) -> str:
        invoke_server = self._started(self.invoke_server)
        workspace = os.environ["ELEVENLABS_WORKSPACE_KEY"].split(",")[0].strip()
        hmac_key = os.environ["ELEVENLABS_HMAC_KEY"].split(",")[0].strip()
        env_file = _shown(self.config.env_file)
        lines = [f"AgenticMemory local stack ready in {self.ready_seconds:.1f} s", ""]
        # ANY routes only exist to answer other methods with the functions' 405; they are not listed.
        listed = [route for route in self.routes if route.method != "ANY"]
        for route in listed:
            stage = f"   (also /{route.stage}{route.path})" if route.stage != "$default" else ""
            lines.append(f"  {route.function.name:<32} {route.method} {self.url(route)}{stage}")
        if len(listed) < len(self.routes):
            lines.append("  (any other method on these paths: 405 method_not_allowed, as when deployed)")
        lines += [
            "",
            f"  Lambda Invoke endpoint         {invoke_server.url}  (AWS_ENDPOINT_URL_LAMBDA)",
            f"  DynamoDB (moto, in memory)     {self.dynamodb_url}  tables: {', '.join(self.tables.values())}",
        ]
        if self.local_mem0:
            lines.append(f"  Mem0 stand-in                  {self.mem0_url}  store: {_shown(self.mem0_db)}")
            quota = self.mem0_quota.settings() if self.mem0_quota is not None else {}
            if any(quota.values()):
                limits = (
                    f"adds {quota['add_limit'] or 'unlimited'}, other requests {quota['request_limit'] or 'unlimited'}"
                )
                lines.append(f"  Mem0 stand-in quota            {limits} (429 beyond it)")
        else:
            lines.append(f"  Mem0 Platform                  {self.mem0_url}  (MEM0_API_KEY is set)")
        if self.local_elevenlabs:
            lines.append(
                f"  ElevenLabs API stand-in        {self.elevenlabs_api_url}  (conversations API, for reconcile)"
            )
        else:
            lines.append(f"  ElevenLabs API                 {self.elevenlabs_api_url}  (ELEVENLABS_API_KEY is set)")
        for logical_id, url in self.queues.items():
            lines.append(f"  SQS queue (moto)               {url}  ({logical_id})")
        lines += [
            f"  dead letters                   {_shown(self.dead_letter_path)}",
            "",
            f"  X-Workspace-Key                {workspace}",
            f"  post-call HMAC secret          {hmac_key}",
        ]
        if self.generated:
            lines.append(f"  (new local secrets {', '.join(self.generated)} saved in {env_file})")
        lines += ["", "Try it:"]
        caller = "+15550100001"
        samples = {
            "/client-data": {
                "caller_id": caller,
                "agent_id": "agent_local",
                "called_number": "+15550100000",
                "call_sid": "CA_local",
            },
            "/retrieve": {"query": "What did the caller order last time?", "user_id": caller},
        }
        for route in listed:
            if route.path in samples:
                body = shlex.quote(_compact_json(samples[route.path]))
                lines.append(
                    f"  curl -s -X {route.method} {self.url(route)} -H 'content-type: application/json'"
                    f" -H {shlex.quote('x-workspace-key: ' + workspace)} -d {body}"
                )
        python = _shown(Path(sys.executable))
        which = self.finder_flag()
        lines += [
            f"  post-call needs a fresh signature; play a whole call: {python} scripts/simulate_call.py{which}",
            f"  or sign the sample event: {python} scripts/sign_event.py events/post_call.json --env-file {env_file}"
            " --output -",
            "",
            f"  The scripts (simulate_call, forget_caller, replay_dlq, ...) find this stack by themselves;"
            f" with several running, add{which}.",
            "",
            "Ctrl-C stops the stack.",
        ]
        return "\n".join(lines)


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _shown(path: Path) -> str:
    """A path relative to the repository when it is inside it, for shorter banner lines."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(ROOT))
    except ValueError:
        return str(path)


_print_lock = threading.Lock()


def _print(line: str) -> None:
    with _print_lock:
        print(line, flush=True)
