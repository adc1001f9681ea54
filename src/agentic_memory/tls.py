"""One TLS context for every httpx client of a container.

Each ``httpx.Client`` builds its own ``ssl.SSLContext`` by default, loading certifi's CA bundle again:
about 16 ms per client on the development machine (docs/performance.md). ``client_data`` holds two
clients (Mem0, and DynamoDB for the caller profile), so sharing one context keeps that cost once in
its cold start. An ``SSLContext`` may serve many clients and threads; it holds no connection.
"""

from __future__ import annotations

import threading
from typing import Any

_context: Any = None
_lock = threading.Lock()


def context() -> Any:
    """The container's ``ssl.SSLContext`` as httpx makes it by default (certifi's CA bundle, and the
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` overrides httpx honours), made on first use."""
    global _context
    with _lock:
        if _context is None:
            import httpx

            _context = httpx.create_ssl_context()
        return _context
