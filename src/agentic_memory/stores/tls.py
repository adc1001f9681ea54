"""One TLS context for every httpx client of a container, its CA bundle loaded while the code loads.

Each ``httpx.Client`` builds its own ``ssl.SSLContext`` by default, loading certifi's CA bundle again:
about 16 ms per client on the development machine (docs/performance.md). ``client_data`` holds two
clients (Mem0, and DynamoDB for the caller profile), so sharing one context keeps that cost once in
its cold start. An ``SSLContext`` may serve many clients and threads; it holds no connection.

That one load is started on a thread at the top of a handler's init (``start``), before the code
loads: OpenSSL parses the bundle without holding Python's interpreter lock (CPython's ``_ssl``
releases it around ``SSL_CTX_load_verify_locations``), so on more than one core it runs while the
imports do. ``context`` waits for it. Standard library and certifi only: a handler imports this first.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

_context: ssl.SSLContext | None = None
_lock = threading.Lock()
_loading: threading.Thread | None = None
_loaded: dict[str, Any] = {}


def _where() -> dict[str, str]:
    """Where the CA certificates come from, as ``httpx.create_ssl_context()`` decides by default
    (httpx 0.28.1, ``httpx/_config.py``; tests/unit/test_tls.py holds the two to the same result):
    ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's bundle."""
    if os.environ.get("SSL_CERT_FILE"):
        return {"cafile": os.environ["SSL_CERT_FILE"]}
    if os.environ.get("SSL_CERT_DIR"):
        return {"capath": os.environ["SSL_CERT_DIR"]}
    import certifi

    return {"cafile": certifi.where()}


def _load(where: dict[str, str]) -> None:
    try:
        _loaded["context"] = ssl.create_default_context(**where)
    except BaseException as exc:  # handed to context(), which raises it where a client is built
        _loaded["error"] = exc


def start() -> None:
    """Begin loading the container's context on a daemon thread; a second call does nothing. Never
    raises: a failure surfaces from ``context``."""
    global _loading
    with _lock:
        if _loading is not None or _context is not None:
            return
        try:
            where = _where()  # in the caller's thread: certifi's lookup imports modules, the thread must not
        except Exception:
            return  # context() tries again and raises
        _loading = threading.Thread(target=_load, args=(where,), name="tls-context", daemon=True)
        _loading.start()


def context() -> ssl.SSLContext:
    """The container's ``ssl.SSLContext`` as httpx makes it by default (certifi's CA bundle, and the
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` overrides httpx honours): the one ``start`` began, else made
    now. Raises ``ssl.SSLError`` or ``OSError`` when the certificates cannot be loaded."""
    global _context, _loading
    with _lock:
        if _context is None:
            if _loading is not None:
                _loading.join()
                _loading = None
                found = _loaded.pop("context", None)
                _loaded.pop("error", None)  # made again below, so the error is raised here
                if found is not None:
                    _context = found
            if _context is None:
                _context = ssl.create_default_context(**_where())
        return _context
