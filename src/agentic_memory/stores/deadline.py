"""The one deadline helper: every outside call a caller waits on goes through ``within``.

httpx timeouts bound each phase of a request (connect, each read), not the whole: an answer that
trickles in one byte at a time never trips them. ``within`` bounds the whole, whatever the service
(Mem0, DynamoDB, ElevenLabs' API) does: the work runs on the container's pool for outside calls and the
caller stops waiting when its time is up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from agentic_memory.errors import Unavailable

POOL_THREADS = 64
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The container's pool for outside calls (built on first use, threads started as needed)."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="outside")
    return _pool


def within[T](seconds: float, work: Callable[[], T], *, service: str = "Mem0") -> T:
    """``work()``, or ``Unavailable`` once ``seconds`` have passed, whatever ``service`` does.

    An ``Unavailable`` that ``work`` raises (``MemoryUnavailable`` included) passes through as it is; any
    other exception becomes ``Unavailable`` naming ``service`` and the exception's type, never its text
    (it may hold a URL or a value). A work item still running at the deadline is left to finish on the
    pool; its result is dropped.
    """
    future = executor().submit(work)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        future.cancel()
        raise Unavailable(f"{service} did not answer within {seconds:.2f} s") from None
    except Unavailable:
        raise
    except Exception as exc:
        raise Unavailable(f"{service} failed: {type(exc).__name__}") from exc
