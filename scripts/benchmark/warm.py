"""Part b, warm latency: the handlers imported once in this process (a warm container), called from
threads, each call paired with its endpoint's one outside call made directly in the same thread."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from benchmark.arms import CALLER, FUNCTION, HANDLERS, REFERENCES, events
from benchmark.environments import MEM0_KEY
from benchmark.redaction import acknowledgement
from benchmark.servers import Mem0Admin
from benchmark.timing import percentile


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
    make = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], CALLER)
    results: dict[str, Any] = {}
    with quiet_stdout():
        if "redaction" in args.only:
            results["redaction_ack"] = acknowledgement(args, env, handlers["post_call"])
        if "warm" in args.only:
            seed(env["MEM0_HOST"], CALLER)
            # One call first per endpoint: the container is warm once it has served one.
            for name, handler in handlers.items():
                handler(make[name](), LambdaContext())
            direct = references(env, CALLER)
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
    (``lambda_invoke.invoke_async``: the signed httpx client, the credentials being in the environment)."""
    import httpx

    from agentic_memory.stores import lambda_invoke, mem0_loader

    http = httpx.Client(
        timeout=10, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60)
    )
    mem0 = mem0_loader.memory_client_class(telemetry=False)(
        api_key=env["MEM0_API_KEY"], host=env["MEM0_HOST"], client=http
    )
    payload = json.dumps({"kind": "bench-reference"}).encode()
    return {
        "client_data": lambda: mem0.get_all(filters={"user_id": caller}, page=1, page_size=200),
        "retrieve": lambda: mem0.search("What did I order last time?", filters={"user_id": caller}, top_k=5),
        "post_call": lambda: lambda_invoke.invoke_async(FUNCTION, payload),
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
