"""Part d, the caller profile (issue 11): client_data for a returning caller whose profile is in DynamoDB.

client_data answers a caller who has a profile from one DynamoDB request (since issue 20 a BatchGetItem:
the profiles the caller may have and the own-line marks of the call's two numbers), without Mem0. Measured
against moto's DynamoDB server (its own process, like the Mem0 server): cold start + first request with
each way of reading DynamoDB, and warm p95 with Mem0 slow (800 ms) and hanging, each set against the same
DynamoDB read measured in the same run (on AWS the round trip is DynamoDB's; here moto's). And retrieve's
read of those marks (issue 20): warm p95 with the read and without it, alternating blocks in one run,
against the bare read's own p95.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark import servers
from benchmark.arms import HANDLERS, events
from benchmark.child import cold_sample, memory_requests
from benchmark.environments import FAKE_AWS
from benchmark.servers import Mem0Admin
from benchmark.timing import count_diff, interleaved, percentile
from benchmark.warm import quiet_stdout

PROFILE_TABLE_NAME = "bench-profiles"
PROFILE_CALLER = "+16129782029"
PROFILE_MEM0_SLOW = 0.8  # seconds: Mem0 answering slowly (its own p50 is about a second: issue 11)
PROFILE_MEM0_HANGING = 30.0  # seconds: longer than any budget, so Mem0 "hangs"
PROFILE_CONCURRENCY = 10
PROFILE_ARMS = (
    "naive",
    "client_data, Mem0 read",
    "client_data, profile via SigV4 httpx",
    "client_data, profile via boto3",
)
PROFILE_CHOSEN = "client_data, profile via SigV4 httpx"


def seed_profile(dynamodb_url: str) -> None:
    """The profile table as the template defines it, holding a returning caller's profile as the worker
    writes it (profile_table.update, after one call with a name, a summary and a collected field)."""
    import boto3

    from agentic_memory.config import get_settings
    from agentic_memory.domain.job import Job
    from agentic_memory.stores import aws_clients, profile_table
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
    aws_clients.reset_clients()
    try:
        if profile_table.update(job) != "written":
            raise RuntimeError("the bench's caller profile was not written")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        aws_clients.reset_clients()


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
    samples = interleaved(
        list(arms), args.rounds, lambda name: cold_sample(*arms[name], flags, event["client_data"], admin)
    )
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
            "mem0_memory_requests": max(memory_requests(s) for s in runs),
            "samples": len(runs),
            "per_round": [round(wall * 1000, 2) for wall in walls],  # for the round-by-round verdict
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
    from agentic_memory.config import get_settings
    from agentic_memory.stores import mem0, profile_reader

    get_settings.cache_clear()
    mem0.reset_clients()
    profile_reader.reset()
    handler = __import__(HANDLERS["client_data"], fromlist=["lambda_handler"]).lambda_handler
    make = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], PROFILE_CALLER)["client_data"]
    results: dict[str, Any] = {"concurrency": PROFILE_CONCURRENCY, "calls_per_caller": args.calls}
    try:
        for label, delay in (("mem0_800ms", PROFILE_MEM0_SLOW), ("mem0_hanging", PROFILE_MEM0_HANGING)):
            results[label] = profile_condition(handler, make, admin, delay, args.calls)
        results["retrieve_marks"] = retrieve_marks(env, admin, dynamodb_url, args.calls)
    finally:
        admin.delay(0.0)
        for name in ("PROFILE_TABLE", "AWS_ENDPOINT_URL_DYNAMODB"):
            os.environ.pop(name, None)
        get_settings.cache_clear()
        profile_reader.reset()
    return results


def connect_read() -> None:
    """The DynamoDB read client_data makes for the bench's call (``edge.client_data.lookup_profile``): the
    profiles of both parties and the marks of both numbers, in one BatchGetItem."""
    from agentic_memory.config import get_settings
    from agentic_memory.domain import identity
    from agentic_memory.stores import profile_reader

    settings = get_settings()
    numbers = identity.numbers_named(settings, PROFILE_CALLER, BENCH_CALLED)
    profile_reader.read_for_call(numbers, numbers, None, settings=settings)


BENCH_CALLED = "+18005551234"  # benchmark.arms.events: the called number of the bench's initiation


def profile_condition(handler: Callable, make: Callable, admin: Mem0Admin, delay: float, calls: int) -> dict:
    """One condition of ``profile_warm``: Mem0 delayed by ``delay`` seconds, ``calls`` calls per caller."""
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
        connect_read()
        handler(make(), LambdaContext())  # unmeasured: this modelled container's connections are open
        barrier.wait()
        for _ in range(calls):
            begun = time.perf_counter()
            connect_read()
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


RETRIEVE_BLOCKS = 4  # alternating blocks without and with the marks read, so drift hits both alike


def retrieve_marks(env: dict[str, str], admin: Mem0Admin, dynamodb_url: str, calls: int) -> dict[str, Any]:
    """Warm retrieve for an inbound tool call (caller_id the customer, called_number our line): with
    ``PROFILE_TABLE`` set it reads both numbers' own-line marks before searching (one BatchGetItem), without
    it, it does not. ``PROFILE_CONCURRENCY`` callers at once, in ``RETRIEVE_BLOCKS`` alternating blocks of each;
    with the table, each call is paired with a bare read of the same marks. Mem0 answers at once."""
    from agentic_memory.config import get_settings
    from agentic_memory.stores import profile_reader
    from tests.support import LambdaContext, http_event

    handler = __import__(HANDLERS["retrieve"], fromlist=["lambda_handler"]).lambda_handler
    body = {"query": "What did I order last time?", "caller_id": PROFILE_CALLER, "called_number": BENCH_CALLED}
    header = {"x-workspace-key": env["ELEVENLABS_WORKSPACE_KEY"]}
    times: dict[str, list[float]] = {"without": [], "with": [], "read": []}
    searched = [0]
    lock = threading.Lock()
    admin.delay(0.0)

    def block(with_marks: bool) -> None:
        if with_marks:
            os.environ.update(PROFILE_TABLE=PROFILE_TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB=dynamodb_url)
        else:
            os.environ.pop("PROFILE_TABLE", None)
        get_settings.cache_clear()
        handler(http_event("/retrieve", body, header), LambdaContext())  # warm this condition's connections
        barrier = threading.Barrier(PROFILE_CONCURRENCY)

        def one_caller(index: int) -> None:
            time.sleep(index * 0.02)
            barrier.wait()
            for _ in range(max(1, calls // RETRIEVE_BLOCKS)):
                if with_marks:
                    begun = time.perf_counter()
                    profile_reader.read_marks([PROFILE_CALLER, BENCH_CALLED])
                    with lock:
                        times["read"].append((time.perf_counter() - begun) * 1000)
                event = http_event("/retrieve", body, header)
                begun = time.perf_counter()
                answer = json.loads(handler(event, LambdaContext())["body"])
                elapsed = (time.perf_counter() - begun) * 1000
                with lock:
                    times["with" if with_marks else "without"].append(elapsed)
                    searched[0] += "note" not in answer or answer["note"].startswith("Nothing relevant")

        threads = [threading.Thread(target=one_caller, args=(i,)) for i in range(PROFILE_CONCURRENCY)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for _ in range(RETRIEVE_BLOCKS):
        block(False)
        block(True)
    without, with_marks, read = (percentile(times[k], 95) for k in ("without", "with", "read"))
    return {
        "requests": len(times["with"]) + len(times["without"]),
        "retrieve_p95_without_ms": round(without, 1),
        "retrieve_p95_with_ms": round(with_marks, 1),
        "marks_read_p95_ms": round(read, 1),
        "added_p95_ms": round(with_marks - without, 1),
        "searched": searched[0],
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
    with servers.dynamodb() as dynamodb_url:
        seed_profile(dynamodb_url)
        result: dict[str, Any] = {"cold": profile_cold(args, child_env, naive_env, admin, flags, tmp, dynamodb_url)}
        with quiet_stdout():
            result["warm"] = profile_warm(args, env, admin, dynamodb_url)
    return result
