"""What each function loads, checked in fresh interpreters, because a cold start pays for every import.

Each case starts a new Python process (the pytest process has long since imported everything), imports a
handler, serves one request against the local Mem0 server (and, for post_call, a local Lambda Invoke
endpoint), then reports ``sys.modules``. The loader cases pin mem0ai: an upgrade that changes the layout
the lean loader relies on fails here instead of silently bringing back a second of cold start.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentic_memory.stores import mem0_loader as mem0_import
from tests.support import (
    HMAC_KEY,
    ROOT,
    WORKSPACE_KEY,
    http_event,
    load_event,
    post_call_body,
    signed_headers,
)

pytestmark = pytest.mark.slow

HEAVY = ("qdrant_client", "numpy", "openai", "sqlalchemy", "grpc")
MEM0_KEY = "hygiene-mem0-key"

# Runs in the child: serve the given events with the given handler, then report what is loaded.
CHILD = """
import json, os, sys
job = json.loads(sys.stdin.read())
if job.get("module"):
    import importlib
    handler = importlib.import_module(job["module"]).lambda_handler
    class Context:
        function_name = "agentic-memory-post-call"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:agentic-memory-post-call"
        aws_request_id = "hygiene"
        def get_remaining_time_in_millis(self):
            return 30000
    statuses, sources = [], []
    for event in job["events"]:
        answer = handler(event, Context())
        statuses.append(answer.get("statusCode", answer.get("status")))
        sources.append((answer.get("headers") or {}).get("x-memory-source"))
    result = None
else:
    scope = {}
    exec(job["code"], scope)
    statuses, sources, result = [], [], scope.get("result")
report = {"statuses": statuses, "sources": sources, "result": result, "modules": sorted(sys.modules)}
sys.stdout.flush()
os.write(1, ("\\nHYGIENE " + json.dumps(report) + "\\n").encode())
os._exit(0)
"""


class _InvokeStub(BaseHTTPRequestHandler):
    """Lambda's Invoke API as far as an asynchronous self-invoke needs it: 202, nothing else. ``GET`` is
    a container credentials endpoint (the shape botocore's ``ContainerProvider`` reads: AccessKeyId,
    SecretAccessKey, Token, Expiration), for the runtime that gives no credentials in the environment."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "AccessKeyId": "container",
                "SecretAccessKey": "container",
                "Token": "t",
                "Expiration": "2999-01-01T00:00:00Z",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    from standins.mem0 import running_mem0_server

    invoke = ThreadingHTTPServer(("127.0.0.1", 0), _InvokeStub)
    invoke.daemon_threads = True
    thread = threading.Thread(target=invoke.serve_forever, daemon=True)
    thread.start()
    try:
        with running_mem0_server(api_key=MEM0_KEY) as mem0:
            yield mem0.url, f"http://127.0.0.1:{invoke.server_address[1]}"
    finally:
        invoke.shutdown()
        invoke.server_close()


@pytest.fixture
def run(servers: tuple[str, str], tmp_path: Path):
    """Run the child with a clean, Lambda-like environment; returns its report."""
    mem0_url, invoke_url = servers

    def go(job: dict[str, Any], **extra_env: str) -> dict[str, Any]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT / "src"),
            "MEM0_TELEMETRY": "false",
            "MEM0_DIR": str(tmp_path / "mem0"),
            "MEM0_API_KEY": MEM0_KEY,
            "MEM0_HOST": mem0_url,
            "ELEVENLABS_WORKSPACE_KEY": WORKSPACE_KEY,
            "ELEVENLABS_HMAC_KEY": HMAC_KEY,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL_LAMBDA": invoke_url,
            "MEMORY_AGENT_IDS": "*",
            **extra_env,
        }
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("HYGIENE ")]
        assert done.returncode == 0, done.stderr[-3000:]
        assert lines, done.stderr[-3000:]
        report = json.loads(lines[-1].removeprefix("HYGIENE "))
        report["modules"] = set(report["modules"])
        return report

    return go


def initiation() -> dict[str, Any]:
    return http_event("/client-data", {"caller_id": "+16129782029"}, {"x-workspace-key": WORKSPACE_KEY})


def search() -> dict[str, Any]:
    return http_event(
        "/retrieve", {"query": "last order", "user_id": "+16129782029"}, {"x-workspace-key": WORKSPACE_KEY}
    )


def webhook() -> dict[str, Any]:
    body = post_call_body()
    return http_event("/post-call", body, signed_headers(body))


def aws_sdk_modules(modules: set[str]) -> list[str]:
    """boto3 and botocore's SDK modules. The bare ``botocore`` package is left out: Powertools imports it
    (for its user-agent hook; its ``__init__`` costs well under a millisecond) but loads none of the SDK."""
    return sorted(m for m in modules if m == "boto3" or m.startswith(("boto3.", "botocore.")))


@pytest.mark.parametrize(
    ("module", "make_event"),
    [("client_data.handler", initiation), ("retrieve.handler", search), ("post_call.handler", webhook)],
)
def test_no_heavy_module_after_a_request(run, module, make_event):
    report = run({"module": module, "events": [make_event()]})
    assert report["statuses"] == [200]
    assert not report["modules"] & set(HEAVY)
    assert "posthog" not in report["modules"]


def test_the_worker_loads_nothing_heavy_either(run):
    report = run({"module": "post_call.handler", "events": [load_event("post_call_job.json")]})
    assert report["statuses"] == ["written"]
    assert "mem0.client.main" in report["modules"]
    assert not report["modules"] & set(HEAVY)


@pytest.mark.parametrize(("module", "make_event"), [("client_data.handler", initiation), ("retrieve.handler", search)])
def test_interactive_functions_never_load_the_post_call_code(run, module, make_event):
    # Given a fresh process serving one request of client_data or retrieve
    report = run({"module": module, "events": [make_event()]})
    # Then the post-call code (the job, its writes, the webhook's eleven payload models) was never loaded
    assert report["statuses"] == [200]
    assert not report["modules"] & {
        "agentic_memory.domain.job",
        "agentic_memory.domain.memory_writes",
        "agentic_memory.domain.conversation",
        "agentic_memory.domain.redaction",
    }
    assert {
        "agentic_memory.edge.requests",
        "agentic_memory.domain.memory_labels",
        "agentic_memory.stores.tls",
    } <= report["modules"]


def test_retrieve_never_loads_the_caller_profile(run):
    # Given a fresh process serving one tool call (the profile is client_data's and the worker's; retrieve
    # reads only our lines' marks, through the profile reader)
    report = run({"module": "retrieve.handler", "events": [search()]})
    # Then the profile code (the document and the worker's merge and writes) was never loaded
    assert report["statuses"] == [200]
    assert "agentic_memory.stores.profile_reader" in report["modules"]
    assert not report["modules"] & {
        "agentic_memory.domain.profile",
        "agentic_memory.stores.profile_table",
    }


MODELS_AFTER_INIT = """
import importlib
importlib.import_module("{handler}")
from agentic_memory.edge import requests as elevenlabs
result = {{
    "initiation": elevenlabs.InitiationRequest.__pydantic_complete__,
    "retrieve": elevenlabs.RetrieveRequest.__pydantic_complete__,
}}
"""


@pytest.mark.parametrize(
    ("handler", "built"),
    [
        ("client_data.handler", {"initiation": True, "retrieve": False}),
        ("retrieve.handler", {"initiation": False, "retrieve": True}),
    ],
)
def test_each_interactive_function_builds_only_its_own_request_model_at_init(run, handler, built):
    # Given a fresh process that has only imported the handler (Lambda's init phase)
    report = run({"code": MODELS_AFTER_INIT.format(handler=handler)})
    # Then the request model it serves is built already, and the other one's validator never is
    assert report["result"] == built


def test_the_post_call_function_loads_its_code_at_init(run):
    # Given a fresh process serving the signed webhook
    report = run({"module": "post_call.handler", "events": [webhook()]})
    # Then the job code and the webhook's models are loaded (the handler imports them, at init)
    assert report["statuses"] == [200]
    assert {"agentic_memory.domain.job", "agentic_memory.domain.conversation"} <= report["modules"]


@pytest.mark.parametrize(("module", "make_event"), [("client_data.handler", initiation), ("retrieve.handler", search)])
def test_interactive_functions_never_load_the_aws_sdk(run, module, make_event):
    report = run({"module": module, "events": [make_event()]})
    assert report["statuses"] == [200]
    assert aws_sdk_modules(report["modules"]) == []


def test_client_data_reads_the_caller_profile_without_the_aws_sdk(run, moto_server):
    # Given a profile table holding the caller's profile (moto's DynamoDB server)
    import boto3

    from agentic_memory.domain import profile
    from tests.conftest import TABLES

    table = "hygiene-profiles"
    client = boto3.client("dynamodb", endpoint_url=moto_server)
    if table not in client.list_tables()["TableNames"]:
        TABLES["PROFILE_TABLE"].create(client, table)
    doc = profile.empty_doc() | {"name": "Maria", "calls": 1, "last": {"started": 1, "conversation_id": "c"}}
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": "+16129782029"},
            "sk": {"S": "shared"},
            "kind": {"S": "profile"},
            "version": {"N": "1"},
            "doc": {"S": json.dumps(doc)},
        },
    )
    # When client_data serves the caller in a fresh process
    report = run(
        {"module": "client_data.handler", "events": [initiation()]},
        PROFILE_TABLE=table,
        AWS_ENDPOINT_URL_DYNAMODB=moto_server,
    )
    # Then it answered from the profile with a signed httpx request: no boto3, no botocore SDK module
    assert report["statuses"] == [200]
    assert report["sources"] == ["profile"]
    assert "httpx_auth" in report["modules"]
    assert aws_sdk_modules(report["modules"]) == []


def test_the_webhook_acknowledges_without_the_aws_sdk_or_mem0(run):
    # Given credentials in the environment, as Lambda gives them
    report = run({"module": "post_call.handler", "events": [webhook()]})
    # Then the self-invoke went out as signed httpx (aws.py): no boto3, no botocore SDK module
    assert report["statuses"] == [200]
    assert "httpx_auth" in report["modules"]
    assert aws_sdk_modules(report["modules"]) == []
    assert "mem0.client.main" not in report["modules"]  # only the worker needs mem0
    # and none of the worker's modules: they load with the first event of the function's own (worker.events)
    assert sorted(m for m in report["modules"] if m.startswith("agentic_memory.worker.")) == [
        "agentic_memory.worker.events"
    ]


def test_the_webhook_falls_back_to_boto3_without_credentials_in_the_environment(run, servers):
    # Given a runtime that serves credentials from a container endpoint instead (as SnapStart does)
    report = run(
        {"module": "post_call.handler", "events": [webhook()]},
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{servers[1]}/credentials",
    )
    # Then the self-invoke is made with boto3 (imported on first use, in aws.py), and accepted
    assert report["statuses"] == [200]
    assert "boto3" in report["modules"]
    assert "mem0.client.main" not in report["modules"]


def test_loader_was_checked_against_the_installed_mem0ai():
    # Revisit agentic_memory.stores.mem0_loader (and its telemetry stand-in) before changing this pin.
    assert importlib.metadata.version("mem0ai") == mem0_import.CHECKED_MEM0AI


LOADER = """
import sys
from agentic_memory.stores import mem0
client = mem0._memory_client_class()
package = sys.modules["mem0"]
result = {
    "class": f"{client.__module__}.{client.__qualname__}",
    "defined_there": client is sys.modules["mem0.client.main"].MemoryClient,
    "package_has_memory": hasattr(package, "Memory"),
    "oss_memory_imported": "mem0.memory.main" in sys.modules,
    "real_telemetry": hasattr(sys.modules["mem0.memory.telemetry"], "AnonymousTelemetry"),
    "version": package.__version__,
}
"""


def test_lean_loader_yields_the_platform_client_without_mem0_init(run):
    report = run({"code": LOADER})
    assert report["result"] == {
        "class": "mem0.client.main.MemoryClient",
        "defined_there": True,
        "package_has_memory": False,  # mem0/__init__.py did not run
        "oss_memory_imported": False,
        "real_telemetry": False,  # telemetry off: the stand-in, so PostHog is never imported
        "version": importlib.metadata.version("mem0ai"),
    }
    assert not report["modules"] & {*HEAVY, "posthog"}


def test_with_telemetry_on_mem0s_own_telemetry_module_is_used(run):
    report = run({"code": LOADER}, MEM0_TELEMETRY="true")
    assert report["result"]["real_telemetry"] is True
    assert report["result"]["package_has_memory"] is False
    assert not report["modules"] & set(HEAVY)
