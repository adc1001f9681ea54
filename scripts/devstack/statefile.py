"""Where a running `make dev` says what it is: ``.local/<port>/dev-stack.json`` (standard library only).

Each port has its own data directory under ``.local/`` (its Mem0 store, dead letters and state file),
so two stacks side by side (`make dev` and `make dev PORT=3001`) never share or delete each other's
files. The state file exists while the stack runs; a stack that was killed leaves a stale one behind,
which `is_live` tells apart (the process is gone or its port no longer answers).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = ROOT / ".local"
STATE_FILE = "dev-stack.json"


# The AWS environment of a local stack and of the tools that talk to it: dummy credentials (botocore
# signs every request) and nothing that could send boto3 to a real account or endpoint.
LOCAL_REGION = "us-east-1"
# Not a secret: a placeholder that only local endpoints ever see.
DUMMY = "local"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": DUMMY, "AWS_SECRET_ACCESS_KEY": DUMMY}
AWS_VARIABLES_DROPPED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


def local_aws_environment(region: str = LOCAL_REGION) -> dict[str, str]:
    """Variables that keep boto3 on this machine: dummy credentials, a region, no ~/.aws files."""
    return {
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # No profile, SSO or endpoint setting from ~/.aws may apply to the local stack.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


class StateError(RuntimeError):
    """A state file that cannot be used; the message is one line for the operator."""


def data_dir_for(port: int, local_dir: Path | None = None) -> Path:
    """The default data directory of the stack on ``port``: ``.local/<port>``."""
    return (local_dir or LOCAL_DIR) / str(port)


def state_path_for(port: int, local_dir: Path | None = None) -> Path:
    return data_dir_for(port, local_dir) / STATE_FILE


def write(path: Path, state: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``state``, readable by its owner only (it names a local key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(state, indent=2) + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_if_ours(path: Path, pid: int) -> bool:
    """Delete ``path`` only when it still names process ``pid``: another stack's file stays."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(state, dict) or state.get("pid") != pid:
        return False
    path.unlink(missing_ok=True)
    return True


def read(path: Path) -> dict[str, Any]:
    """The state in ``path``; StateError when it is missing or not a state file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(f"{shown(path)} does not exist") from None
    except OSError as exc:
        raise StateError(f"cannot read {shown(path)}: {exc.strerror}") from None
    try:
        state = json.loads(text)
    except ValueError:
        raise StateError(f"{shown(path)} is not a make dev state file (not JSON)") from None
    if not isinstance(state, dict) or not isinstance(state.get("api_url"), str):
        raise StateError(f"{shown(path)} is not a make dev state file (no api_url)")
    return state


def _process_exists(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _answers(url: str, timeout: float = 0.5) -> bool:
    split = urlsplit(url)
    host = split.hostname or "127.0.0.1"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:  # a stack bound to every address answers on loopback
            host = "127.0.0.1"
    try:
        with socket.create_connection((host, split.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def is_live(state: dict[str, Any]) -> bool:
    """The stack that wrote ``state`` still runs: its process exists and its HTTP API accepts connections."""
    return _process_exists(state.get("pid")) and _answers(str(state.get("api_url", "")))


def running(local_dir: Path | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Every live stack with a state file under ``local_dir`` (default ``.local``), by port."""
    found = []
    for path in sorted((local_dir or LOCAL_DIR).glob(f"*/{STATE_FILE}")):
        try:
            state = read(path)
        except StateError:
            continue
        if is_live(state):
            found.append((path, state))
    return sorted(found, key=lambda item: int(item[1].get("port") or 0))


def shown(path: Path | str) -> str:
    """A path relative to the repository when it is inside it, for shorter messages."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(ROOT))
    except ValueError:
        return str(path)
