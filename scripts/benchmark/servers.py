"""The servers the benchmark runs as processes of their own, so they do not compete with the measured code
for the benchmark's GIL: the Mem0 stand-in (standins.mem0), a Lambda Invoke stub that only keeps the last
job, and moto's DynamoDB (standins.dynamodb). Each prints its URL on its first line of output.

Run one by hand: ``python -m benchmark.servers lambda-stub`` or ``... dynamodb`` (from scripts/).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess  # nosec B404
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmark.environments import MEM0_KEY, SCRIPTS


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


def _server_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SCRIPTS)}


def mem0_server() -> contextlib.AbstractContextManager[str]:
    """The Mem0 stand-in, in memory, taking MEM0_KEY; yields its URL."""
    command = [sys.executable, "-m", "standins.mem0", "--port", "0", "--db", ":memory:", "--api-key", MEM0_KEY]
    return started(command, _server_env())


def lambda_stub() -> contextlib.AbstractContextManager[str]:
    """The Lambda Invoke stub (``serve_lambda_stub``); yields its URL."""
    return started([sys.executable, "-m", "benchmark.servers", "lambda-stub"], _server_env())


def dynamodb() -> contextlib.AbstractContextManager[str]:
    """moto's DynamoDB (``serve_dynamodb``); yields its URL."""
    return started([sys.executable, "-m", "benchmark.servers", "dynamodb"], _server_env())


# The secrets the functions read from Secrets Manager on AWS (config.SECRET_VARIABLES), by variable.
STORED_SECRETS = ("MEM0_API_KEY", "ELEVENLABS_WORKSPACE_KEY", "ELEVENLABS_HMAC_KEY")


def secrets_environment(env: dict[str, str], aws_url: str) -> dict[str, str]:
    """``env`` as the deployed functions see it (template.yaml): each secret's value moved into moto's Secrets
    Manager at ``aws_url`` (a moto server serves every API it has, this one included) and only its ARN left,
    in ``<NAME>_SECRET_ARN``, with ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` pointing there."""
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=aws_url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    stored = {k: v for k, v in env.items() if k not in STORED_SECRETS}
    for name in STORED_SECRETS:
        arn = client.create_secret(Name=f"bench/{name.lower()}", SecretString=env[name])["ARN"]
        stored[f"{name}_SECRET_ARN"] = arn
    stored["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = aws_url
    return stored


class Mem0Admin:
    """The local Mem0 server's unauthenticated admin endpoints: knobs and request counts."""

    def __init__(self, url: str) -> None:
        self.url = url

    def delay(self, seconds: float) -> None:
        http_json("POST", f"{self.url}/_admin/knobs/", {"delay_seconds": seconds})

    def counts(self) -> dict[str, int]:
        return http_json("GET", f"{self.url}/_admin/stats/")["requests"]


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


def serve_dynamodb() -> int:
    """moto's DynamoDB server on a free port; prints its URL first (``started`` reads it)."""
    from standins.dynamodb import running_dynamodb

    with running_dynamodb() as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("server", choices=("lambda-stub", "dynamodb"))
    args = parser.parse_args(argv)
    return serve_lambda_stub() if args.server == "lambda-stub" else serve_dynamodb()


if __name__ == "__main__":
    sys.exit(main())
