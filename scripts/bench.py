"""Cold-start, warm-latency and worker benchmarks for the three functions, against the local Mem0 server.

Why this shape: this machine is shared (2 cores, other test runs), so single timings mean little, and
every timing verdict compares two things measured in the same run, so that load slows both sides:
cold start over the naive arm's, warm p95 over the p95 of the endpoint's one outside call made directly
in the same threads. Absolute figures are printed, never judged. Cold starts run the arms interleaved,
round by round in a rotating order, and compare medians; warm figures are percentiles over hundreds of
requests. Load averages before and after are recorded as a noise hint.

  a. cold: a fresh interpreter per sample that imports a handler and serves one request, versus one
     doing the naive ``from mem0 import MemoryClient`` plus ``MemoryClient(api_key, host=...)`` with
     mem0ai and every dependency it declares importable (what ``pip install mem0ai`` gives). By default
     the handler children see only src/, the layer's packages and the boto3 set the Lambda runtime
     ships (a symlink farm, ``python -S``), not this virtualenv's development tools. Two more arms do
     client_data's and retrieve's outside work with the libraries alone (Powertools around the handler,
     libphonenumber, mem0ai's MemoryClient and its one call; none of our domain code): the least those
     libraries cost, which the handlers are judged against (OVER_LIBRARIES). ``--floor-parts`` adds that
     arm without Powertools, without libphonenumber, and with mem0ai's client alone; ``--baseline REV``
     adds each handler as git revision REV has it, to measure a change in the same run.
  b. warm: the handlers imported once in this process (a warm container), called from threads, each
     call paired with its reference call (REFERENCES) made directly in the same thread.
  c. worker: a 200-turn call through the post-call acknowledgement, its queued job, then the worker.
  d. profile: client_data for a returning caller with a caller profile in DynamoDB (moto's server, its own
     process): cold start with each way of reading it, and warm p95 next to the bare GetItem's, with
     Mem0 answering in 800 ms and hanging.

The Mem0 server and a Lambda Invoke stub run as their own processes, so they do not compete with the
measured code for this interpreter's GIL. Run: ``make bench`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.metadata
import io
import json
import os
import platform
import re
import socket
import statistics
import subprocess  # nosec B404
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SCRIPTS = ROOT / "scripts"
MEM0_KEY = "bench-mem0-key"
FAKE_AWS = "testing"  # what moto and the local stubs accept as credentials
FUNCTION = "agentic-memory-post-call"
HEAVY = ("qdrant_client", "numpy", "openai", "sqlalchemy", "grpc")
WATCHED = (*HEAVY, "boto3", "botocore", "posthog", "requests", "h2")
# The python3.12 Lambda runtime ships these; everything else comes from the layer.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
HANDLERS = {"client_data": "client_data.handler", "retrieve": "retrieve.handler", "post_call": "post_call.handler"}
# Every timing verdict is a ratio of two things measured in the same run, so a busy machine slows both.
# Cold start + first request, over the naive arm's (median wall times). client_data's and retrieve's are the first
# target (issue 14), at about what their libraries alone take (docs/performance.md, "The floor"): reported, not judged.
TARGETS = {"client_data": 0.2, "retrieve": 0.2, "post_call": 0.3}
# The libraries client_data and retrieve cannot do without, doing the same outside work with none of our
# domain code (CHILD's "libraries" arm): Powertools, libphonenumber, mem0ai's MemoryClient and its one call.
LIBRARIES = "libraries:"
# Their cold start + first request may take at most this much of the libraries arm's, same run: our domain
# code's share (1.06-1.13 x in twelve runs on the development machine), with room for a shared machine's noise.
OVER_LIBRARIES = 1.2
LIBRARY_WORK = {
    "client_data": {"call": "get_all", "powertools": True, "phonenumbers": True},
    "retrieve": {"call": "search", "query": "What did I order last time?", "powertools": True, "phonenumbers": True},
}
# --floor-parts: client_data's libraries arm with a part left out, to show what each part costs.
FLOOR_PARTS = {
    "without Powertools": {"powertools": False},
    "without libphonenumber": {"phonenumbers": False},
    "mem0ai's client alone": {"powertools": False, "phonenumbers": False},
}
# Warm p95 at 10 concurrent callers, over the p95 of the endpoint's one outside call made directly, in the
# same threads, interleaved (REFERENCES): Mem0's get_all for client_data, its search for retrieve, the
# Lambda self-invoke for the acknowledgement. 1.3 means our overhead is at most 30 % of that call.
WARM_RATIO = {"client_data": 1.3, "retrieve": 1.3, "post_call": 3.0}
REFERENCES = {"client_data": "Mem0 get_all", "retrieve": "Mem0 search", "post_call": "Lambda invoke"}
# Counts, not times: a whole call is written in at most three adds, after one read of what an earlier,
# crashed attempt may already have written (agentic_memory.endpoints.run_job).
WORKER_MAX_WRITES = 3
WORKER_MAX_READS = 1

# One cold sample: read the job, then time from the first import to the answer. The process ends with
# os._exit, skipping interpreter teardown: Lambda freezes a container after a request, it never pays it.
CHILD = r"""
import json, os, sys, time
job = json.loads(sys.stdin.buffer.read())
class Context:
    function_name = job["function"]
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + job["function"]
    aws_request_id = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
started = time.perf_counter()
if job.get("libraries"):
    # The libraries a handler cannot do without, doing its outside work, with none of our domain code:
    # Powertools' Logger and Metrics around the handler, the caller's number to E.164 by libphonenumber,
    # mem0ai's MemoryClient (constructor ping included) making the request's one Mem0 call. Loaded the
    # fastest way the handlers load them (collector paused, CA bundle on a thread, mem0's lean import),
    # so this is the least these libraries cost: the handler arms are judged by how much they add to it.
    # --floor-parts leaves Powertools or libphonenumber out, to show what each of them costs.
    work = job["libraries"]
    from agentic_memory.startup import init_phase
    with init_phase():
        from agentic_memory import tls
        tls.start()
        import httpx
        from agentic_memory.mem0_import import memory_client_class
        if work["phonenumbers"]:
            import phonenumbers
        if work["powertools"]:
            from aws_lambda_powertools import Logger, Metrics
            logger, metrics = Logger(service="bench"), Metrics(namespace="Bench", service="bench")
        client = memory_client_class(telemetry=False)(
            api_key=os.environ["MEM0_API_KEY"], host=os.environ["MEM0_HOST"], client=httpx.Client(verify=tls.context())
        )
    def handler(event, context):
        user = work["caller"]
        if work["phonenumbers"]:
            user = phonenumbers.format_number(phonenumbers.parse(user, "US"), phonenumbers.PhoneNumberFormat.E164)
        if work["call"] == "search":
            client.search(work["query"], filters={"user_id": user}, top_k=5, latest_only=True)
        else:
            client.get_all(filters={"user_id": user}, page=1, page_size=200, latest_only=True)
        if work["powertools"]:
            metrics.add_metric(name="Served", unit="Count", value=1)
        return {"statusCode": 200}
    if work["powertools"]:
        handler = logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)(
            metrics.log_metrics(handler)
        )
    status = handler(job["event"], Context())["statusCode"]
elif job["module"] is None:
    from mem0 import MemoryClient
    MemoryClient(api_key=os.environ["MEM0_API_KEY"], host=os.environ["MEM0_HOST"])
    status = None
else:
    import importlib
    handler = importlib.import_module(job["module"]).lambda_handler
    status = handler(job["event"], Context())["statusCode"]
elapsed = time.perf_counter() - started
loaded = [name for name in job["watch"] if name in sys.modules]
loaded += ["botocore.*"] if any(name.startswith("botocore.") for name in sys.modules) else []
sys.stdout.flush()
result = {"seconds": elapsed, "status": status, "loaded": loaded}
os.write(1, ("\nBENCH-RESULT " + json.dumps(result) + "\n").encode())
os._exit(0)
"""


# --------------------------------------------------------------------------- helpers


def percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mem0ai": importlib.metadata.version("mem0ai"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def http_json(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310
        raw = response.read()
    return json.loads(raw) if raw else None


@contextlib.contextmanager
def started(cmd: list[str], env: dict[str, str]) -> Iterator[str]:
    """A server process that prints its URL on its first stdout line; stopped on exit."""
    process = subprocess.Popen(  # nosec B603
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        url = (process.stdout.readline() if process.stdout else "").strip()
        if not url.startswith("http"):
            raise RuntimeError(f"{' '.join(cmd[1:3])} did not start")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Mem0Admin:
    """The local Mem0 server's unauthenticated admin endpoints: knobs and request counts."""

    def __init__(self, url: str) -> None:
        self.url = url

    def delay(self, seconds: float) -> None:
        http_json("POST", f"{self.url}/_admin/knobs/", {"delay_seconds": seconds})

    def counts(self) -> dict[str, int]:
        return http_json("GET", f"{self.url}/_admin/stats/")["requests"]


def count_diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}


# --------------------------------------------------------------------------- Lambda Invoke stub

_INVOKE = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")


class _LambdaStub(BaseHTTPRequestHandler):
    """Lambda's Invoke API as far as the self-invoke needs it: 202, and ``GET /_last`` for the last job."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "bench")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not _INVOKE.fullmatch(self.path.split("?")[0]):
            self._answer(404, b'{"message": "not found"}')
            return
        self.server.last = body  # type: ignore[attr-defined]
        self._answer(202)

    def do_GET(self) -> None:
        if self.path == "/_last":
            self._answer(200, self.server.last or b"null")  # type: ignore[attr-defined]
        else:
            self._answer(404)


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many callers connect at once in the warm run


def serve_lambda_stub() -> int:
    server = _StubServer(("127.0.0.1", 0), _LambdaStub)
    server.last = None  # type: ignore[attr-defined]
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


# --------------------------------------------------------------------------- environments


def layer_pins() -> list[str]:
    """The distribution names layer/requirements.txt pins: the layer's whole content."""
    names = []
    for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[=<>~!\[; ]", line, maxsplit=1)[0])
    return names


def lambda_like_site(target: Path) -> Path:
    """A directory holding only what a deployed function can import: the layer's pinned packages and
    the runtime's boto3 set, as symlinks into this virtualenv. Development tools (click, rich, pytest...)
    are left out, since some packages import them when present (httpx loads its CLI's)."""
    from layer_check import link_distributions

    return link_distributions([*RUNTIME_PACKAGES, *layer_pins()], target)


def requirement_closure(root: str) -> list[str]:
    """``root`` and every distribution it requires, recursively (extras left out): what ``pip install
    root`` installs."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [root]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return sorted(seen)


def checkout_src(revision: str, target: Path) -> Path:
    """``src/`` as git revision ``revision`` holds it, extracted under ``target``; returns that ``src``.
    Raises ``RuntimeError`` when git cannot produce it (an unknown revision, no repository)."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(  # nosec B603 B607
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "src"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {revision} src failed: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def naive_site(target: Path) -> Path:
    """What a plain mem0ai user deploys: mem0ai with every dependency it declares (``pip install
    mem0ai``), as symlinks into this virtualenv; nothing of ours."""
    from layer_check import link_distributions

    return link_distributions(requirement_closure("mem0ai"), target)


def base_env(tmp: Path, mem0_url: str) -> dict[str, str]:
    """What every measured process and the warm handlers see: fake AWS, the local Mem0, no telemetry."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "MEM0_API_KEY": MEM0_KEY,
        "MEM0_HOST": mem0_url,
        "MEM0_DIR": str(tmp / "mem0"),
        "MEM0_TELEMETRY": "false",
        "ELEVENLABS_WORKSPACE_KEY": "bench-workspace-key",
        "ELEVENLABS_HMAC_KEY": "bench-hmac-secret-key",
        "AWS_ACCESS_KEY_ID": FAKE_AWS,
        "AWS_SECRET_ACCESS_KEY": FAKE_AWS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_METRICS_NAMESPACE": "AgenticMemory",
    }


# --------------------------------------------------------------------------- events


def events(workspace_key: str, hmac_key: str, caller: str) -> dict[str, Callable[[], dict[str, Any]]]:
    """Fresh API Gateway events per endpoint (post_call re-signed each time, as ElevenLabs does)."""
    from tests.support import http_event, post_call_body, signed_headers

    header = {"x-workspace-key": workspace_key}
    initiation = {"caller_id": caller, "agent_id": "agent_bench", "called_number": "+18005551234"}
    body = post_call_body()
    return {
        "client_data": lambda: http_event("/client-data", initiation, header),
        "retrieve": lambda: http_event(
            "/retrieve", {"query": "What did I order last time?", "user_id": caller}, header
        ),
        "post_call": lambda: http_event("/post-call", body, signed_headers(body, key=hmac_key)),
    }


def long_call_body(turns: int, conversation_id: str) -> bytes:
    from tests.support import post_call_body

    lines = [
        "I would like to change my delivery to weekday mornings.",
        "Sure, I can help with that. Which address is it for?",
        "The one on Elm Street, and please leave it with the concierge.",
        "Noted. Anything else I can do for you today?",
    ]
    transcript = [
        {
            "role": "user" if i % 2 == 0 else "agent",
            "message": f"{lines[i % len(lines)]} (turn {i})",
            "time_in_call_secs": i * 4,
        }
        for i in range(turns)
    ]
    return post_call_body(transcript=transcript, conversation_id=conversation_id)


# --------------------------------------------------------------------------- a. cold start


def cold(
    args: argparse.Namespace, env: dict[str, str], naive_env: dict[str, str], admin: Mem0Admin, python_flags: list[str]
) -> dict[str, Any]:
    caller = "+16129782029"
    event = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], caller)
    known_ids = {**env, "MEM0_ORG_ID": "local-org", "MEM0_PROJECT_ID": "local-project"}
    # name -> (handler module or None, environment, the libraries arm's work or None)
    arms: dict[str, tuple[str | None, dict[str, str], dict[str, str] | None]] = {
        "naive": (None, naive_env, None),
        "client_data": (HANDLERS["client_data"], env, None),
        "retrieve": (HANDLERS["retrieve"], env, None),
        "post_call": (HANDLERS["post_call"], env, None),
        **{f"{LIBRARIES}{name}": (None, env, work | {"caller": caller}) for name, work in LIBRARY_WORK.items()},
    }
    if args.floor_parts:
        base = LIBRARY_WORK["client_data"] | {"caller": caller}
        arms |= {f"{LIBRARIES}client_data {part}": (None, env, base | left) for part, left in FLOOR_PARTS.items()}
    if args.baseline:  # the same handlers from another revision's src/, interleaved with today's
        then = {**env, "PYTHONPATH": env["PYTHONPATH"].replace(str(SRC), str(args.baseline_src), 1)}
        arms |= {f"{name}@{args.baseline}": (module, then, None) for name, module in HANDLERS.items()}

    def sample(name: str, module: str | None, arm_env: dict[str, str], work: dict[str, str] | None) -> dict[str, Any]:
        endpoint = name.removesuffix("+ids").removeprefix(LIBRARIES).split(" ")[0].split("@")[0]
        return _cold_sample(module, arm_env, python_flags, event.get(endpoint), admin, label=name, libraries=work)

    def interleave(selected: dict[str, tuple], rounds: int) -> dict[str, list[dict]]:
        names = list(selected)
        for name in names:  # warm-up: fills the bytecode cache, discarded
            sample(name, *selected[name])
        samples: dict[str, list[dict]] = {name: [] for name in names}
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(sample(name, *selected[name]))
        return samples

    admin.delay(0.0)
    samples = interleave(arms, args.rounds)
    naive_wall = statistics.median(s["wall"] for s in samples["naive"])
    naive_in = statistics.median(s["in_process"] for s in samples["naive"])
    result: dict[str, Any] = {}
    for name, runs in samples.items():
        wall = statistics.median(s["wall"] for s in runs)
        inner = statistics.median(s["in_process"] for s in runs)
        result[name] = {
            "wall_ms": round(wall * 1000, 1),
            "in_process_ms": round(inner * 1000, 1),
            "wall_iqr_ms": round(
                (percentile([s["wall"] for s in runs], 75) - percentile([s["wall"] for s in runs], 25)) * 1000, 1
            ),
            "ratio_wall": round(wall / naive_wall, 3),
            "ratio_in_process": round(inner / naive_in, 3),
            "mem0_requests": runs[0]["mem0"],
            "heavy_loaded": sorted({m for s in runs for m in s["loaded"] if m in HEAVY}),
            "loaded": sorted({m for s in runs for m in s["loaded"]}),
            "samples": len(runs),
        }
    for name in LIBRARY_WORK:  # what our code adds to the libraries it cannot do without, same run
        result[name] |= compared(samples[name], samples[f"{LIBRARIES}{name}"], "libraries")
    for name in HANDLERS if args.baseline else ():  # a change, against the revision it started from
        result[name] |= compared(samples[name], samples[f"{name}@{args.baseline}"], "baseline")

    # The constructor's ping, skipped when MEM0_ORG_ID and MEM0_PROJECT_ID are set: visible once Mem0
    # takes time to answer, so this pair runs with the configured delay.
    admin.delay(args.delay)
    ping = interleave(
        {
            "client_data": (HANDLERS["client_data"], env, None),
            "client_data+ids": (HANDLERS["client_data"], known_ids, None),
        },
        max(3, args.rounds // 3),
    )
    admin.delay(0.0)
    result["ping"] = {
        name: {
            "wall_ms": round(statistics.median(s["wall"] for s in runs) * 1000, 1),
            "mem0_requests": runs[0]["mem0"],
        }
        for name, runs in ping.items()
    }
    result["ping"]["delay_ms"] = round(args.delay * 1000)
    return result


# --------------------------------------------------------------------------- b. warm and c. worker


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send fd 1 (Powertools' JSON logs and metrics) to /dev/null: formatted as on Lambda, not printed."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def warm_and_worker(args: argparse.Namespace, env: dict[str, str], admin: Mem0Admin, stub_url: str) -> dict[str, Any]:
    """Handlers imported once here: a warm container. Threads model concurrent calls, each on its own warm
    container, sharing this machine (Lambda itself runs one request per container at a time)."""
    os.environ.update(env)
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = stub_url
    for name in ("MEM0_ORG_ID", "MEM0_PROJECT_ID", "IDEMPOTENCY_TABLE", "PYTHONDONTWRITEBYTECODE"):
        os.environ.pop(name, None)
    from agentic_memory.config import get_settings
    from tests.support import LambdaContext

    get_settings.cache_clear()
    handlers = {
        name: __import__(module, fromlist=["lambda_handler"]).lambda_handler for name, module in HANDLERS.items()
    }
    caller = "+16129782029"
    make = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], caller)
    results: dict[str, Any] = {}
    with quiet_stdout():
        if "worker" in args.only:
            results["worker"] = worker(args, env, admin, stub_url, handlers["post_call"])
        if "warm" in args.only:
            seed(env["MEM0_HOST"], caller)
            # One call first per endpoint: the container is warm once it has served one.
            for name, handler in handlers.items():
                handler(make[name](), LambdaContext())
            direct = references(env, caller)
            for call in direct.values():  # the reference clients warm too
                call()
            admin.delay(args.delay)
            results["warm"] = {
                str(level): warm_run(handlers, make, direct, level, args.calls, LambdaContext)
                for level in args.concurrency
            }
    admin.delay(0.0)
    return results


def references(env: dict[str, str], caller: str) -> dict[str, Callable[[], Any]]:
    """Each endpoint's one outside call, made directly with the same libraries and no code of ours: the
    warm verdicts' yardstick (what an endpoint takes beyond it is our overhead). The Mem0 client has its
    own warm connection pool, as each handler's has; the self-invoke is the function's own
    (``aws.invoke_async``: the signed httpx client, the credentials being in the environment)."""
    import httpx

    from agentic_memory import aws, memory

    http = httpx.Client(
        timeout=10, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60)
    )
    mem0 = memory._memory_client_class()(api_key=env["MEM0_API_KEY"], host=env["MEM0_HOST"], client=http)
    payload = json.dumps({"kind": "bench-reference"}).encode()
    return {
        "client_data": lambda: mem0.get_all(filters={"user_id": caller}, page=1, page_size=200),
        "retrieve": lambda: mem0.search("What did I order last time?", filters={"user_id": caller}, top_k=5),
        "post_call": lambda: aws.invoke_async(FUNCTION, payload),
    }


def seed(mem0_url: str, caller: str) -> None:
    """A returning caller, so client_data and retrieve carry real memories in their answers."""
    facts = [
        "Caller's name is Maria Lopez.",
        "Ordered two boxes of oat milk last time.",
        "Prefers weekday morning deliveries.",
    ]
    request = urllib.request.Request(
        f"{mem0_url}/v3/memories/add/",
        data=json.dumps(
            {
                "messages": [{"role": "user", "content": f} for f in facts],
                "user_id": caller,
                "infer": False,
                "metadata": {"kind": "fact", "caller_name": "Maria Lopez"},
            }
        ).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {MEM0_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10):  # nosec B310
        pass


def worker(args: argparse.Namespace, env: dict[str, str], admin: Mem0Admin, stub_url: str, handler: Callable) -> dict:
    """c. Two long calls, each acknowledged, its job fetched from the stub and run by the worker. The first
    runs in a fresh container (it builds the worker's Mem0 client, whose constructor pings); the second is
    the steady state that the request budget is about."""
    from tests.support import LambdaContext, http_event, signed_headers

    admin.delay(args.delay)
    runs = []
    for n in range(2):
        body = long_call_body(args.turns, conversation_id=f"conv_bench_{n}_{time.time_ns()}")
        ack = handler(
            http_event("/post-call", body, signed_headers(body, key=env["ELEVENLABS_HMAC_KEY"])), LambdaContext()
        )
        job = http_json("GET", f"{stub_url}/_last")
        before = admin.counts()
        begun = time.perf_counter()
        outcome = handler(job, LambdaContext())
        elapsed = time.perf_counter() - begun
        made = count_diff(before, admin.counts())
        runs.append(
            {
                "ack_status": ack["statusCode"],
                "job_turns": len(job["turns"]),
                "outcome": outcome,
                "mem0_requests": sum(made.values()),
                "by_path": made,
                "wall_ms": round(elapsed * 1000, 1),
            }
        )
    admin.delay(0.0)
    return {"turns": args.turns, "delay_ms": round(args.delay * 1000), "first": runs[0], "warm": runs[1]}


def warm_run(
    handlers: dict[str, Callable],
    make: dict[str, Callable],
    direct: dict[str, Callable[[], Any]],
    concurrency: int,
    calls: int,
    context: Callable,
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {name: [] for name in handlers}
    reference: dict[str, list[float]] = {name: [] for name in handlers}
    problems: dict[str, int] = dict.fromkeys(handlers, 0)
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency)

    def one_caller(index: int) -> None:
        # Unmeasured calls first: each modelled container is warm and holds its open connection, as a warm
        # Lambda container does. Dozens of connections opened at once overflow the local Mem0 server's
        # listen backlog (5), and a dropped SYN costs a 1 s retransmit: so one staggered call, then one
        # all together, which opens the rest of the connections the measured calls will need.
        time.sleep(index * 0.02)
        for name in ("client_data", "retrieve", "post_call"):
            handlers[name](make[name](), context())
            direct[name]()
        barrier.wait()
        for name in ("client_data", "retrieve", "post_call"):
            handlers[name](make[name](), context())
            direct[name]()
        barrier.wait()
        for n in range(calls):
            for name in ("client_data", "retrieve", "post_call"):
                # The endpoint and its reference call, one after the other in alternating order, so both see
                # the same moment's load.
                event = make[name]()
                order = ("handler", "direct") if n % 2 == 0 else ("direct", "handler")
                for which in order:
                    begun = time.perf_counter()
                    if which == "direct":
                        direct[name]()
                        with lock:
                            reference[name].append((time.perf_counter() - begun) * 1000)
                        continue
                    response = handlers[name](event, context())
                    elapsed = time.perf_counter() - begun
                    body = json.loads(response["body"])
                    degraded = response["statusCode"] != 200 or (
                        name == "client_data" and body["dynamic_variables"]["returning_caller"] != "yes"
                    )
                    degraded = degraded or (name == "retrieve" and not body.get("memories"))
                    with lock:
                        latencies[name].append(elapsed * 1000)
                        problems[name] += degraded

    threads = [threading.Thread(target=one_caller, args=(i,)) for i in range(concurrency)]
    begun = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begun
    figures: dict[str, Any] = {}
    for name, values in latencies.items():
        ref_p95 = percentile(reference[name], 95)
        figures[name] = {
            "requests": len(values),
            "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(max(values), 1),
            "degraded": problems[name],
            "reference": REFERENCES[name],
            "reference_p50_ms": round(percentile(reference[name], 50), 1),
            "reference_p95_ms": round(ref_p95, 1),
            "ratio_p95": round(percentile(values, 95) / ref_p95, 3),
        }
    return figures | {"calls": concurrency * calls, "seconds": round(elapsed, 2)}


# --------------------------------------------------------------------------- d. the caller profile (issue 11)
#
# client_data answers a caller who has a profile from one DynamoDB GetItem, without Mem0. Measured against
# moto's DynamoDB server (its own process, like the Mem0 server): cold start + first request with each way
# of reading DynamoDB, and warm p95 with Mem0 slow (800 ms) and hanging, each set against the DynamoDB
# round trip measured in the same run (on AWS the round trip is DynamoDB's; here moto's).

PROFILE_TABLE_NAME = "bench-profiles"
PROFILE_CALLER = "+16129782029"
PROFILE_MEM0_SLOW = 0.8  # seconds: Mem0 answering slowly (its own p50 is about a second: issue 11)
PROFILE_MEM0_HANGING = 30.0  # seconds: longer than any budget, so Mem0 "hangs"
PROFILE_OVER_DYNAMODB_MS = 30.0  # warm target: client_data p95 at most this much above the GetItem p95
PROFILE_COLD_TARGET = 0.3  # cold target: client_data + profile wall time <= this x naive
PROFILE_CONCURRENCY = 10
PROFILE_ARMS = (
    "naive",
    "client_data, Mem0 read",
    "client_data, profile via SigV4 httpx",
    "client_data, profile via boto3",
)
PROFILE_CHOSEN = "client_data, profile via SigV4 httpx"


def serve_dynamodb() -> int:
    """moto's DynamoDB server on a free port; prints its URL first (``started`` reads it)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


def seed_profile(dynamodb_url: str) -> None:
    """The profile table as the template defines it, holding a returning caller's profile as the worker
    writes it (profile.update, after one call with a name, a summary and a collected field)."""
    import boto3

    from agentic_memory import aws, profile
    from agentic_memory.config import get_settings
    from agentic_memory.ingest import Job
    from standins.sam_template import Template

    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_AWS,
        aws_secret_access_key=FAKE_AWS,
    )
    Template.read().tables()["PROFILE_TABLE"].create(client, PROFILE_TABLE_NAME)
    job = Job(
        conversation_id="conv_bench_profile",
        caller_id=PROFILE_CALLER,
        start_time_unix_secs=int(time.time()) - 86400,
        summary="Maria Lopez asked to move her oat milk delivery to weekday mornings.",
        title="Delivery change",
        call_successful="success",
        caller_name="Maria Lopez",
        data_collection={"delivery_preference": "weekday mornings"},
    )
    overlay = {
        "PROFILE_TABLE": PROFILE_TABLE_NAME,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ACCESS_KEY_ID": FAKE_AWS,
        "AWS_SECRET_ACCESS_KEY": FAKE_AWS,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in overlay}
    os.environ.update(overlay)
    get_settings.cache_clear()
    aws.reset_clients()
    try:
        if profile.update(job) != "written":
            raise RuntimeError("the bench's caller profile was not written")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        aws.reset_clients()


def compared(ours: list[dict[str, Any]], other: list[dict[str, Any]], label: str) -> dict[str, float]:
    """Two arms' samples of the same run compared by median wall time: ``ratio_<label>`` (ours over
    the other's) and ``over_<label>_ms`` (ours minus the other's, in ms)."""
    mine = statistics.median(sample["wall"] for sample in ours)
    theirs = statistics.median(sample["wall"] for sample in other)
    return {f"ratio_{label}": round(mine / theirs, 3), f"over_{label}_ms": round((mine - theirs) * 1000, 1)}


def _cold_sample(
    module: str | None,
    arm_env: dict[str, str],
    flags: list[str],
    event: Any,
    admin: Mem0Admin,
    *,
    label: str = "",
    libraries: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One fresh process (CHILD): import ``module`` and serve one request (``event()``), or with ``libraries``
    do that request's outside work with the libraries alone; neither: the naive arm. Wall and in-process
    seconds, the modules loaded, and the Mem0 requests it made (path -> count)."""
    label = label or str(module or "naive")
    served = module is not None or libraries is not None
    job = {
        "module": module,
        "libraries": libraries,
        "function": FUNCTION,
        "event": event() if served else None,
        "watch": WATCHED,
    }
    before = admin.counts()
    begun = time.perf_counter()
    done = subprocess.run(  # nosec B603
        [sys.executable, *flags, "-c", CHILD],
        input=json.dumps(job).encode(),
        capture_output=True,
        env=arm_env,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - begun
    marker = [line for line in done.stdout.decode(errors="replace").splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not marker:
        raise RuntimeError(f"{label} sample failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    result = json.loads(marker[-1].removeprefix("BENCH-RESULT "))
    if served and result["status"] != 200:
        raise RuntimeError(f"{label} answered {result['status']}")
    return {
        "wall": wall,
        "in_process": result["seconds"],
        "loaded": result["loaded"],
        "mem0": count_diff(before, admin.counts()),
    }


def _memory_requests(sample: dict[str, Any]) -> int:
    return sum(n for path, n in sample["mem0"].items() if "/memories" in path)


def profile_cold(
    args: argparse.Namespace,
    child_env: dict[str, str],
    naive_env: dict[str, str],
    admin: Mem0Admin,
    flags: list[str],
    tmp: Path,
    dynamodb_url: str,
) -> dict[str, Any]:
    """Cold start + first request of client_data for a returning caller: without the profile (Mem0 read, as
    before issue 11), with the profile read through httpx signed by httpx-auth's AWS4Auth (credentials from
    the environment, as Lambda sets them), and with it read through a boto3 client built at init (no
    credentials in the environment: the boto3 reader, as under SnapStart; boto3 finds them in a file)."""
    event = events(child_env["ELEVENLABS_WORKSPACE_KEY"], child_env["ELEVENLABS_HMAC_KEY"], PROFILE_CALLER)
    with_table = {**child_env, "PROFILE_TABLE": PROFILE_TABLE_NAME, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url}
    credentials = tmp / "aws-credentials"
    credentials.write_text(f"[default]\naws_access_key_id = {FAKE_AWS}\naws_secret_access_key = {FAKE_AWS}\n")
    via_boto3 = {name: value for name, value in with_table.items() if not name.startswith("AWS_ACCESS_KEY_ID")}
    via_boto3.pop("AWS_SECRET_ACCESS_KEY", None)
    via_boto3["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
    arms = {
        "naive": (None, naive_env),
        "client_data, Mem0 read": (HANDLERS["client_data"], child_env),
        "client_data, profile via SigV4 httpx": (HANDLERS["client_data"], with_table),
        "client_data, profile via boto3": (HANDLERS["client_data"], via_boto3),
    }
    admin.delay(0.0)
    names = list(arms)
    for name in names:  # warm-up: fills the bytecode cache, discarded
        _cold_sample(*arms[name], flags, event["client_data"], admin)
    samples: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(args.rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_cold_sample(*arms[name], flags, event["client_data"], admin))
    naive_wall = statistics.median(s["wall"] for s in samples["naive"])
    result = {}
    for name, runs in samples.items():
        walls = [s["wall"] for s in runs]
        wall = statistics.median(walls)
        result[name] = {
            "wall_ms": round(wall * 1000, 1),
            "wall_iqr_ms": round((percentile(walls, 75) - percentile(walls, 25)) * 1000, 1),
            "in_process_ms": round(statistics.median(s["in_process"] for s in runs) * 1000, 1),
            "ratio_wall": round(wall / naive_wall, 3),
            "loaded": sorted({m for s in runs for m in s["loaded"]}),
            "mem0_memory_requests": max(_memory_requests(s) for s in runs),
            "samples": len(runs),
        }
    return result


def profile_warm(args: argparse.Namespace, env: dict[str, str], admin: Mem0Admin, dynamodb_url: str) -> dict[str, Any]:
    """Warm client_data (handlers imported once in this process, as in part b) for a returning caller with a
    profile, ``PROFILE_CONCURRENCY`` callers at once. Each call is paired with one bare GetItem through the
    same reader, in the same thread, so both see the same load: the difference of their p95s is what
    client_data adds to the DynamoDB round trip. Conditions: Mem0 answering in 800 ms, and hanging."""
    os.environ.update(env)
    os.environ.update(PROFILE_TABLE=PROFILE_TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB=dynamodb_url)
    for name in ("MEM0_ORG_ID", "MEM0_PROJECT_ID", "IDEMPOTENCY_TABLE"):
        os.environ.pop(name, None)
    from agentic_memory import memory, profile
    from agentic_memory.config import get_settings

    get_settings.cache_clear()
    memory.reset_clients()
    profile.reset()
    handler = __import__(HANDLERS["client_data"], fromlist=["lambda_handler"]).lambda_handler
    make = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], PROFILE_CALLER)["client_data"]
    results: dict[str, Any] = {"concurrency": PROFILE_CONCURRENCY, "calls_per_caller": args.calls}
    try:
        for label, delay in (("mem0_800ms", PROFILE_MEM0_SLOW), ("mem0_hanging", PROFILE_MEM0_HANGING)):
            results[label] = _profile_condition(handler, make, admin, delay, args.calls)
    finally:
        admin.delay(0.0)
        for name in ("PROFILE_TABLE", "AWS_ENDPOINT_URL_DYNAMODB"):
            os.environ.pop(name, None)
        get_settings.cache_clear()
        profile.reset()
    return results


def _profile_condition(handler: Callable, make: Callable, admin: Mem0Admin, delay: float, calls: int) -> dict:
    """One condition of ``profile_warm``: Mem0 delayed by ``delay`` seconds, ``calls`` calls per caller."""
    from agentic_memory import profile
    from tests.support import LambdaContext

    admin.delay(0.0)
    handler(make(), LambdaContext())  # the container is warm once it has served one
    admin.delay(delay)
    reads: list[float] = []
    answers: list[float] = []
    problems = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(PROFILE_CONCURRENCY)

    def one_caller(index: int) -> None:
        time.sleep(index * 0.02)
        profile.read(PROFILE_CALLER, None)
        handler(make(), LambdaContext())  # unmeasured: this modelled container's connections are open
        barrier.wait()
        for _ in range(calls):
            begun = time.perf_counter()
            profile.read(PROFILE_CALLER, None)
            read_ms = (time.perf_counter() - begun) * 1000
            event = make()
            begun = time.perf_counter()
            response = handler(event, LambdaContext())
            answer_ms = (time.perf_counter() - begun) * 1000
            dynamic = json.loads(response["body"])["dynamic_variables"]
            greeted = (
                response["headers"].get("x-memory-source") == "profile" and dynamic["caller_name"] == "Maria Lopez"
            )
            with lock:
                reads.append(read_ms)
                answers.append(answer_ms)
                problems[0] += not greeted

    before = admin.counts()
    threads = [threading.Thread(target=one_caller, args=(i,)) for i in range(PROFILE_CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = count_diff(before, admin.counts())
    return {
        "delay_ms": round(delay * 1000),
        "requests": len(answers),
        "dynamodb_p50_ms": round(percentile(reads, 50), 1),
        "dynamodb_p95_ms": round(percentile(reads, 95), 1),
        "client_data_p50_ms": round(percentile(answers, 50), 1),
        "client_data_p95_ms": round(percentile(answers, 95), 1),
        "client_data_max_ms": round(max(answers), 1),
        "p95_over_dynamodb_ms": round(percentile(answers, 95) - percentile(reads, 95), 1),
        "p95_ratio": round(percentile(answers, 95) / percentile(reads, 95), 2),
        "mem0_memory_requests": sum(n for path, n in made.items() if "/memories" in path),
        "not_from_profile": problems[0],
    }


def profile_part(
    args: argparse.Namespace,
    env: dict[str, str],
    child_env: dict[str, str],
    naive_env: dict[str, str],
    admin: Mem0Admin,
    flags: list[str],
    tmp: Path,
) -> dict[str, Any]:
    server_env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
    with started([sys.executable, str(Path(__file__).resolve()), "--serve-dynamodb"], server_env) as dynamodb_url:
        seed_profile(dynamodb_url)
        result: dict[str, Any] = {"cold": profile_cold(args, child_env, naive_env, admin, flags, tmp, dynamodb_url)}
        with quiet_stdout():
            result["warm"] = profile_warm(args, env, admin, dynamodb_url)
    return result


def profile_verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    part = report.get("profile")
    if not part:
        return checks
    if "cold" in part:
        arm = part["cold"][PROFILE_CHOSEN]
        checks.append(
            {
                "target": f"cold {PROFILE_CHOSEN}: wall time <= {PROFILE_COLD_TARGET} x naive",
                "value": arm["ratio_wall"],
                "ok": arm["ratio_wall"] <= PROFILE_COLD_TARGET,
            }
        )
        sdk = [m for m in arm["loaded"] if m in ("boto3", "botocore.*")]
        checks.append({"target": f"cold {PROFILE_CHOSEN}: boto3 not loaded", "value": sdk, "ok": not sdk})
    for label, title in (("mem0_800ms", "Mem0 answering in 800 ms"), ("mem0_hanging", "Mem0 hanging")):
        figures = part["warm"][label]
        over = figures["p95_over_dynamodb_ms"]
        checks.append(
            {
                "target": f"warm x{part['warm']['concurrency']}, {title}: client_data p95 <= DynamoDB GetItem p95"
                f" + {PROFILE_OVER_DYNAMODB_MS:g} ms, every caller greeted from the profile",
                "value": f"{over:+} ms, {figures['not_from_profile']} not from the profile",
                "ok": over <= PROFILE_OVER_DYNAMODB_MS and figures["not_from_profile"] == 0,
            }
        )
    return checks


def profile_lines(report: dict[str, Any]) -> list[str]:
    part = report.get("profile")
    if not part:
        return []
    lines = []
    if "cold" in part:
        cold = part["cold"]
        rounds = cold["naive"]["samples"]
        lines.append(f"Caller profile: cold start + first request, returning caller ({rounds} rounds, medians)")
        lines.append(f"  {'arm':<40}{'wall ms':>8}{'IQR':>6}{'x naive':>9}  boto3  Mem0 reads")
        for name in PROFILE_ARMS:
            arm = cold[name]
            boto3 = "yes" if "boto3" in arm["loaded"] else "no"
            lines.append(
                f"  {name:<40}{arm['wall_ms']:>8.0f}{arm['wall_iqr_ms']:>6.0f}{arm['ratio_wall']:>9.2f}"
                f"  {boto3:<5}  {arm['mem0_memory_requests']}"
            )
        lines.append("")
    warm = part["warm"]
    lines.append(
        f"Caller profile: warm client_data, {warm['concurrency']} callers x {warm['calls_per_caller']} calls;"
        " ms; each call paired with a bare GetItem"
    )
    lines.append(f"  {'Mem0':<14}{'GetItem p50':>12}{'p95':>7}{'client_data p50':>17}{'p95':>7}{'over':>7}  Mem0 reads")
    for label in ("mem0_800ms", "mem0_hanging"):
        f = warm[label]
        lines.append(
            f"  {label.removeprefix('mem0_'):<14}{f['dynamodb_p50_ms']:>12.1f}{f['dynamodb_p95_ms']:>7.1f}"
            f"{f['client_data_p50_ms']:>17.1f}{f['client_data_p95_ms']:>7.1f}{f['p95_over_dynamodb_ms']:>7.1f}"
            f"  {f['mem0_memory_requests']}"
        )
    lines.append("")
    return lines


# --------------------------------------------------------------------------- report


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []

    def check(target: str, value: Any, ok: bool | None) -> None:
        # ok None: a figure reported against a target that is not judged (the reason is in the target's text)
        checks.append({"target": target, "value": value, "ok": ok})

    if "cold" in report:
        for name, limit in TARGETS.items():
            arm = report["cold"][name]
            target = f"cold {name}: wall time <= {limit} x naive"
            if name in LIBRARY_WORK:
                # The project's first target (issue 14), 0.2 x, is about what the libraries alone take in the same
                # run (docs/performance.md, "The floor"), so no change to our code can meet it reliably: reported
                # next to that floor, not judged.
                floor = report["cold"][f"{LIBRARIES}{name}"]["ratio_wall"]
                check(f"{target} (first target, not judged: the libraries alone take {floor})", arm["ratio_wall"], None)
                check(
                    f"cold {name}: wall time <= {OVER_LIBRARIES} x the libraries alone",
                    arm["ratio_libraries"],
                    arm["ratio_libraries"] <= OVER_LIBRARIES,
                )
            else:
                check(target, arm["ratio_wall"], arm["ratio_wall"] <= limit)
            check(f"cold {name}: no {'/'.join(HEAVY)} loaded", arm["heavy_loaded"], not arm["heavy_loaded"])
        for name in ("client_data", "retrieve"):
            # Powertools imports the bare botocore package (its user-agent hook, <1 ms); the SDK must stay out.
            aws = [m for m in report["cold"][name]["loaded"] if m in ("boto3", "botocore.*")]
            check(f"cold {name}: boto3 and botocore's SDK modules not loaded", aws, not aws)
    level = report.get("warm", {}).get("10")
    if level is not None:
        for name, limit in WARM_RATIO.items():
            figures = level[name]
            label = "post_call ack" if name == "post_call" else name
            delay = report["config"]["delay_ms"]
            check(
                f"warm x10, {delay} ms Mem0: {label} p95 <= {limit:g} x {figures['reference']} p95 (and none degraded)",
                figures["ratio_p95"],
                figures["ratio_p95"] <= limit and figures["degraded"] == 0,
            )
    if "worker" in report:
        run = report["worker"]["warm"]
        writes = sum(n for path, n in run["by_path"].items() if path.endswith("/memories/add/"))
        reads = run["mem0_requests"] - writes
        check(
            f"worker, {report['worker']['turns']}-turn call: Mem0 writes <= {WORKER_MAX_WRITES}, other requests"
            f" <= {WORKER_MAX_READS}",
            {"writes": writes, "other": reads},
            writes <= WORKER_MAX_WRITES and reads <= WORKER_MAX_READS and run["outcome"].get("status") == "written",
        )
    return checks


def passed(checks: list[dict[str, Any]]) -> bool:
    """The run's exit status: no judged check failed (a check with ``ok`` None is reported, not judged)."""
    return all(check["ok"] is not False for check in checks)


def table(report: dict[str, Any]) -> str:
    lines = []
    if "cold" in report:
        cold = report["cold"]
        lines.append(
            f"Cold start + first request, fresh process each ({cold['naive']['samples']} interleaved rounds, medians)"
        )
        names = (
            "naive",
            *HANDLERS,
            *(n for n in cold if "@" in n),
            *(n for n in cold if n.startswith(LIBRARIES)),
        )
        width = max(map(len, names)) + 2
        lines.append(
            f"  {'arm':<{width}}{'wall ms':>8}{'IQR':>6}{'wall/naive':>11}{'in-proc ms':>12}{'in-proc/naive':>14}"
            f"{'wall/libraries':>15}  Mem0 requests"
        )
        for name in names:
            arm = cold[name]
            made = ", ".join(f"{k} x{v}" for k, v in arm["mem0_requests"].items()) or "-"
            over = f"{arm['ratio_libraries']:.3f}" if "ratio_libraries" in arm else "-"
            lines.append(
                f"  {name:<{width}}{arm['wall_ms']:>8.0f}{arm['wall_iqr_ms']:>6.0f}{arm['ratio_wall']:>11.3f}"
                f"{arm['in_process_ms']:>12.0f}{arm['ratio_in_process']:>14.3f}{over:>15}  {made}"
            )
        against = [(n, cold[n]) for n in HANDLERS if "ratio_baseline" in cold[n]]
        if against:
            rev = report["config"]["baseline"]
            lines.append(
                f"  against {rev}: "
                + "; ".join(f"{n} {a['over_baseline_ms']:+.1f} ms ({a['ratio_baseline']:.3f} x)" for n, a in against)
            )
        ping = cold["ping"]
        lines.append(
            f"  client_data with Mem0 answering in {ping['delay_ms']} ms: {ping['client_data']['wall_ms']:.0f} ms;"
            f" with MEM0_ORG_ID + MEM0_PROJECT_ID set (no ping): {ping['client_data+ids']['wall_ms']:.0f} ms"
        )
        lines.append("")
    if "warm" in report:
        lines.append(f"Warm, Mem0 answering in {report['config']['delay_ms']} ms; ms per request")
        lines.append(
            f"  {'callers':<9}{'endpoint':<15}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'degraded':>10}"
            f"  {'reference (same threads)':<25}{'p50':>7}{'p95':>7}{'p95 ratio':>10}"
        )
        for level, figures in report["warm"].items():
            for name in ("client_data", "retrieve", "post_call"):
                f = figures[name]
                label = "post_call ack" if name == "post_call" else name
                lines.append(
                    f"  {level:<9}{label:<15}{f['requests']:>6}{f['p50_ms']:>8.1f}{f['p95_ms']:>8.1f}"
                    f"{f['p99_ms']:>8.1f}{f['max_ms']:>8.1f}{f['degraded']:>10}"
                    f"  {f['reference']:<25}{f['reference_p50_ms']:>7.1f}{f['reference_p95_ms']:>7.1f}"
                    f"{f['ratio_p95']:>10.2f}"
                )
        lines.append("")
    if "worker" in report:
        w = report["worker"]
        lines.append(f"Worker, {w['turns']}-turn call, Mem0 answering in {w['delay_ms']} ms")
        for label, run in (("first job in a container", w["first"]), ("next job", w["warm"])):
            made = ", ".join(f"{k} x{v}" for k, v in run["by_path"].items())
            lines.append(f"  {label:<25}{run['mem0_requests']} Mem0 requests ({made}), {run['wall_ms']:.0f} ms")
        lines.append("")
    lines += profile_lines(report)
    for check in report["targets"]:
        status = {True: "PASS", False: "FAIL", None: "info"}[check["ok"]]
        lines.append(f"  {status:<4}  {check['target']}  ({check['value']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit status 1 when a judged check FAILs; lines marked info are reported, never judged. Cold"
        " arms: naive (mem0ai as pip installs it), the three handlers, and libraries:<endpoint>, the same"
        " request's outside work done by Powertools, libphonenumber and mem0ai's MemoryClient alone, which"
        " client_data and retrieve are judged against. Figures and method: docs/performance.md.",
    )
    parser.add_argument("--rounds", type=int, default=15, help="cold-start samples per arm (interleaved)")
    parser.add_argument("--concurrency", default="10,50", help="comma-separated concurrent calls for the warm run")
    parser.add_argument("--calls", type=int, default=20, help="calls per concurrent caller in the warm run")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the Mem0 server adds to each request")
    parser.add_argument("--turns", type=int, default=200, help="turns in the worker's transcript")
    parser.add_argument("--output", default="bench-results/bench.json", help="where to write the JSON figures")
    parser.add_argument(
        "--docs", action="store_true", help="also write the figures to docs/performance.json (the committed copy)"
    )
    parser.add_argument("--site", choices=("layer", "venv"), default="layer", help="packages the cold children see")
    parser.add_argument(
        "--only", default="cold,worker,warm,profile", help="comma-separated parts: cold, worker, warm, profile"
    )
    parser.add_argument("--quick", action="store_true", help="a short run: 5 rounds, 5 calls per caller")
    parser.add_argument(
        "--floor-parts",
        action="store_true",
        help="cold start: also client_data's libraries arm without Powertools, without libphonenumber, and with"
        " mem0ai's client alone",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="cold start: also each handler with src/ as git revision REV has it (e.g. main), interleaved; the"
        " layer's packages stay the current ones",
    )
    parser.add_argument("--serve-lambda-stub", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-dynamodb", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", "No application metrics to publish")  # an ack emits none; expected
    if args.serve_lambda_stub:
        return serve_lambda_stub()
    if args.serve_dynamodb:
        return serve_dynamodb()
    if args.quick:
        args.rounds, args.calls = min(args.rounds, 5), min(args.calls, 5)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    if args.baseline and "cold" not in args.only:
        args.baseline = None  # only the cold start compares revisions
    args.concurrency = [int(part) for part in str(args.concurrency).split(",") if part.strip()]
    sys.path[:0] = [str(ROOT), str(SRC), str(SCRIPTS)]

    report: dict[str, Any] = {"machine": machine()}
    report["config"] = {
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "calls_per_caller": args.calls,
        "delay_ms": round(args.delay * 1000),
        "site": args.site,
        "baseline": args.baseline,
    }
    with tempfile.TemporaryDirectory(prefix="agentic-bench-") as scratch:
        tmp = Path(scratch)
        server_env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
        mem0_cmd = [
            sys.executable,
            "-m",
            "standins.mem0",
            "--port",
            "0",
            "--db",
            ":memory:",
            "--api-key",
            MEM0_KEY,
        ]
        stub_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-lambda-stub"]
        with started(mem0_cmd, server_env) as mem0_url, started(stub_cmd, server_env) as stub_url:
            admin = Mem0Admin(mem0_url)
            env = base_env(tmp, mem0_url)
            # Bytecode is cached (in a scratch tree) for every arm, as pip leaves it in a layer.
            child_env = {**env, "AWS_ENDPOINT_URL_LAMBDA": stub_url, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
            if args.site == "layer":
                site, naive = lambda_like_site(tmp / "site"), naive_site(tmp / "naive")
                for folder in (site, naive):
                    compileall.compile_dir(str(folder), maxlevels=0, quiet=1)
                # Lambda's order: the function's code (/var/task), the layer (/opt/python), the runtime.
                child_env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(site)])
                naive_env = {**child_env, "PYTHONPATH": str(naive)}
                flags = ["-S"]
            else:
                child_env["PYTHONPATH"] = str(SRC)
                naive_env = child_env
                flags = []
            if args.baseline:
                try:
                    args.baseline_src = checkout_src(args.baseline, tmp / "baseline")
                except RuntimeError as exc:
                    print(f"bench: --baseline: {exc}", file=sys.stderr)
                    return 2
            if "cold" in args.only:
                arms = 4 + len(LIBRARY_WORK) + (len(FLOOR_PARTS) if args.floor_parts else 0)
                arms += len(HANDLERS) if args.baseline else 0
                print(f"cold start: {args.rounds} rounds x {arms} arms, interleaved ...", file=sys.stderr, flush=True)
                report["cold"] = cold(args, child_env, naive_env, admin, flags)
            if args.only & {"worker", "warm"}:
                print("worker and warm latency ...", file=sys.stderr, flush=True)
                report |= warm_and_worker(args, env, admin, stub_url)
            if "profile" in args.only:
                print("caller profile: cold start and warm latency ...", file=sys.stderr, flush=True)
                report["profile"] = profile_part(args, env, child_env, naive_env, admin, flags, tmp)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = verdicts(report) + profile_verdicts(report)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    if args.docs:
        (ROOT / "docs" / "performance.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    load = f"load average {m['load_average_before'][0]} -> {m['load_average_after'][0]}"
    print(f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {load}")
    print(table(report))
    print(f"\nfigures written to {output}")
    return 0 if passed(report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
