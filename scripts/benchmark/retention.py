"""Part e, retention: what the retention ledger costs the worker, and what the sweep costs per call.

The worker, warm, in this process (as part c), against the Mem0 stand-in and moto's DynamoDB with the template's
tables: jobs without a due time and jobs with one, interleaved, each writing a call of its own; the ledger line
is the only difference (one DynamoDB PutItem before the writes). Then one sweep deletes the calls that were due,
and the Mem0 requests it made are counted: per call, one read of the call's memories, one delete per memory,
and one read of what is left for the caller profile.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
import uuid
from typing import Any

from benchmark import servers
from benchmark.servers import Mem0Admin
from benchmark.timing import count_diff
from benchmark.warm import quiet_stdout

JOBS = 12
# A ledger line is one PutItem before a job's Mem0 reads and writes and its profile's read and write: it may
# cost a job at most this much of its median wall time, same run.
LEDGER_RATIO = 1.25
# Per swept call: the call's memories read (1), each deleted by id, what is left read for the profile (1).
SWEEP_EXTRA_REQUESTS = 2


def _job(conversation: str, caller: str, due: int | None) -> dict[str, Any]:
    from tests.support import load_event

    event = load_event("post_call_job.json")
    now = int(time.time())
    event.update(conversation_id=conversation, caller_id=caller, start_time_unix_secs=now - 600, event_timestamp=now)
    event["turns"] = [
        *event["turns"][:4],
        {"role": "user", "content": f"My reference for this call is {conversation}, please keep it on file."},
    ]
    event["summary"] = f"The caller gave the reference {conversation}."
    if due is not None:
        event["delete_at"] = due
        event["expires_on"] = time.strftime("%Y-%m-%d", time.gmtime(due))
    return event


def retention_part(args: argparse.Namespace, env: dict[str, str], admin: Mem0Admin) -> dict[str, Any]:
    """The ledger's cost to a job (median wall ms with and without, and their ratio) and the sweep's requests."""
    with servers.dynamodb() as dynamodb_url:
        import boto3

        from standins.sam_template import Template

        os.environ.update(env)
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_url
        client = boto3.client("dynamodb", endpoint_url=dynamodb_url, region_name="us-east-1")
        for variable, table in Template.read().tables().items():
            name = f"bench-{variable.lower()}-{uuid.uuid4().hex[:6]}"
            table.create(client, name)
            os.environ[variable] = name
        from agentic_memory.config import get_settings
        from agentic_memory.stores import aws_clients, idempotency, mem0, profile_table

        get_settings.cache_clear()
        for reset in (aws_clients.reset_clients, idempotency.reset, mem0.reset_clients, profile_table.reset):
            reset()
        with quiet_stdout():
            return _measure(env, admin)


def _measure(env: dict[str, str], admin: Mem0Admin) -> dict[str, Any]:
    from post_call.handler import lambda_handler
    from tests.support import LambdaContext

    walls: dict[str, list[float]] = {"kept": [], "due": []}
    past = int(time.time()) - 60
    lambda_handler(_job(f"conv_warmup_{uuid.uuid4().hex[:8]}", "+15550170000", None), LambdaContext())
    for n in range(JOBS):
        for arm, due in (("kept", None), ("due", past)) if n % 2 else (("due", past), ("kept", None)):
            job = _job(f"conv_{arm}_{n}_{uuid.uuid4().hex[:8]}", f"+1555017{n:04d}", due)
            begun = time.perf_counter()
            outcome = lambda_handler(job, LambdaContext())
            walls[arm].append((time.perf_counter() - begun) * 1000)
            if outcome.get("status") != "written":
                raise RuntimeError(f"a benchmark job was not written: {outcome}")
    idle = servers.http_json("POST", f"{env['MEM0_HOST']}/_admin/wait-idle/", {"timeout": 30})
    before = admin.counts()
    begun = time.perf_counter()
    swept = lambda_handler({"kind": "retention_sweep"}, LambdaContext())
    sweep_ms = (time.perf_counter() - begun) * 1000
    made: dict[str, int] = {}
    for path, times in count_diff(before, admin.counts()).items():
        shape = re.sub(r"^DELETE /v1/memories/[^/]+/$", "DELETE /v1/memories/{id}/", path)
        made[shape] = made.get(shape, 0) + times
    kept, due = statistics.median(walls["kept"]), statistics.median(walls["due"])
    calls = swept["swept"] + swept["postponed"]
    return {
        "jobs_per_arm": JOBS,
        "extracted": idle.get("idle"),
        "job_ms_without_ledger": round(kept, 1),
        "job_ms_with_ledger": round(due, 1),
        "ledger_ratio": round(due / kept, 3),
        "sweep": {
            "status": swept["status"],
            "calls": calls,
            "memories_deleted": swept["memories_deleted"],
            "mem0_requests": sum(made.values()),
            "by_path": made,
            "wall_ms": round(sweep_ms, 1),
            "ms_per_call": round(sweep_ms / calls, 1) if calls else None,
        },
    }


def retention_verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    if "retention" not in report:
        return []
    part = report["retention"]
    sweep = part["sweep"]
    expected = sweep["memories_deleted"] + SWEEP_EXTRA_REQUESTS * sweep["calls"]
    return [
        {
            "target": f"retention: a job with a ledger line <= {LEDGER_RATIO} x one without (median wall)",
            "value": part["ledger_ratio"],
            "ok": part["ledger_ratio"] <= LEDGER_RATIO,
        },
        {
            "target": "retention: the sweep deletes every due call (calls = jobs with a due time)",
            "value": sweep["calls"],
            "ok": sweep["calls"] == part["jobs_per_arm"] and sweep["status"] == "done",
        },
        {
            "target": f"retention: sweep Mem0 requests <= memories deleted + {SWEEP_EXTRA_REQUESTS} per call",
            "value": f"{sweep['mem0_requests']} (<= {expected})",
            "ok": sweep["mem0_requests"] <= expected,
        },
    ]
