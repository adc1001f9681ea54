"""Many calls at once against the local stack, then proof that each call was remembered exactly once.

    python scripts/load_test.py                    # starts its own stack (make dev's) on a free port
    python scripts/load_test.py --calls 100 --duplicate-every 5
    python scripts/load_test.py --mem0-faults 40   # Mem0 answers 503 to its first 40 requests
    python scripts/load_test.py --port 3000        # a `make dev` already running (or --state FILE)

    # A campaign at Mem0's quota: 1,000 calls ending at once, Mem0 allowing 200 adds a minute
    python scripts/load_test.py --calls 1000 --mem0-add-limit 200/min
    # The same, time compressed ten times (a minute lasts 6 s): see "Compressed time" below
    python scripts/load_test.py --calls 1000 --mem0-add-limit 200/min --minute-seconds 6

Each simulated call is a new caller: conversation initiation, two memory searches, then the signed
post-call webhook; every Nth call's webhook is delivered twice, as ElevenLabs' retries do. When the
workers are done, every caller's memories are read back from the Mem0 stand-in (its uncounted admin read,
so the check spends none of the quota it measures) and checked: exactly one call summary and one copy of
each collected fact per conversation, conversation memories present and not repeated.

With ``--mem0-add-limit`` (and ``--mem0-request-limit``) the stand-in enforces Mem0's quota (429 with
Retry-After beyond it, standins/mem0_quota.py) and the stack's worker is told the same quota, as a
deployment is (MEM0_ADD_LIMIT). The run then first acknowledges ``--idle-calls`` calls one at a time on the
idle stack, waits for them, then plays the burst; it reports the acknowledgement's p95 in both phases, the
most Mem0 requests asked in any window of the quota's length (refused ones included) against the quota,
and how long the last call waited between its acknowledgement and its memories being written.

Compressed time (``--minute-seconds S``): every duration the platforms measure in minutes is scaled by the
same factor 60/S: the quota's window (N per minute becomes N per S seconds, for the stand-in and the worker
alike) and Lambda's retry delays for a failed asynchronous job ("about one and two minutes": S and 2S
seconds). So the rate of calls against the quota, the number of quota windows a burst needs, and the
number of retries a failure could spend are those of the uncompressed run. What does not scale is of the
platforms' own granularity (SQS delays are whole seconds, at most 900): coarser relative to a short minute,
it can only make a job wait longer, never start early. The local Lambda runs jobs with its real retry
semantics (two retries, then the dead-letter file; standins/aws_lambda.py), and the wait queue is moto's SQS
read by a local event source mapping (standins/sqs.py).

The last line reads ``calls=N remembered=R parked=P duplicated=D lost=L errors=E ...`` (with a quota also
the peak against it, the last call's wait and the acknowledgement's p95 ratio); the exit code is 0 only when
parked, duplicated, lost and errors are zero and no window saw more requests asked than the quota allows.

Traffic goes to 127.0.0.1 only, the request count is bounded by --calls, and every wait has a timeout.
A running stack is named as every script names it (scripts/stackfind.py: --port N or --state FILE);
there is no --stack: the check reads the local Mem0 stand-in back, so a deployed stack cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agentic_memory.domain.memory_labels import record_kind  # noqa: E402
from agentic_memory.edge.auth import sign  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import stackfind  # noqa: E402
from simulate_call import post  # noqa: E402  (the simulator's HTTP helper)

from devstack.envfile import first_secret, parse_env_file  # noqa: E402
from standins.mem0_quota import Limit  # noqa: E402

SAMPLE = json.loads(json.loads((ROOT / "events" / "post_call.json").read_text())["body"])
FIRST = ("Ada", "Priya", "Lena", "Grace", "Sofia", "Mateo", "Yusuf", "Ines", "Kofi", "Hana")
LAST = ("Novak", "Raman", "Berg", "Okafor", "Marin", "Silva", "Demir", "Costa", "Mensah", "Sato")
FACTS = 2  # caller_name and delivery_preference in the sample's data collection
MAX_CALLS = 2000
# Lambda retries a failed asynchronous invocation "after about one minute, then two" (Lambda Developer Guide,
# "Asynchronous invocation"): scaled with the minute when a quota run compresses time.
LAMBDA_RETRY_MINUTES = (1, 2)
_RETRIED = re.compile(r"attempt [2-9]/\d+")
# Calls that end one at a time while a burst drains, to time their acknowledgement then.
MAX_PROBES = 40
PROBE_INTERVAL = 0.25
WARM_UP = 3


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.acked_at: dict[int, float] = {}

    def record(self, step: str, ms: float) -> None:
        with self.lock:
            self.latency.setdefault(step, []).append(ms)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def acked(self, index: int) -> None:
        with self.lock:
            self.acked_at[index] = time.time()


def call_identity(index: int, run: str) -> dict[str, str]:
    first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST)) % len(LAST)]
    return {
        "caller": f"+1555{run}{index:04d}",
        "name": f"{first} {last}",
        "conversation_id": f"conv_load_{run}_{index:04d}",
    }


def webhook_body(identity: dict[str, str]) -> bytes:
    payload = json.loads(json.dumps(SAMPLE))
    data = payload["data"]
    data["conversation_id"] = identity["conversation_id"]
    data["metadata"]["phone_call"]["external_number"] = identity["caller"]
    data["conversation_initiation_client_data"]["dynamic_variables"]["system__caller_id"] = identity["caller"]
    data["analysis"]["data_collection_results"]["caller_name"]["value"] = identity["name"]
    for turn in data["transcript"]:
        if turn["message"]:
            turn["message"] = (
                turn["message"].replace("Maria Lopez", identity["name"]).replace("Maria", identity["name"])
            )
    data["analysis"]["transcript_summary"] = data["analysis"]["transcript_summary"].replace(
        "Maria Lopez", identity["name"]
    )
    now = int(time.time())
    payload["event_timestamp"] = now
    data["metadata"]["start_time_unix_secs"] = now - 90
    return json.dumps(payload).encode()


def deliver(
    index: int, args: argparse.Namespace, urls: dict[str, str], keys: dict[str, str], stats: Stats, step: str
) -> None:
    """The call's signed post-call webhook (twice for every ``--duplicate-every``-th call)."""
    raw = webhook_body(call_identity(index, args.run))
    deliveries = 2 if args.duplicate_every and index % args.duplicate_every == 0 else 1
    for _ in range(deliveries):
        signature = sign(raw, keys["hmac"], int(time.time()))
        status, body, ms = post(urls["post-call"], raw, {"elevenlabs-signature": signature})
        stats.record(step, ms)
        if status != 200 or body.get("status") != "accepted":
            stats.error(f"call {index}: post-call answered {status}")
    stats.acked(index)


def one_call(
    index: int, args: argparse.Namespace, urls: dict[str, str], keys: dict[str, str], stats: Stats, *, end: bool = True
) -> None:
    """A whole call: it connects (initiation), the agent searches twice, and (``end``) its webhook comes."""
    identity = call_identity(index, args.run)
    workspace = {"x-workspace-key": keys["workspace"]}
    initiation = json.dumps({"caller_id": identity["caller"], "agent_id": "agent_load"}).encode()
    status, body, ms = post(urls["client-data"], initiation, workspace)
    stats.record("client-data", ms)
    if status != 200 or body.get("dynamic_variables", {}).get("returning_caller") != "no":
        stats.error(f"call {index}: client-data answered {status}")
        return
    for query in ("what did they order?", "any delivery preferences?"):
        search = json.dumps({"query": query, "user_id": identity["caller"]}).encode()
        status, body, ms = post(urls["retrieve"], search, workspace)
        stats.record("retrieve", ms)
        if status != 200 or not isinstance(body.get("memories"), list):
            stats.error(f"call {index}: retrieve answered {status}")
    if end:
        deliver(index, args, urls, keys, stats, "post-call ack")


def admin(state: dict[str, Any], path: str, body: Any = None) -> Any:
    """The Mem0 stand-in's admin endpoints: uncounted, never throttled."""
    url = state["mem0_url"].rstrip("/") + path
    if body is None:
        import urllib.request

        # The stand-in's own URL, from the stack's state file: http on 127.0.0.1, no other scheme.
        with urllib.request.urlopen(url, timeout=15) as response:  # nosec B310
            return json.loads(response.read())
    status, answer, _ = post(url, json.dumps(body).encode(), {})
    if status != 200:
        raise RuntimeError(f"the Mem0 stand-in answered {status} to {path}")
    return answer


def memories_of(state: dict[str, Any], caller: str) -> list[dict[str, Any]]:
    """Every memory of a caller, from the stand-in's admin read (not Mem0's API: it would spend the quota)."""
    return admin(state, "/_admin/memories/", {"filters": {"user_id": caller}})["results"]


def verify(index: int, state: dict[str, Any], run: str) -> tuple[str, float | None]:
    """('ok' | 'lost' | 'duplicated', when its notes were written: unix seconds or None)."""
    identity = call_identity(index, run)
    found = memories_of(state, identity["caller"])
    kinds = Counter(record_kind(m["memory"], m.get("metadata")) for m in found)
    if any((m.get("metadata") or {}).get("conversation_id") != identity["conversation_id"] for m in found):
        return "duplicated", None  # a memory from another conversation under this caller: mixed up
    texts = Counter(m["memory"] for m in found if (m.get("metadata") or {}).get("kind") == "conversation")
    written = [
        datetime.fromisoformat(m["created_at"]).timestamp()
        for m in found
        if (m.get("metadata") or {}).get("kind") != "conversation"
    ]
    when = max(written) if written else None
    if kinds["call_summary"] > 1 or kinds["fact"] > FACTS or any(n > 1 for n in texts.values()):
        return "duplicated", when
    if kinds["call_summary"] < 1 or kinds["fact"] < FACTS or kinds["conversation"] < 1:
        return "lost", when
    return "ok", when


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_stack(folder: Path, extra: list[str]) -> tuple[subprocess.Popen, dict[str, Any]]:
    port = free_port()
    command = [
        sys.executable,
        str(ROOT / "scripts" / "dev.py"),
        "--port",
        str(port),
        "--data-dir",
        str(folder / "data"),
        "--env-file",
        str(folder / ".env"),
        *extra,
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MEM0_", "ELEVENLABS_"))}
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # keep the stack's output small under load
    log = (folder / "stack.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)  # nosec B603
    state_path = folder / "data" / "dev-stack.json"
    deadline = time.monotonic() + 60
    while not state_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the dev stack did not start; see {folder / 'stack.log'}")
        time.sleep(0.1)
    return process, json.loads(state_path.read_text())


def keys_from(env_file: Path) -> dict[str, str]:
    values = parse_env_file(env_file)
    return {
        "workspace": first_secret(values.get("ELEVENLABS_WORKSPACE_KEY")),
        "hmac": first_secret(values.get("ELEVENLABS_HMAC_KEY")),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def compressed(limit: Limit | None, minute_seconds: float) -> Limit | None:
    """``limit`` with its window scaled so that a minute lasts ``minute_seconds``."""
    return None if limit is None else Limit(limit.count, limit.seconds * minute_seconds / 60)


def parked_count(state: dict[str, Any]) -> int:
    """Jobs given up on: the local Lambda's dead-letter file, and messages the wait queue's redrive parked."""
    dead_letters = Path(state["dead_letters"])
    parked = len(dead_letters.read_text().splitlines()) if dead_letters.exists() else 0
    queue = (state.get("queues") or {}).get("PostCallDeadLetterQueue")
    if queue:
        import boto3

        client = boto3.client(
            "sqs",
            endpoint_url=state["dynamodb_endpoint_url"],
            region_name=state.get("region", "us-east-1"),
            aws_access_key_id="local",
            # Not a secret: moto on 127.0.0.1 takes any key.
            aws_secret_access_key="local",  # nosec B106
        )
        attributes = client.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        parked += sum(
            int(attributes.get(name, 0))
            for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        )
    return parked


def admitted_adds(state: dict[str, Any]) -> int:
    peaks = admin(state, "/_admin/quota/")["peaks"]["add"]
    return peaks["asked"] - peaks["throttled"]


def wait_for_writes(state: dict[str, Any], expected_adds: int, timeout: float) -> None:
    """Until the stand-in has taken ``expected_adds`` adds (each call's two, once) and extracted them, or
    ``timeout`` seconds; cheap to poll (one admin request), unlike reading every caller back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and admitted_adds(state) < expected_adds:
        time.sleep(0.5)
    admin(state, "/_admin/wait-idle/", {"timeout": max(0.0, min(60.0, deadline - time.monotonic()))})


def check_calls(state: dict[str, Any], indexes: list[int], run: str, deadline: float) -> dict[int, tuple]:
    """Verify every call, again while some are missing and time is left: ``verify``'s answer by call."""
    while True:
        results = {index: verify(index, state, run) for index in indexes}
        if all(result != "lost" for result, _ in results.values()) or time.monotonic() > deadline:
            return results
        time.sleep(1.0)


def run_all(*, pool_size: int, work: list[tuple[Any, int, dict[str, Any]]], args, urls, keys, stats) -> None:
    """Run ``work`` (function, call index, keyword arguments) on ``pool_size`` threads, all at once."""
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        futures = [pool.submit(function, index, args, urls, keys, stats, **kwargs) for function, index, kwargs in work]
        for future in futures:
            try:
                future.result()
            except Exception as exc:  # a transport failure is an error of this run, not a crash
                stats.error(f"{type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help=f"simulated calls, all at once (max {MAX_CALLS})")
    parser.add_argument("--concurrency", type=int, help="calls in flight at once (default: all of them, up to 200)")
    parser.add_argument("--duplicate-every", type=int, default=5, help="deliver every Nth webhook twice (0: never)")
    parser.add_argument("--timeout", type=float, help="seconds to wait for every job (default: from the quota)")
    parser.add_argument("--env-file", type=Path, help="keys of the running stack (default: the stack's own)")
    parser.add_argument(
        "--mem0-faults", type=int, default=0, help="the local Mem0 answers 503 to this many requests first"
    )
    parser.add_argument(
        "--mem0-add-limit", type=Limit.parse, help="Mem0's add quota, e.g. 200/min: the stand-in enforces it"
    )
    parser.add_argument("--mem0-request-limit", type=Limit.parse, help="the quota of Mem0's other requests")
    parser.add_argument(
        "--minute-seconds", type=float, default=60.0, help="compress time: a minute lasts this many seconds"
    )
    parser.add_argument(
        "--idle-calls",
        type=int,
        help="with a quota: calls acknowledged one at a time first, 3 of them to warm up (default 23)",
    )
    stackfind.add_arguments(
        parser,
        deployed=False,
        default="default: a stack of its own (make dev's), started on a free port and stopped at the end;"
        " --port or --state use a `make dev` already running (a deployed stack cannot be checked)",
    )
    args = parser.parse_args(argv)
    args.calls = max(1, min(args.calls, MAX_CALLS))
    args.run = f"{int(time.time()) % 1000:03d}"
    quota = args.mem0_add_limit is not None or args.mem0_request_limit is not None
    if not 1 <= args.minute_seconds <= 60:
        parser.error("--minute-seconds must be from 1 to 60")
    idle_calls = (20 + WARM_UP if args.idle_calls is None else args.idle_calls) if quota else 0
    add_limit = compressed(args.mem0_add_limit, args.minute_seconds)
    request_limit = compressed(args.mem0_request_limit, args.minute_seconds)

    folder = Path(tempfile.mkdtemp(prefix="agentic-memory-load-"))
    process = None
    if stackfind.chosen(args):
        if quota:
            parser.error("--mem0-add-limit/--mem0-request-limit need the stack this script starts (no --port/--state)")
        try:
            target = stackfind.resolve(args, deployed=False)
        except stackfind.TargetError as exc:
            return stackfind.fail(exc)
        if not isinstance(target, stackfind.LocalStack):  # not reached: deployed=False offers no --stack
            return stackfind.fail("load_test.py runs against a local stack only")
        state = target.state
        if args.env_file is not None:
            keys = keys_from(args.env_file)
        else:
            keys = {
                "workspace": first_secret(target.secret("ELEVENLABS_WORKSPACE_KEY")),
                "hmac": first_secret(target.secret("ELEVENLABS_HMAC_KEY")),
            }
    else:
        extra: list[str] = []
        if add_limit is not None:
            extra += ["--mem0-add-limit", str(add_limit)]
        if request_limit is not None:
            extra += ["--mem0-request-limit", str(request_limit)]
        if quota:
            delays = ",".join(f"{m * args.minute_seconds:g}" for m in LAMBDA_RETRY_MINUTES)
            extra += ["--retry-delays", delays]
        process, state = start_stack(folder, extra)
        keys = keys_from(folder / ".env")
    if not state.get("mem0_api_key"):
        print("load_test.py: the stack uses the real Mem0 Platform; run it against the local store", file=sys.stderr)
        return 2
    base = state["api_url"].rstrip("/")
    urls = {route: f"{base}/Prod/{route}" for route in ("client-data", "retrieve", "post-call")}
    stats = Stats()
    if args.mem0_faults:
        knobs = json.dumps({"fail_status": 503, "fail_times": args.mem0_faults}).encode()
        post(state["mem0_url"].rstrip("/") + "/_admin/knobs", knobs, {})
    # Each call writes two adds, once however often it is delivered (the conversation, and its notes).
    adds_per_call = 2
    if args.timeout is not None:
        timeout = args.timeout
    elif add_limit is not None:
        drain = (idle_calls + args.calls) * adds_per_call / (add_limit.count * 0.9) * add_limit.seconds
        timeout = 60 + 2 * drain
    else:
        timeout = 120.0
    started = sent = time.perf_counter()
    outcome: Counter[str] = Counter()
    written_at: dict[int, float | None] = {}
    parked = remembered = 0
    try:
        deadline = time.monotonic() + timeout
        if idle_calls:
            # The idle stack: one acknowledgement at a time, each job let through before the next call ends.
            print(f"idle: {idle_calls} calls one at a time", flush=True)
            for n, index in enumerate(range(args.calls, args.calls + idle_calls)):
                # The first few warm the stack (its clients are built on first use), and are not timed as idle.
                deliver(index, args, urls, keys, stats, "ack (warm-up)" if n < WARM_UP else "ack (idle)")
                time.sleep(0.05)
            wait_for_writes(state, idle_calls * adds_per_call, timeout)
        burst = range(args.calls)
        probes: list[int] = []
        workers = args.concurrency or min(args.calls, 200)
        if add_limit is not None:
            scale = "" if args.minute_seconds == 60 else f" (a minute compressed to {args.minute_seconds:g} s)"
            times = args.calls * adds_per_call / args.mem0_add_limit.count
            print(f"campaign: {args.calls} calls connect and talk", flush=True)
            run_all(
                pool_size=workers,
                work=[(one_call, i, {"end": False}) for i in burst],
                args=args,
                urls=urls,
                keys=keys,
                stats=stats,
            )
            print(
                f"burst: the {args.calls} calls end at once, {times:.1f} x Mem0's quota of"
                f" {args.mem0_add_limit}{scale}",
                flush=True,
            )
            started = time.perf_counter()
            run_all(
                pool_size=workers,
                work=[(deliver, i, {"step": "ack (burst)"}) for i in burst],
                args=args,
                urls=urls,
                keys=keys,
                stats=stats,
            )
            # While the backlog drains at Mem0's pace, more calls end, one at a time: their acknowledgement is
            # what a caller's webhook meets while the worker is busiest.
            first_probe = args.calls + idle_calls
            expected = (idle_calls + args.calls) * adds_per_call
            while len(probes) < MAX_PROBES and admitted_adds(state) < expected and time.monotonic() < deadline:
                index = first_probe + len(probes)
                deliver(index, args, urls, keys, stats, "ack (draining)")
                probes.append(index)
                expected += adds_per_call
                time.sleep(PROBE_INTERVAL)
        else:
            print(f"{args.calls} calls against {base} ({args.concurrency or args.calls} at once)", flush=True)
            started = time.perf_counter()
            run_all(
                pool_size=workers, work=[(one_call, i, {}) for i in burst], args=args, urls=urls, keys=keys, stats=stats
            )
        sent = time.perf_counter() - started
        wait_for_writes(state, (idle_calls + args.calls + len(probes)) * adds_per_call, deadline - time.monotonic())
        checked = [*burst, *range(args.calls, args.calls + idle_calls), *probes]
        results = check_calls(state, checked, args.run, deadline)
        outcome = Counter(result for result, _ in results.values())
        written_at = {index: when for index, (_, when) in results.items()}
        remembered = sum(1 for index in burst if results[index][0] == "ok")
        written = time.perf_counter() - started
        parked = parked_count(state)
        limits = admin(state, "/_admin/quota/")
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    retried = None
    if process is not None:
        retried = len(_RETRIED.findall((folder / "stack.log").read_text(errors="replace")))

    print(f"webhooks sent in {sent:.1f} s; every call checked after {written:.1f} s; dead letters: {parked}")
    print(f"{'endpoint':<15}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for step, values in stats.latency.items():
        print(
            f"{step:<15}{len(values):>6}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}{max(values):>9.1f}"
        )
    for message in stats.errors[:10]:
        print(f"error: {message}")
    errors = len(stats.errors)
    verdict = (
        f"calls={args.calls} remembered={remembered} parked={parked}"
        f" duplicated={outcome['duplicated']} lost={outcome['lost']} errors={errors}"
    )
    over_quota = False
    if quota:
        for kind, label in (("add", "adds"), ("other", "other requests")):
            peak = limits["peaks"][kind]
            if peak["limit"] is None:
                print(f"Mem0 {label}: {peak['asked']} asked, at most {peak['peak']} in any 60 s (no quota)")
                continue
            over_quota |= peak["peak"] > peak["limit"]
            print(
                f"Mem0 {label}: {peak['asked']} asked, at most {peak['peak']} in any {peak['window_seconds']:g} s"
                f" window against a quota of {peak['limit']}; {peak['throttled']} answered 429"
            )
        adds = limits["peaks"]["add"]
        waits = [
            (when - stats.acked_at[index], index)
            for index, when in written_at.items()
            if when is not None and index < args.calls and index in stats.acked_at
        ]
        last_wait = max(waits)[0] if waits else float("nan")
        last_written = max(
            (when, index) for index, when in written_at.items() if when is not None and index < args.calls
        )
        last_call = last_written[0] - stats.acked_at[last_written[1]]
        idle_p95 = percentile(stats.latency.get("ack (idle)", [float("nan")]), 0.95)
        burst_p95 = percentile(stats.latency.get("ack (burst)", [float("nan")]), 0.95)
        draining_p95 = percentile(stats.latency.get("ack (draining)", [float("nan")]), 0.95)
        ratio = draining_p95 / idle_p95 if idle_p95 else float("nan")
        print(
            f"last call remembered {last_call:.1f} s after its acknowledgement (longest wait {last_wait:.1f} s);"
            f" Lambda retries spent: {retried if retried is not None else 'unknown'}"
        )
        print(
            f"acknowledgement p95: {idle_p95:.1f} ms idle, {draining_p95:.1f} ms while the burst drains"
            f" (x{ratio:.2f}); {burst_p95:.1f} ms for the burst's own {args.calls} webhooks sent at once"
        )
        peak_text = f"{adds['peak']}/{adds['limit']}" if adds["limit"] is not None else f"{adds['peak']}/none"
        verdict += (
            f" peak_adds={peak_text} per {adds['window_seconds']:g}s last_wait={last_call:.1f}s"
            f" ack_p95_ratio={ratio:.2f}"
        )
    print(verdict)
    ok = errors == outcome["lost"] == outcome["duplicated"] == parked == 0 and not over_quota
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
