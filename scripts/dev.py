"""Run the whole stack on this machine: `make dev` (no Docker, no AWS account, no Mem0 account).

    .venv/bin/python scripts/dev.py [--port 3000] [--data-dir .local] [--env-file .env]

Serves POST /client-data, /retrieve and /post-call (also under /Prod/) on 127.0.0.1, runs post-call
jobs through a local Lambda with retries and a dead-letter file, keeps idempotency records and caller
profiles in moto's DynamoDB and memories in a local Mem0 stand-in (SQLite) unless MEM0_API_KEY is set.
Each port keeps its own data in .local/<port>/ (Mem0 store, dead letters, and dev-stack.json while it
runs, which the scripts read to find it), so two stacks can run side by side.
See docs/local-development.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from devstack.envfile import parse_env_file  # noqa: E402
from devstack.stack import DevConfig, DevStack, StackError  # noqa: E402


def _delays(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated seconds, e.g. 1,2") from None
    if not delays or any(delay < 0 for delay in delays):
        raise argparse.ArgumentTypeError("comma-separated non-negative seconds, e.g. 1,2")
    return delays


def _port(explicit: int | None, env_file: Path) -> int:
    """--port, else PORT from the environment, else PORT from the .env file, else 3000."""
    if explicit is not None:
        return explicit
    raw = os.environ.get("PORT") or parse_env_file(env_file).get("PORT") or "3000"
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"dev.py: PORT must be a number, not {raw!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="HTTP API port (default: PORT, else 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--data-dir", type=Path, help="Mem0 store, dead letters and state file (default: .local/<port>)"
    )
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env", help="settings; created for new secrets")
    parser.add_argument(
        "--retry-delays",
        type=_delays,
        default=(1.0, 2.0),
        help="seconds before each retry of a failed post-call job (Lambda: about 60,120); default 1,2",
    )
    parser.add_argument("--drain-seconds", type=float, default=5.0, help="wait for running jobs on Ctrl-C")
    parser.add_argument(
        "--mem0-add-limit",
        help="the Mem0 stand-in answers 429 beyond this many adds, e.g. 200/min (or 200/6s: a compressed minute);"
        " default MEM0_STANDIN_ADD_LIMIT, else none",
    )
    parser.add_argument(
        "--mem0-request-limit", help="the same for every other Mem0 request; default MEM0_STANDIN_REQUEST_LIMIT"
    )
    args = parser.parse_args(argv)
    config = DevConfig(
        host=args.host,
        port=_port(args.port, args.env_file),
        data_dir=args.data_dir,
        env_file=args.env_file,
        retry_delays=args.retry_delays,
        drain_seconds=args.drain_seconds,
        mem0_add_limit=args.mem0_add_limit,
        mem0_request_limit=args.mem0_request_limit,
    )

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C must work even when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = DevStack(config)
    try:
        stack.start(STARTED)
    except StackError as exc:
        print(f"dev.py: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    print(stack.banner(), flush=True)
    try:
        # Short naps, not one long sleep: the kernel may deliver SIGINT/SIGTERM to any of the stack's
        # threads, and Python then runs the handler only once the main thread runs again.
        while True:
            time.sleep(0.25)
    except KeyboardInterrupt:
        pass

    def force(signum: int, frame: Any) -> None:
        print("dev.py: stopped without waiting", file=sys.stderr, flush=True)
        os._exit(130)

    signal.signal(signal.SIGINT, force)
    signal.signal(signal.SIGTERM, force)
    stack.log("stopping (Ctrl-C again to quit at once)")
    stack.close()
    stack.log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
