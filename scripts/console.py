"""The local console: a small web page that does what scripts/memory_admin.py does, for people who would
rather look than type.

    make console                                   # the running `make dev`, on a free port
    make console CONSOLE_PORT=3213                 # a port of your choosing
    python scripts/console.py --stack agentic-memory --listen-port 3213      # a deployed stack

It listens on 127.0.0.1 only and prints its URL once, with a random token made at this start: only that URL
works (src/agentic_memory/operator_tools/console_app.py says what else it checks). It uses your own AWS
credentials on a deployed stack (found as every script finds it: scripts/stackfind.py) or `make dev`'s
state, and adds no deployed API. Every view and change is recorded in the stack's audit trail with you as
its author (your AWS principal, or local:<user>). Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "src", ROOT / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import memory_admin  # noqa: E402
import stackfind  # noqa: E402

LOOPBACK = "127.0.0.1"  # never another interface: the console holds callers' data


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, app_factory: Any) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.app = app_factory(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "AgenticMemoryConsole"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # the URL holds the token: never logged
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 256 * 1024:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        response = self.server.app.handle(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


def serve(port: int, admin: Any, *, token: str | None = None) -> _Server:
    """A console server for ``admin`` on 127.0.0.1:``port`` (0: a free port), not yet serving."""
    from agentic_memory.operator_tools.console_app import ConsoleApp

    key = token or secrets.token_urlsafe(24)
    return _Server(port, lambda bound: ConsoleApp(admin, key, bound))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--listen-port", type=int, default=0, help="the console's port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env", help="settings when no stack is found")
    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)
    configured = memory_admin.configure(args)
    if isinstance(configured, int):
        return configured
    _, who = configured
    from agentic_memory.operator_tools.memory_admin import MemoryAdmin, Operator

    admin = MemoryAdmin(Operator(who=who, source="console"))
    try:
        server = serve(args.listen_port, admin)
    except OSError as exc:
        return stackfind.fail(f"cannot listen on {LOOPBACK}:{args.listen_port}: {exc.strerror}")
    if not admin.recording:
        print("warning: this stack has no audit table: what you do here is not recorded", file=sys.stderr)
    print(f"console for {who}: {server.app.url}", flush=True)
    print("open it in your browser; Ctrl-C stops it", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
