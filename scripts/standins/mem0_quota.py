"""Mem0's rate limit, as the local Mem0 stand-in (`standins.mem0`) enforces it: off unless configured.

What Mem0 documents (../shared/platform-notes/mem0.md section 3, refresh-2026-12.md M3, DESIGN.md section 4):
one published number, "Updated rate limiting for ADD API to 1000/min" (platform changelog, 2025-06-27), a
limit on search with no number ("New rate limit for V2 Search", 2025-07-11), quotas "per workspace"
(add.mdx), and a throttled request answered HTTP 429. mem0ai 2.2.1 turns the 429 into `RateLimitError`
and copies an integer `Retry-After` header into `debug_info["retry_after"]` (`mem0/client/utils.py`,
`_handle_http_error`; a header that is not an integer is dropped); the SDK itself never retries.

So the stand-in keeps two budgets per project, each `count` requests per `seconds`: adds (`POST
/v3/memories/add/`) and every other API request. Mem0 does not say how its minute is counted; the
stand-in takes the strictest reading, a sliding window (at most `count` requests admitted in any
`seconds`-long interval), so a client that keeps within it keeps within a fixed-minute counter too. A
request beyond the budget gets 429 with `Retry-After` in whole seconds (RFC 9110 section 10.2.3: a
delta-seconds integer) until the oldest admitted request leaves the window, rounded up, and no
`X-RateLimit-*` headers (Mem0 does not document sending them, so nothing of ours may rely on them). A
refused request does not use the budget. Every request asked, admitted or not, is also recorded so that
`peaks()` reports the most requests asked in any window: what a client asked of Mem0, not only what it
got through.

Time can be compressed for tests: a limit reads `200/min`, `200/60s` or `200/6s` (a "minute" of six
seconds: ten times faster, everything else scaled alike by the caller).
"""

from __future__ import annotations

import math
import re
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ADD = "add"
OTHER = "other"
KINDS = (ADD, OTHER)
MAX_RECORDED = 200_000  # asked requests kept per kind for peaks(); far more than any local run makes
_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(?:(min|minute|s|sec|second)|(\d+(?:\.\d+)?)\s*s)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` requests in any ``seconds``-long window."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str | None) -> Limit | None:
        """``"200/min"``, ``"200/60s"``, ``"5/s"`` or ``"200/6s"`` -> a Limit; empty, ``"off"`` or ``"0/min"`` ->
        None (no limit). Raises ValueError for anything else."""
        if text is None or not str(text).strip() or str(text).strip().lower() in ("off", "none"):
            return None
        match = _LIMIT.fullmatch(str(text))
        if match is None:
            raise ValueError(f"a limit reads like 200/min, 200/60s or 200/6s, not {text!r}")
        count = int(match.group(1))
        unit, seconds = match.group(2), match.group(3)
        window = 60.0 if unit and unit.lower().startswith("min") else 1.0 if unit else float(seconds)
        if window <= 0:
            raise ValueError("a limit's window must be longer than 0 seconds")
        return cls(count, window) if count > 0 else None

    def __str__(self) -> str:
        return f"{self.count}/min" if self.seconds == 60 else f"{self.count}/{self.seconds:g}s"


class Quota:
    """The two budgets, shared by every request thread of one stand-in (one Mem0 project)."""

    def __init__(
        self,
        adds: Limit | None = None,
        requests: Limit | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._limits: dict[str, Limit | None] = {ADD: adds, OTHER: requests}
        self._admitted: dict[str, deque[float]] = {kind: deque() for kind in KINDS}
        self._asked: dict[str, deque[float]] = {kind: deque(maxlen=MAX_RECORDED) for kind in KINDS}
        self._throttled = dict.fromkeys(KINDS, 0)

    @staticmethod
    def kind_of(method: str, path: str) -> str:
        """Which budget a request uses: ``add`` for ``POST /v3/memories/add/``, ``other`` for the rest."""
        return ADD if (method, path.rstrip("/") + "/") == ("POST", "/v3/memories/add/") else OTHER

    def configure(self, **limits: Any) -> dict[str, Any]:
        """Set ``add_limit`` and/or ``request_limit`` (a Limit, a string for ``Limit.parse``, or None); the
        windows start afresh. Returns ``settings()``."""
        unknown = set(limits) - {"add_limit", "request_limit"}
        if unknown:
            raise ValueError(f"unknown quota setting(s) {', '.join(sorted(unknown))}; known: add_limit, request_limit")
        parsed = {
            name: value if isinstance(value, Limit) or value is None else Limit.parse(value)
            for name, value in limits.items()
        }
        with self._lock:
            if "add_limit" in parsed:
                self._limits[ADD] = parsed["add_limit"]
                self._admitted[ADD].clear()
            if "request_limit" in parsed:
                self._limits[OTHER] = parsed["request_limit"]
                self._admitted[OTHER].clear()
        return self.settings()

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return {
                "add_limit": str(self._limits[ADD]) if self._limits[ADD] else None,
                "request_limit": str(self._limits[OTHER]) if self._limits[OTHER] else None,
            }

    def admit(self, method: str, path: str) -> int | None:
        """Count one request; ``None`` when it is within its budget, else the ``Retry-After`` seconds (an
        integer, at least 1) of its 429."""
        kind = self.kind_of(method, path)
        with self._lock:
            now = self._clock()
            self._asked[kind].append(now)
            limit = self._limits[kind]
            if limit is None:
                return None
            admitted = self._admitted[kind]
            while admitted and admitted[0] <= now - limit.seconds:
                admitted.popleft()
            if len(admitted) < limit.count:
                admitted.append(now)
                return None
            self._throttled[kind] += 1
            return max(1, math.ceil(admitted[0] + limit.seconds - now))

    def peaks(self) -> dict[str, dict[str, Any]]:
        """Per budget: its limit, the most requests *asked* in any window of the limit's length (refused
        ones included; a 60 s window when there is no limit), how many were asked in all and how many got
        a 429."""
        with self._lock:
            limits = dict(self._limits)
            asked = {kind: list(times) for kind, times in self._asked.items()}
            throttled = dict(self._throttled)
        report = {}
        for kind in KINDS:
            limit = limits[kind]
            window = limit.seconds if limit else 60.0
            report[kind] = {
                "limit": limit.count if limit else None,
                "window_seconds": window,
                "peak": peak_in_window(asked[kind], window),
                "asked": len(asked[kind]),
                "throttled": throttled[kind],
            }
        return report

    def reset_counters(self) -> None:
        """Forget what was asked and refused (the budgets' windows too)."""
        with self._lock:
            for kind in KINDS:
                self._asked[kind].clear()
                self._admitted[kind].clear()
                self._throttled[kind] = 0


def peak_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` (sorted, seconds) inside any half-open interval ``(t - window, t]``: the sliding
    window a limit of ``window`` seconds counts in."""
    best = 0
    for end, moment in enumerate(times):
        start = bisect_right(times, moment - window, 0, end + 1)
        best = max(best, end - start + 1)
    return best
