"""One cold-start sample: a fresh interpreter (CHILD) that imports a handler and serves one request, or
does the naive arm's or a libraries arm's work, and reports its time and the modules it loaded."""

from __future__ import annotations

import json
import subprocess  # nosec B404
import sys
import time
from typing import Any

from benchmark.arms import FUNCTION, WATCHED
from benchmark.servers import Mem0Admin
from benchmark.timing import count_diff

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
        from agentic_memory.stores import tls
        tls.start()
        import httpx
        from agentic_memory.stores.mem0_loader import memory_client_class
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


def cold_sample(
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


def memory_requests(sample: dict[str, Any]) -> int:
    """The requests a sample made to Mem0's memory endpoints (its ping and event polls left out)."""
    return sum(n for path, n in sample["mem0"].items() if "/memories" in path)
