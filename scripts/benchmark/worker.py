"""Part c, the worker: a long call acknowledged by post_call, its queued job fetched from the Lambda stub and
run by the worker, counting the Mem0 requests it makes."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from benchmark.arms import long_call_body
from benchmark.servers import Mem0Admin, http_json
from benchmark.timing import count_diff


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
