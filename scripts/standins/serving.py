"""What the local HTTP servers share: a listen backlog for bursts, a daemon thread, a clean close."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class BurstServer(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of callers (the load test, make bench) must queue, not be reset: the default backlog is 5.
    request_queue_size = 256


class BackgroundServer:
    """Serves ``httpd`` from a daemon thread. Binding happens when ``httpd`` is made, so a busy port
    has already failed (OSError) before this object exists."""

    thread_name = "server"

    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self._httpd = httpd
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
