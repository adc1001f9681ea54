"""Many calls at once against the local stack, then proof that each call was remembered exactly once.

    python scripts/load_test.py                    # starts its own stack (make dev's) on a free port
    python scripts/load_test.py --calls 100 --duplicate-every 5
    python scripts/load_test.py --mem0-faults 40   # Mem0 answers 503 to its first 40 requests
    python scripts/load_test.py --port 3000        # a `make dev` already running (or --state FILE)

Each simulated call is a new caller: conversation initiation, two memory searches, then the signed
post-call webhook; every Nth call's webhook is delivered twice, as ElevenLabs' retries do. When the
workers are done, every caller's memories are read back from Mem0's REST API and checked: exactly one
call summary and one copy of each collected fact per conversation, conversation memories present and
not repeated. The last line reads `calls=N errors=E lost=L duplicated=D`; the exit code is 0 only when
all three are zero.

Traffic goes to 127.0.0.1 only, the request count is bounded by --calls, and every wait has a timeout.
A running stack is named as every script names it (scripts/stackfind.py: --port N or --state FILE);
there is no --stack: the check reads the local Mem0 stand-in back, so a deployed stack cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agentic_memory.edge.auth import sign  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import stackfind  # noqa: E402
from simulate_call import post  # noqa: E402  (the simulator's HTTP helper)

from devstack.envfile import first_secret, parse_env_file  # noqa: E402

SAMPLE = json.loads(json.loads((ROOT / "events" / "post_call.json").read_text())["body"])
FIRST = ("Ada", "Priya", "Lena", "Grace", "Sofia", "Mateo", "Yusuf", "Ines", "Kofi", "Hana")
LAST = ("Novak", "Raman", "Berg", "Okafor", "Marin", "Silva", "Demir", "Costa", "Mensah", "Sato")
FACTS = 2  # caller_name and delivery_preference in the sample's data collection


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def record(self, step: str, ms: float) -> None:
        with self.lock:
            self.latency.setdefault(step, []).append(ms)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


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


def one_call(index: int, args: argparse.Namespace, urls: dict[str, str], keys: dict[str, str], stats: Stats) -> None:
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
    raw = webhook_body(identity)
    deliveries = 2 if args.duplicate_every and index % args.duplicate_every == 0 else 1
    for _ in range(deliveries):
        signature = sign(raw, keys["hmac"], int(time.time()))
        status, body, ms = post(urls["post-call"], raw, {"elevenlabs-signature": signature})
        stats.record("post-call ack", ms)
        if status != 200 or body.get("status") != "accepted":
            stats.error(f"call {index}: post-call answered {status}")


def memories_of(state: dict[str, Any], caller: str) -> list[dict[str, Any]]:
    """Every memory of a caller, through Mem0's REST API (the same request MemoryClient.get_all makes)."""
    # One page is enough (a caller here has a handful of memories); Mem0 serves at most 200 a page.
    url = state["mem0_url"].rstrip("/") + "/v3/memories/?page=1&page_size=200"
    headers = {"authorization": f"Token {state['mem0_api_key']}"}
    status, body, _ = post(url, json.dumps({"filters": {"user_id": caller}}).encode(), headers)
    if status != 200:
        raise RuntimeError(f"Mem0 answered {status} to get-all")
    return body.get("results", [])


def verify(index: int, state: dict[str, Any], run: str) -> str:
    """'ok', 'lost' (something missing) or 'duplicated' (something written twice)."""
    identity = call_identity(index, run)
    found = memories_of(state, identity["caller"])
    kinds = Counter((m.get("metadata") or {}).get("kind") for m in found)
    if any((m.get("metadata") or {}).get("conversation_id") != identity["conversation_id"] for m in found):
        return "duplicated"  # a memory from another conversation under this caller: mixed up
    texts = Counter(m["memory"] for m in found if (m.get("metadata") or {}).get("kind") == "conversation")
    if kinds["call_summary"] > 1 or kinds["fact"] > FACTS or any(n > 1 for n in texts.values()):
        return "duplicated"
    if kinds["call_summary"] < 1 or kinds["fact"] < FACTS or kinds["conversation"] < 1:
        return "lost"
    return "ok"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_stack(folder: Path) -> tuple[subprocess.Popen, dict[str, Any]]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="simulated calls, all at once (max 1000)")
    parser.add_argument("--concurrency", type=int, help="calls in flight at once (default: all of them)")
    parser.add_argument("--duplicate-every", type=int, default=5, help="deliver every Nth webhook twice (0: never)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for every job to be written")
    parser.add_argument("--env-file", type=Path, help="keys of the running stack (default: the stack's own)")
    parser.add_argument(
        "--mem0-faults", type=int, default=0, help="the local Mem0 answers 503 to this many requests first"
    )
    stackfind.add_arguments(
        parser,
        deployed=False,
        default="default: a stack of its own (make dev's), started on a free port and stopped at the end;"
        " --port or --state use a `make dev` already running (a deployed stack cannot be checked)",
    )
    args = parser.parse_args(argv)
    args.calls = max(1, min(args.calls, 1000))
    args.run = f"{int(time.time()) % 1000:03d}"

    folder = Path(tempfile.mkdtemp(prefix="agentic-memory-load-"))
    process = None
    if stackfind.chosen(args):
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
        process, state = start_stack(folder)
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
    try:
        print(f"{args.calls} calls against {base} ({args.concurrency or args.calls} at once)", flush=True)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency or args.calls) as pool:
            for future in [pool.submit(one_call, i, args, urls, keys, stats) for i in range(args.calls)]:
                try:
                    future.result()
                except Exception as exc:  # a transport failure is an error of this run, not a crash
                    stats.error(f"{type(exc).__name__}: {exc}")
        sent = time.perf_counter() - started

        outcome: Counter[str] = Counter()
        deadline = time.monotonic() + args.timeout
        while True:
            outcome = Counter(verify(i, state, args.run) for i in range(args.calls))
            if outcome["lost"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        written = time.perf_counter() - started
        dead_letters = Path(state["dead_letters"])
        parked = len(dead_letters.read_text().splitlines()) if dead_letters.exists() else 0
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    print(f"requests sent in {sent:.1f} s; every call checked after {written:.1f} s; dead letters: {parked}")
    print(f"{'endpoint':<15}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for step, values in stats.latency.items():
        print(
            f"{step:<15}{len(values):>6}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}{max(values):>9.1f}"
        )
    for message in stats.errors[:10]:
        print(f"error: {message}")
    errors = len(stats.errors) + parked
    print(f"calls={args.calls} errors={errors} lost={outcome['lost']} duplicated={outcome['duplicated']}")
    return 0 if errors == outcome["lost"] == outcome["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
