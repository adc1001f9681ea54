"""The one module that holds AWS clients, created on first use and reused while the container lives.
boto3 is imported here, lazily, so the functions that never call AWS never load it.

The post-call acknowledgement's self-invoke does not use boto3 when it can avoid it: importing boto3 and
building its Lambda client cost about 125 ms of that function's cold start (docs/performance.md), while
one Lambda ``Invoke`` is a single signed HTTP request. ``invoke_async`` sends it over httpx, signed with
httpx-auth's ``AWS4Auth`` (AWS Signature Version 4) with the credentials the Lambda runtime puts in the
environment, as the caller profile's read does (``profile._SignedReader``). Where the environment has no
credentials (SnapStart serves them from a container endpoint) boto3's client serves instead.

Endpoints follow boto3's own configuration (``AWS_ENDPOINT_URL_LAMBDA`` and friends, read by config.py
for the signed path), which is how ``make dev`` points the self-invoke at its local Lambda endpoint.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()

# botocore Config arguments per profile: the worker's (a job can wait) and a waiting caller's.
_PROFILES: dict[str, dict[str, Any]] = {
    "worker": {"connect_timeout": 2, "read_timeout": 5, "retries": {"max_attempts": 3, "mode": "standard"}},
    "interactive": {"connect_timeout": 0.3, "read_timeout": 0.5, "retries": {"max_attempts": 2, "mode": "standard"}},
}


def _boto3_client(service: str, profile: str) -> Any:
    key = f"{service}#{profile}"
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                import boto3
                from botocore.config import Config

                found = _clients[key] = boto3.client(service, config=Config(**_PROFILES[profile]))
    return found


def client(service: str) -> Any:
    """The container's boto3 client for ``service``: connect 2 s, read 5 s, 3 attempts."""
    return _boto3_client(service, "worker")


def interactive_client(service: str) -> Any:
    """A client for a request a caller waits on: short timeouts, one retry. Cached like ``client``."""
    return _boto3_client(service, "interactive")


def reset_clients() -> None:
    """Drop every boto3 client (tests; SnapStart's after-restore hook)."""
    with _lock:
        _clients.clear()
