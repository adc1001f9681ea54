"""Proof that the built layer runs: each function served with nothing but the layer, src/ and boto3.

    python scripts/layer_check.py                  # build the layer for this machine, serve each handler
    python scripts/layer_check.py --size DIR       # sizes of a built layer (make build: .aws-sam/build/Mem0Layer)

The layer is built by the very recipe ``sam build`` runs (layer/Makefile, ``build-Mem0Layer``), for this
machine's platform instead of arm64, into a clean directory. Each function then runs in a fresh
interpreter started with ``-S`` (no site-packages, so nothing from a development virtualenv) whose
``PYTHONPATH`` holds only ``src/`` (Lambda's /var/task), the layer (/opt/python) and the packages the
python3.12 runtime ships (boto3 and its dependencies, linked from the current environment). It serves a
full request against the local Mem0 twin (scripts/standins/mem0.py), a local Lambda Invoke stub
and moto's DynamoDB: ``client_data`` and ``retrieve`` for a caller with memories, ``post_call``'s
acknowledgement, then, in a new interpreter as a new container would, the job it queued. The answers are
checked for content, not only status: the functions degrade rather than fail when Mem0 is unusable, so a
missing dependency could otherwise hide behind a 200. Any module imported from outside those directories
and the standard library fails the check too.

tests/infra/test_layer.py runs this in ``make test``. Only the standard library is imported at module
level, so ``--size`` also runs under the SAM CLI's virtualenv (``make build``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import re

# subprocess runs make, pip (through layer/Makefile) and the Python interpreter, with fixed arguments.
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standins.sam_template import Template

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
LAYER_MAKEFILE = ROOT / "layer" / "Makefile"
LAYER_TARGET = "build-Mem0Layer"  # template.yaml's logical id: sam build runs `make build-<id>`

# What the python3.12 Lambda runtime ships next to the interpreter (/var/runtime): boto3 and what it needs.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# Import names of what mem0ai declares for its self-hosted Memory; none of it belongs in the layer.
NOT_IN_LAYER = ("numpy", "qdrant_client", "openai", "sqlalchemy", "grpc", "google", "posthog", "h2")
# Imported at module level by mem0.client.main, but only when used (agentic_memory.stores.mem0_loader), and
# the Unicode data a name beyond ASCII needs (agentic_memory.domain.names): never loaded by these requests,
# so the check asks that they can be.
DEFERRED = ("requests", "confusable_homoglyphs.categories", "confusable_homoglyphs.confusables")
LIMIT_MB = 40.0  # docs/performance.md: the layer's target, unzipped

MEM0_KEY = "layer-check-mem0-key"
FAKE_AWS = "testing"  # what moto and the local Invoke stub accept as credentials
WORKSPACE_KEY = "layer-check-workspace-key"
HMAC_KEY = "layer-check-hmac-key"
CALLER = "+16129782029"
FUNCTION = "agentic-memory-post-call"
SEEDED = ("Caller's name is Maria Lopez.", "Ordered blue ceramic vases in November.")
TELEMETRY_CALLER = "+16125550147"

# Runs in the clean interpreter: import the handler, serve the events, report answers and where every
# loaded module came from. os._exit skips teardown (Lambda freezes a container, it never tears it down).
CHILD = r"""
import json, os, sys
job = json.loads(sys.stdin.read())
import importlib
handler = importlib.import_module(job["module"]).lambda_handler
class Context:
    function_name = job["function"]
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + job["function"]
    aws_request_id = "layer-check"
    log_group_name = "/aws/lambda/" + job["function"]
    log_stream_name = "layer-check"
    def get_remaining_time_in_millis(self):
        return 30000
answers = [handler(event, Context()) for event in job["events"]]
import importlib.util
roots = tuple(job["roots"])
files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
report = {
    "answers": answers,
    "path": sys.path,
    "outside": sorted(f for f in files if f and not os.path.abspath(f).startswith(roots)),
    "modules": sorted(sys.modules),
    "unimportable": [name for name in job["deferred"] if importlib.util.find_spec(name) is None],
}
sys.stdout.flush()
os.write(1, ("\nLAYER-CHECK " + json.dumps(report, default=str) + "\n").encode())
os._exit(0)
"""


class LayerCheckFailed(AssertionError):
    """The layer did not serve a function: what failed, and the child's output."""


# --------------------------------------------------------------------------- building and measuring


def build(artifacts: Path, *, platforms: str | None = "", python: str = sys.executable) -> Path:
    """Run layer/Makefile's ``build-Mem0Layer`` as ``sam build`` does, into ``artifacts``; returns the
    layer's ``python/`` directory. ``platforms=""`` builds for this machine, ``None`` keeps the Makefile's
    (arm64). Raises ``subprocess.CalledProcessError`` when make or pip fails."""
    command = ["make", "--no-print-directory", "-f", str(LAYER_MAKEFILE), LAYER_TARGET]
    command += [f"ARTIFACTS_DIR={artifacts}", f"LAYER_PYTHON={python}"]
    if platforms is not None:
        command.append(f"PLATFORMS={platforms}")
    subprocess.run(command, check=True, cwd=LAYER_MAKEFILE.parent)  # nosec B603
    return artifacts / "python"


@dataclass(frozen=True)
class Size:
    """A layer's size as Lambda counts it: the bytes of its files unzipped, and its .zip archive."""

    files: int
    unzipped_bytes: int
    zipped_bytes: int

    @property
    def unzipped_mb(self) -> float:
        return self.unzipped_bytes / 1_000_000

    @property
    def zipped_mb(self) -> float:
        return self.zipped_bytes / 1_000_000


def measure(layer: Path) -> Size:
    """Files, unzipped bytes and deflated .zip bytes of the layer rooted at ``layer`` (the directory that
    holds ``python/``, as ``sam build`` leaves it in .aws-sam/build/Mem0Layer)."""
    paths = sorted(p for p in layer.rglob("*") if p.is_file())
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in paths:
                zipped.write(path, path.relative_to(layer))
        zipped_bytes = archive.stat().st_size
    return Size(len(paths), sum(p.stat().st_size for p in paths), zipped_bytes)


def distributions_in(site: Path) -> dict[str, str]:
    """``{normalised name: version}`` of the distributions installed in ``site``."""
    found = {}
    for dist in importlib.metadata.distributions(path=[str(site)]):
        found[re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()] = dist.version
    return found


def link_distributions(names: Iterable[str], target: Path, *, skip: Iterable[str] = ()) -> Path:
    """Symlinks in ``target`` to the top-level files of the installed distributions ``names`` (from the
    running environment), leaving out the top-level names in ``skip``. Raises ``SystemExit`` when one is
    not installed."""
    target.mkdir(parents=True, exist_ok=True)
    skipped = set(skip)
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is not installed: run `make setup`") from None
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {"..", "__pycache__"} - skipped:
            source, link = Path(str(dist.locate_file(top))), target / top
            if source.exists() and not link.exists():
                link.symlink_to(source)
    return target


def without(site: Path, target: Path, names: Iterable[str]) -> Path:
    """A view of ``site`` (symlinks) lacking the top-level entries ``names`` and their dist-info: a layer
    with a dependency missing, to show that the check notices."""
    target.mkdir(parents=True, exist_ok=True)
    gone = set(names)
    for entry in site.iterdir():
        stem = entry.name.split("-", 1)[0].removesuffix(".py").lower()
        if stem not in gone:
            (target / entry.name).symlink_to(entry)
    return target


# --------------------------------------------------------------------------- the local stand-ins


class _Invoke(BaseHTTPRequestHandler):
    """Lambda's Invoke API as far as the post-call self-invoke needs it: keep the payload, answer 202."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.payloads.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.send_header("x-amzn-RequestId", "layer-check")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def invoke_stub() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local Lambda Invoke endpoint: its URL and the payloads it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Invoke)
    server.daemon_threads = True
    server.payloads = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.payloads  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def dynamodb() -> Iterator[tuple[str, str, str]]:
    """moto's DynamoDB on a local port, with the idempotency and caller-profile tables as template.yaml
    defines them: the endpoint URL and the tables' names (new each time: moto keeps tables per process)."""
    import boto3

    from standins.dynamodb import running_dynamodb

    with running_dynamodb() as server:
        url, stamp = server.url, time.time_ns()
        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=FAKE_AWS,
            aws_secret_access_key=FAKE_AWS,
        )
        tables = Template.read().tables()
        yield (
            url,
            tables["IDEMPOTENCY_TABLE"].create(client, f"idempotency-{stamp}"),
            tables["PROFILE_TABLE"].create(client, f"profiles-{stamp}"),
        )


# --------------------------------------------------------------------------- the check


@dataclass
class Run:
    """One function's interpreter: the answers it gave and what it could import."""

    module: str
    answers: list[dict[str, Any]]
    path: list[str]
    outside: list[str]
    modules: set[str]
    unimportable: list[str]
    log: str = field(repr=False, default="")

    def problems(self) -> list[str]:
        """Log lines at WARNING or above, and tracebacks: a healthy request against healthy stand-ins
        logs none, while a function working around a missing package (the profile unreadable, Mem0's
        client not built) logs why."""
        marks = ('"level":"WARNING"', '"level":"ERROR"', '"level":"CRITICAL"', "Traceback (most recent call last)")
        return [line for line in self.log.splitlines() if any(mark in line for mark in marks)]


@dataclass
class Report:
    runs: dict[str, Run]
    mem0_paths: dict[str, list[str]]  # Mem0 requests per run, "METHOD /path"
    seconds: float


def runtime_site(target: Path) -> Path:
    """The boto3 set the Lambda runtime ships, linked from the running environment."""
    return link_distributions(RUNTIME_PACKAGES, target)


def _environment(scratch: Path, mem0_url: str, invoke_url: str, dynamodb: tuple[str, str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MEM0_API_KEY": MEM0_KEY,
        "MEM0_HOST": mem0_url,
        "MEM0_DIR": str(scratch / "mem0"),
        "MEM0_TELEMETRY": "false",
        "ELEVENLABS_WORKSPACE_KEY": WORKSPACE_KEY,
        "ELEVENLABS_HMAC_KEY": HMAC_KEY,
        "MEMORY_AGENT_IDS": "*",
        "IDEMPOTENCY_TABLE": dynamodb[1],
        "PROFILE_TABLE": dynamodb[2],
        "AWS_ACCESS_KEY_ID": FAKE_AWS,
        "AWS_SECRET_ACCESS_KEY": FAKE_AWS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ENDPOINT_URL_LAMBDA": invoke_url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb[0],
        "POWERTOOLS_METRICS_NAMESPACE": "AgenticMemory",
    }


def serve(module: str, events: list[dict[str, Any]], path: list[Path], env: dict[str, str]) -> Run:
    """Import ``module`` and serve ``events`` in a fresh interpreter that sees only ``path`` and the
    standard library. Raises ``LayerCheckFailed`` when the interpreter fails."""
    python = os.path.realpath(sys.executable)  # the base interpreter: no pyvenv.cfg, no virtualenv
    stdlib = [p for p in sys.path if p.startswith(sys.base_prefix) and "site-packages" not in p]
    job = {
        "module": module,
        "function": FUNCTION,
        "events": events,
        "roots": [*map(str, path), *stdlib],
        "deferred": DEFERRED,
    }
    done = subprocess.run(  # nosec B603
        [python, "-S", "-P", "-c", CHILD],  # -P: not even the working directory on the path
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LAYER-CHECK ")]
    if done.returncode != 0 or not lines:
        raise LayerCheckFailed(f"{module} failed with only the layer on the path:\n{done.stderr[-3000:]}")
    report = json.loads(lines[-1].removeprefix("LAYER-CHECK "))
    log = done.stdout + done.stderr
    return Run(
        module,
        report["answers"],
        report["path"],
        report["outside"],
        set(report["modules"]),
        report["unimportable"],
        log,
    )


def check(site: Path, *, telemetry: bool = False, only: Iterable[str] | None = None) -> Report:
    """Serve every function with ``site`` as the layer; returns what happened. Raises
    ``LayerCheckFailed`` with the reason when a function fails or gives a degraded answer.
    ``telemetry=True`` also serves ``client_data`` with ``MEM0_TELEMETRY=true``; ``only`` limits the
    runs to those named (client_data, retrieve, post_call, post_call_job, telemetry_on)."""
    from standins.mem0 import running_mem0_server
    from tests.support import http_event, post_call_body, signed_headers

    begun = time.perf_counter()
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="layer-check-")))
        mem0 = stack.enter_context(running_mem0_server(api_key=MEM0_KEY))
        invoke_url, payloads = stack.enter_context(invoke_stub())
        env = _environment(scratch, mem0.url, invoke_url, stack.enter_context(dynamodb()))
        path = [SRC, site, runtime_site(scratch / "runtime")]  # Lambda's order: /var/task, /opt/python, runtime
        for seeded in (CALLER, TELEMETRY_CALLER):
            mem0.store.add(
                [{"role": "user", "content": fact} for fact in SEEDED],
                user_id=seeded,
                metadata={"kind": "fact", "caller_name": "Maria Lopez"},
                infer=False,
            )
        header = {"x-workspace-key": WORKSPACE_KEY}
        body = post_call_body(conversation_id=f"conv_layer_check_{time.time_ns()}")
        plan: list[tuple[str, str, Any, dict[str, str]]] = [
            (
                "client_data",
                "client_data.handler",
                lambda: [http_event("/client-data", {"caller_id": CALLER, "agent_id": "agent_check"}, header)],
                {},
            ),
            (
                "retrieve",
                "retrieve.handler",
                lambda: [http_event("/retrieve", {"query": "which vases?", "user_id": CALLER}, header)],
                {},
            ),
            (
                "post_call",
                "post_call.handler",
                lambda: [http_event("/post-call", body, signed_headers(body, key=HMAC_KEY))],
                {},
            ),
            ("post_call_job", "post_call.handler", lambda: payloads[-1:], {}),
        ]
        if telemetry:
            # Another caller, without a caller profile, so that this answer too comes from Mem0 (the job above
            # gave CALLER a profile, and a profile's brief leaves Mem0's facts to the retrieve tool).
            telemetry_event = [
                http_event("/client-data", {"caller_id": TELEMETRY_CALLER, "agent_id": "agent_check"}, header)
            ]
            plan.append(("telemetry_on", "client_data.handler", lambda: telemetry_event, {"MEM0_TELEMETRY": "true"}))
        if only is not None:
            plan = [step for step in plan if step[0] in set(only)]
        runs: dict[str, Run] = {}
        mem0_paths: dict[str, list[str]] = {}
        for name, module, events, extra in plan:
            before = len(mem0.requests)
            batch = events()
            if not batch:
                raise LayerCheckFailed(f"{name}: the acknowledgement queued no job")
            runs[name] = serve(module, batch, path, {**env, **extra})
            mem0_paths[name] = [f"{r.method} {r.path.split('?')[0]}" for r in mem0.requests[before:]]
        mem0.wait_idle(5.0)
        _verify(runs, mem0_paths)
    return Report(runs, mem0_paths, time.perf_counter() - begun)


def _verify(runs: dict[str, Run], mem0_paths: dict[str, list[str]]) -> None:
    """The answers a working layer gives; a ``LayerCheckFailed`` naming the first run that did not."""

    def fail(name: str, why: str) -> None:
        raise LayerCheckFailed(f"{name}: {why}\n--- its output ---\n{runs[name].log[-3000:]}")

    for name, run in runs.items():
        if run.outside:
            fail(name, f"imported modules from outside the layer, src/ and the runtime: {run.outside[:5]}")
        if any("site-packages" in entry for entry in run.path):
            fail(name, f"a site-packages directory was on sys.path: {run.path}")
        if run.unimportable:
            fail(name, f"not importable from the layer: {run.unimportable}")
        # The one warning expected: telemetry asked for without PostHog in the layer (agentic_memory.stores.mem0).
        problems = [line for line in run.problems() if "posthog is not installed" not in line]
        if problems:
            fail(name, f"logged a problem: {problems[0][:500]}")
        answer = run.answers[0]
        if name in ("client_data", "retrieve", "telemetry_on"):
            if answer.get("statusCode") != 200:
                fail(name, f"answered {answer.get('statusCode')}")
            if not any(fact.rstrip(".") in answer.get("body", "") for fact in SEEDED):
                fail(name, "the answer holds none of the caller's memories: Mem0 was not reached")
        elif name == "post_call" and answer.get("statusCode") != 200:
            fail(name, f"the acknowledgement answered {answer.get('statusCode')}")
        elif name == "post_call_job":
            if answer.get("status") != "written":
                fail(name, f"the job ended {answer!r}, not written")
            if not any(path.endswith("/memories/add/") for path in mem0_paths[name]):
                fail(name, f"no memory reached Mem0 (requests: {mem0_paths[name]})")


# --------------------------------------------------------------------------- CLI


def _print_size(label: str, size: Size) -> None:
    print(
        f"{label}: {size.unzipped_mb:.1f} MB unzipped ({size.unzipped_bytes} bytes, {size.files} files), "
        f"{size.zipped_mb:.1f} MB zipped (limit {LIMIT_MB:g} MB unzipped)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=Path, metavar="DIR", help="only measure the built layer in DIR")
    args = parser.parse_args(argv)
    if args.size:
        if not (args.size / "python").is_dir():
            print(f"{args.size} holds no python/ directory: run `make build` first", file=sys.stderr)
            return 2
        size = measure(args.size)
        _print_size(f"layer {args.size}", size)
        return 0 if size.unzipped_mb <= LIMIT_MB else 1
    sys.path[:0] = [str(ROOT), str(SRC), str(ROOT / "scripts")]
    with tempfile.TemporaryDirectory(prefix="layer-build-") as scratch:
        begun = time.perf_counter()
        site = build(Path(scratch))
        built = time.perf_counter() - begun
        size = measure(Path(scratch))
        report = check(site, telemetry=True)
        print(f"built for this machine in {built:.1f} s; {len(distributions_in(site))} distributions")
        _print_size("layer", size)
        for name, run in report.runs.items():
            answer = run.answers[0]
            status = answer.get("statusCode", answer.get("status"))
            print(f"  {name:<14} {status}  Mem0: {', '.join(report.mem0_paths[name]) or '-'}")
        print(f"every function served with only the layer, src/ and the runtime's boto3 ({report.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
