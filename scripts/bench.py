"""Cold-start, warm-latency and worker benchmarks for the three functions, against the local Mem0 server.

Why this shape: the performance targets (docs/performance.md) are ratios and percentiles, and this
machine is shared (2 cores, other test runs), so single timings mean little. Cold starts therefore run
the arms interleaved, round by round in a rotating order, and compare medians; warm figures are
percentiles over hundreds of requests. Load averages before and after are recorded as a noise hint.

  a. cold: a fresh interpreter per sample that imports a handler and serves one request, versus one
     doing the naive ``from mem0 import MemoryClient`` plus ``MemoryClient(api_key, host=...)``.
     By default the children see only the layer's packages plus the boto3 set the Lambda runtime
     ships (a symlink farm, ``python -S``), not this virtualenv's development tools.
  b. warm: the handlers imported once in this process (a warm container), called from threads.
  c. worker: a 200-turn call through the post-call acknowledgement, its queued job, then the worker.

The Mem0 server and a Lambda Invoke stub run as their own processes, so they do not compete with the
measured code for this interpreter's GIL. Run: ``make bench`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import socket
import statistics
import subprocess  # nosec B404
import sys
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
TARGETS = {"client_data": 0.3, "retrieve": 0.3, "post_call": 0.5}
WARM_P95_MS = {"client_data": 130.0, "retrieve": 130.0, "post_call": 25.0}
WORKER_MAX_REQUESTS = 3

# One cold sample: read the job, then time from the first import to the answer. The process ends with
# os._exit, skipping interpreter teardown: Lambda freezes a container after a request, it never pays it.
CHILD = r"""
import json, os, sys, time
job = json.loads(sys.stdin.buffer.read())
started = time.perf_counter()
if job["module"] is None:
    from mem0 import MemoryClient
    MemoryClient(api_key=os.environ["MEM0_API_KEY"], host=os.environ["MEM0_HOST"])
    status = None
else:
    import importlib
    handler = importlib.import_module(job["module"]).lambda_handler
    class Context:
        function_name = job["function"]
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + job["function"]
        aws_request_id = "bench"
        def get_remaining_time_in_millis(self):
            return 30000
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


def lambda_like_site(target: Path) -> Path:
    """A directory holding only what a deployed function can import: the layer's pinned packages and
    the runtime's boto3 set, as symlinks into this virtualenv. Development tools (click, rich, pytest...)
    are left out, since some packages import them when present (httpx loads its CLI's)."""
    names = list(RUNTIME_PACKAGES)
    for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[=<>~!\[; ]", line, maxsplit=1)[0])
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is not installed: run `make setup`, or pass --site venv") from None
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            source, link = Path(str(dist.locate_file(top))), target / top
            if source.exists() and not link.exists():
                link.symlink_to(source)
    return target


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
        "ELEVENLABS_HMAC_KEY": "bench-hmac-key",
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


def cold(args: argparse.Namespace, env: dict[str, str], admin: Mem0Admin, python_flags: list[str]) -> dict[str, Any]:
    event = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], "+16129782029")
    known_ids = {**env, "MEM0_ORG_ID": "local-org", "MEM0_PROJECT_ID": "local-project"}
    arms: dict[str, tuple[str | None, dict[str, str]]] = {
        "naive": (None, env),
        "client_data": (HANDLERS["client_data"], env),
        "retrieve": (HANDLERS["retrieve"], env),
        "post_call": (HANDLERS["post_call"], env),
    }

    def sample(name: str, module: str | None, arm_env: dict[str, str]) -> dict[str, Any]:
        endpoint = name.removesuffix("+ids")
        job = {
            "module": module,
            "function": FUNCTION,
            "event": event[endpoint]() if module else None,
            "watch": WATCHED,
        }
        before = admin.counts()
        begun = time.perf_counter()
        done = subprocess.run(  # nosec B603
            [sys.executable, *python_flags, "-c", CHILD],
            input=json.dumps(job).encode(),
            capture_output=True,
            env=arm_env,
            timeout=120,
            check=False,
        )
        wall = time.perf_counter() - begun
        marker = [
            line for line in done.stdout.decode(errors="replace").splitlines() if line.startswith("BENCH-RESULT ")
        ]
        if done.returncode != 0 or not marker:
            raise RuntimeError(f"{name} sample failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
        result = json.loads(marker[-1].removeprefix("BENCH-RESULT "))
        if module and result["status"] != 200:
            raise RuntimeError(f"{name} answered {result['status']}")
        return {
            "wall": wall,
            "in_process": result["seconds"],
            "loaded": result["loaded"],
            "mem0": count_diff(before, admin.counts()),
        }

    def interleave(selected: dict[str, tuple[str | None, dict[str, str]]], rounds: int) -> dict[str, list[dict]]:
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

    # The constructor's ping, skipped when MEM0_ORG_ID and MEM0_PROJECT_ID are set: visible once Mem0
    # takes time to answer, so this pair runs with the configured delay.
    admin.delay(args.delay)
    ping = interleave(
        {"client_data": (HANDLERS["client_data"], env), "client_data+ids": (HANDLERS["client_data"], known_ids)},
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
            admin.delay(args.delay)
            results["warm"] = {
                str(level): warm_run(handlers, make, level, args.calls, LambdaContext) for level in args.concurrency
            }
    admin.delay(0.0)
    return results


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
    handlers: dict[str, Callable], make: dict[str, Callable], concurrency: int, calls: int, context: Callable
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {name: [] for name in handlers}
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
        barrier.wait()
        for name in ("client_data", "retrieve", "post_call"):
            handlers[name](make[name](), context())
        barrier.wait()
        for _ in range(calls):
            for name in ("client_data", "retrieve", "post_call"):
                event = make[name]()
                begun = time.perf_counter()
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
    return {
        name: {
            "requests": len(values),
            "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(max(values), 1),
            "degraded": problems[name],
        }
        for name, values in latencies.items()
    } | {"calls": concurrency * calls, "seconds": round(elapsed, 2)}


# --------------------------------------------------------------------------- report


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []

    def check(target: str, value: Any, ok: bool) -> None:
        checks.append({"target": target, "value": value, "ok": ok})

    if "cold" in report:
        for name, limit in TARGETS.items():
            arm = report["cold"][name]
            check(f"cold {name}: wall time <= {limit} x naive", arm["ratio_wall"], arm["ratio_wall"] <= limit)
            check(f"cold {name}: no {'/'.join(HEAVY)} loaded", arm["heavy_loaded"], not arm["heavy_loaded"])
        for name in ("client_data", "retrieve"):
            # Powertools imports the bare botocore package (its user-agent hook, <1 ms); the SDK must stay out.
            aws = [m for m in report["cold"][name]["loaded"] if m in ("boto3", "botocore.*")]
            check(f"cold {name}: boto3 and botocore's SDK modules not loaded", aws, not aws)
    level = report.get("warm", {}).get("10")
    if level is not None:
        for name, limit in WARM_P95_MS.items():
            value = level[name]["p95_ms"]
            label = "post_call ack" if name == "post_call" else name
            check(
                f"warm x10, {report['config']['delay_ms']} ms Mem0: {label} p95 <= {limit:g} ms", value, value <= limit
            )
    if "worker" in report:
        run = report["worker"]["warm"]
        check(
            f"worker, {report['worker']['turns']}-turn call: Mem0 requests <= {WORKER_MAX_REQUESTS}",
            run["mem0_requests"],
            run["mem0_requests"] <= WORKER_MAX_REQUESTS and run["outcome"].get("status") == "written",
        )
    return checks


def table(report: dict[str, Any]) -> str:
    lines = []
    if "cold" in report:
        cold = report["cold"]
        lines.append(
            f"Cold start + first request, fresh process each ({cold['naive']['samples']} interleaved rounds, medians)"
        )
        lines.append(
            f"  {'arm':<13}{'wall ms':>8}{'IQR':>6}{'x naive':>9}{'in-proc ms':>12}{'x naive':>9}  Mem0 requests"
        )
        for name in ("naive", "client_data", "retrieve", "post_call"):
            arm = cold[name]
            made = ", ".join(f"{k} x{v}" for k, v in arm["mem0_requests"].items()) or "-"
            lines.append(
                f"  {name:<13}{arm['wall_ms']:>8.0f}{arm['wall_iqr_ms']:>6.0f}{arm['ratio_wall']:>9.2f}"
                f"{arm['in_process_ms']:>12.0f}{arm['ratio_in_process']:>9.2f}  {made}"
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
        )
        for level, figures in report["warm"].items():
            for name in ("client_data", "retrieve", "post_call"):
                f = figures[name]
                label = "post_call ack" if name == "post_call" else name
                lines.append(
                    f"  {level:<9}{label:<15}{f['requests']:>6}{f['p50_ms']:>8.1f}{f['p95_ms']:>8.1f}"
                    f"{f['p99_ms']:>8.1f}{f['max_ms']:>8.1f}{f['degraded']:>10}"
                )
        lines.append("")
    if "worker" in report:
        w = report["worker"]
        lines.append(f"Worker, {w['turns']}-turn call, Mem0 answering in {w['delay_ms']} ms")
        for label, run in (("first job in a container", w["first"]), ("next job", w["warm"])):
            made = ", ".join(f"{k} x{v}" for k, v in run["by_path"].items())
            lines.append(f"  {label:<25}{run['mem0_requests']} Mem0 requests ({made}), {run['wall_ms']:.0f} ms")
        lines.append("")
    for check in report["targets"]:
        lines.append(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['target']}  ({check['value']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--only", default="cold,worker,warm", help="comma-separated parts: cold, worker, warm")
    parser.add_argument("--quick", action="store_true", help="a short run: 5 rounds, 5 calls per caller")
    parser.add_argument("--serve-lambda-stub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", "No application metrics to publish")  # an ack emits none; expected
    if args.serve_lambda_stub:
        return serve_lambda_stub()
    if args.quick:
        args.rounds, args.calls = min(args.rounds, 5), min(args.calls, 5)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    args.concurrency = [int(part) for part in str(args.concurrency).split(",") if part.strip()]
    sys.path[:0] = [str(ROOT), str(SRC), str(SCRIPTS)]

    report: dict[str, Any] = {"machine": machine()}
    report["config"] = {
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "calls_per_caller": args.calls,
        "delay_ms": round(args.delay * 1000),
        "site": args.site,
    }
    with tempfile.TemporaryDirectory(prefix="agentic-bench-") as scratch:
        tmp = Path(scratch)
        server_env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
        mem0_cmd = [
            sys.executable,
            "-m",
            "devserver.mem0_server",
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
                site = lambda_like_site(tmp / "site")
                compileall.compile_dir(str(site), maxlevels=0, quiet=1)
                child_env["PYTHONPATH"] = os.pathsep.join([str(site), str(SRC)])
                flags = ["-S"]
            else:
                child_env["PYTHONPATH"] = str(SRC)
                flags = []
            if "cold" in args.only:
                print(f"cold start: {args.rounds} rounds x 4 arms, interleaved ...", file=sys.stderr, flush=True)
                report["cold"] = cold(args, child_env, admin, flags)
            if args.only & {"worker", "warm"}:
                print("worker and warm latency ...", file=sys.stderr, flush=True)
                report |= warm_and_worker(args, env, admin, stub_url)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = verdicts(report)
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
    return 0 if all(check["ok"] for check in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
