"""The one module that holds boto3 clients, created on first use and reused while the container
lives. boto3 is imported here, lazily, so the functions that never call AWS never load it.

Endpoints follow boto3's own configuration (``AWS_ENDPOINT_URL_LAMBDA`` and friends), which is how
``make dev`` points the unchanged self-invoke at its local Lambda endpoint.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                import boto3
                from botocore.config import Config

                found = _clients[service] = boto3.client(
                    service,
                    config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}),
                )
    return found


def invoke_async(function_name: str, payload: bytes) -> None:
    """Queue ``payload`` for ``function_name`` (``InvocationType="Event"``); raise if Lambda did not accept it."""
    response = client("lambda").invoke(FunctionName=function_name, InvocationType="Event", Payload=payload)
    status = response.get("StatusCode")
    if status != 202:
        raise RuntimeError(f"Lambda answered {status} to an asynchronous invoke")


def reset_clients() -> None:
    with _lock:
        _clients.clear()
