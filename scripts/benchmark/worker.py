"""Part c, the worker: long calls acknowledged by post_call, each queued job fetched from the Lambda stub and
run by the worker with the deployed stack's tables (idempotency records and caller profiles, in moto's
DynamoDB), counting the Mem0 requests each job makes.

Three jobs, each in the same fresh child process (a container): the first job of the container (a new
caller; it builds the worker's Mem0 client, whose constructor pings), then a new caller's call on the warm
container, then that caller's next call (a returning caller: the profile's read of their memories). With
``--baseline REV`` the same three run with ``src/`` as REV has it, against the same servers: Mem0 requests
per call ingested before and after a change, in one run (issue 23).

Run by hand (one arm): ``python -m benchmark.worker --src SRC --mem0 URL --stub URL`` from scripts/, with
the environment of ``worker_env``; it prints ``WORKER-BENCH <json>`` last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # nosec B404
import sys
import time
from pathlib import Path
from typing import Any

from benchmark import servers
from benchmark.environments import FAKE_AWS, ROOT, SCRIPTS, SRC
from benchmark.servers import Mem0Admin

MARK = "WORKER-BENCH "
RUNS = ("first job in a container", "new caller", "returning caller")
# A first-time caller for the container's first job, then another for the warm new-caller job and its return.
CALLERS = ("+16125550101", "+16125550102", "+16125550102")


def worker_part(args: argparse.Namespace, env: dict[str, str], admin: Mem0Admin, stub_url: str) -> dict[str, Any]:
    """c. The three jobs with this tree's src/, and with ``args.baseline_src`` when given; each arm in its own
    child process, with tables of its own in one moto DynamoDB server."""
    admin.delay(args.delay)
    arms: dict[str, Path] = {"current": SRC}
    baseline = getattr(args, "baseline_src", None)
    if baseline is not None:
        arms[f"baseline {args.baseline}"] = baseline
    results = {}
    with servers.dynamodb() as dynamodb_url:
        for n, (label, src) in enumerate(arms.items()):
            results[label] = run_arm(src, env, admin.url, stub_url, dynamodb_url, args.turns, suffix=f"{n}")
    admin.delay(0.0)
    return {"turns": args.turns, "delay_ms": round(args.delay * 1000), "arms": results}


def worker_env(env: dict[str, str], src: Path, dynamodb_url: str, stub_url: str, suffix: str) -> dict[str, str]:
    """The child's environment: the shared one, the deployed worker's two tables, DynamoDB's clients pointed
    at moto and the self-invoke at the Lambda stub."""
    return {
        **env,
        "AWS_ENDPOINT_URL_LAMBDA": stub_url,
        "PYTHONPATH": os.pathsep.join([str(src), str(ROOT), str(SCRIPTS)]),
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ACCESS_KEY_ID": FAKE_AWS,
        "AWS_SECRET_ACCESS_KEY": FAKE_AWS,
        "IDEMPOTENCY_TABLE": f"bench-idempotency-{suffix}",
        "PROFILE_TABLE": f"bench-worker-profiles-{suffix}",
    }


def run_arm(
    src: Path, env: dict[str, str], mem0_url: str, stub_url: str, dynamodb_url: str, turns: int, *, suffix: str
) -> dict[str, Any]:
    child_env = worker_env(env, src, dynamodb_url, stub_url, suffix)
    make_tables(dynamodb_url, child_env)
    command = [sys.executable, "-m", "benchmark.worker", "--mem0", mem0_url, "--stub", stub_url, "--turns", str(turns)]
    done = subprocess.run(  # nosec B603
        command, env=child_env, cwd=str(SCRIPTS), capture_output=True, text=True, timeout=300, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the worker benchmark's child failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix(MARK))


def make_tables(dynamodb_url: str, env: dict[str, str]) -> None:
    """The idempotency and profile tables as template.yaml defines them, under the arm's names."""
    import boto3

    from standins.sam_template import Template

    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_AWS,
        aws_secret_access_key=FAKE_AWS,
    )
    tables = Template.read().tables()
    tables["IDEMPOTENCY_TABLE"].create(client, env["IDEMPOTENCY_TABLE"])
    tables["PROFILE_TABLE"].create(client, env["PROFILE_TABLE"])


def call_body(turns: int, caller: str, conversation_id: str) -> bytes:
    """A long call (``arms.long_call_body``) from ``caller``."""
    from benchmark.arms import long_call_body

    payload = json.loads(long_call_body(turns, conversation_id=conversation_id))
    payload["data"]["metadata"]["phone_call"]["external_number"] = caller
    return json.dumps(payload).encode()


def child(argv: list[str] | None = None) -> int:
    """One arm, in a fresh process: the three jobs, their Mem0 requests, printed as ``MARK`` JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mem0", required=True)
    parser.add_argument("--stub", required=True)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args(argv)
    from benchmark.servers import http_json
    from benchmark.timing import count_diff
    from benchmark.warm import quiet_stdout
    from post_call.handler import lambda_handler as handler
    from tests.support import LambdaContext, http_event, signed_headers

    admin = Mem0Admin(args.mem0)
    runs = {}
    with quiet_stdout():
        for label, caller in zip(RUNS, CALLERS, strict=True):
            body = call_body(args.turns, caller, f"conv_bench_{len(runs)}_{time.time_ns()}")
            ack = handler(
                http_event("/post-call", body, signed_headers(body, key=os.environ["ELEVENLABS_HMAC_KEY"])),
                LambdaContext(),
            )
            job = http_json("GET", f"{args.stub}/_last")
            before = admin.counts()
            begun = time.perf_counter()
            outcome = handler(job, LambdaContext())
            elapsed = time.perf_counter() - begun
            made = count_diff(before, admin.counts())
            runs[label] = {
                "ack_status": ack["statusCode"],
                "job_turns": len(job["turns"]),
                "outcome": outcome,
                "mem0_requests": sum(made.values()),
                "writes": sum(n for path, n in made.items() if path.endswith("/memories/add/")),
                "by_path": made,
                "wall_ms": round(elapsed * 1000, 1),
            }
    print(MARK + json.dumps(runs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(child())
