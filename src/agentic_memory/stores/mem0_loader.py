"""mem0ai's ``MemoryClient`` imported without the parts of mem0ai the HTTP client never runs.

Standard library only, so a process can load mem0's client the lean way without the rest of this
package (scripts/bench.py's "libraries alone" arm does). ``agentic_memory.stores.mem0`` decides whether
telemetry is on and builds the client; this module only imports it. What each step saves is in
docs/performance.md ("What keeps the cold start short", items 1-3).

* ``import mem0`` runs ``mem0/__init__.py``, which also imports the open-source ``Memory`` stack
  (qdrant_client, numpy, grpc, sqlalchemy, openai): about a second of cold start that the HTTP client
  never uses. ``memory_client_class`` registers the ``mem0`` package from its spec without running
  that file, sets ``__version__`` as the file does, then imports only ``mem0.client.main``. Upstream
  fix, not yet released: https://github.com/mem0ai/mem0/pull/6165.
* With telemetry off it stands in for ``mem0.memory.telemetry``, whose import loads PostHog (~50 ms)
  to build a client that then does nothing.
* ``mem0.client.main`` imports ``requests`` at module level for ``AsyncMemoryClient`` only: a stand-in
  imports it the first time an attribute is used.

Checked against mem0ai 2.2.1 (``CHECKED_MEM0AI``); tests/unit/test_import_hygiene.py fails when the
installed mem0ai differs or the lean import stops yielding ``mem0.client.main.MemoryClient``. If a
new layout breaks the lean import, the loader falls back to the full one: slow, but correct.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from types import ModuleType
from typing import Any

CHECKED_MEM0AI = "2.2.1"


class TelemetryOff:
    """What mem0's ``client_telemetry`` is when telemetry is off: no PostHog client, every call a no-op."""

    posthog = None
    user_id = None

    def capture_event(self, *args: Any, **kwargs: Any) -> None:
        return None

    def capture_identify(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def close(self) -> None:
        return None


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def telemetry_off_module() -> ModuleType:
    """A stand-in for ``mem0.memory.telemetry`` that never imports PostHog: the names mem0ai 2.2.1's
    client imports from it, each inert. A mem0ai that imports more names fails the lean import, and
    ``memory_client_class`` then falls back to the full one."""
    module = ModuleType("mem0.memory.telemetry")
    module.MEM0_TELEMETRY = False  # type: ignore[attr-defined]
    module.client_telemetry = TelemetryOff()  # type: ignore[attr-defined]
    module.capture_client_event = _noop  # type: ignore[attr-defined]
    module.capture_event = _noop  # type: ignore[attr-defined]
    return module


class ImportOnUse(ModuleType):
    """Stands in for a module until one of its attributes is used, then imports it (and leaves it in
    ``sys.modules``). A stdlib ``LazyLoader`` would not do: on Python 3.12 the ``import`` statement reads
    the module's ``__spec__``, which triggers the load; here ``__spec__`` is a plain attribute."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def memory_client_class(*, telemetry: bool) -> type:
    """``mem0.client.main.MemoryClient``, imported without ``mem0/__init__.py``'s heavy imports.

    ``telemetry``: False stands in for ``mem0.memory.telemetry`` (PostHog is never imported); True uses
    mem0's own module, which needs PostHog installed. Idempotent: a second call returns the class
    already loaded. Raises ``ImportError`` only when even the full ``from mem0 import MemoryClient`` fails.
    """
    if "mem0" not in sys.modules:
        spec = importlib.util.find_spec("mem0")
        if spec is not None and spec.submodule_search_locations:
            package = importlib.util.module_from_spec(spec)
            package.__version__ = importlib.metadata.version("mem0ai")
            sys.modules["mem0"] = package
            if not telemetry:
                sys.modules["mem0.memory.telemetry"] = telemetry_off_module()
    lazy = sys.modules.setdefault("requests", ImportOnUse("requests"))
    try:
        from mem0.client.main import MemoryClient
    except ImportError:  # a future layout: pay for the full import rather than fail
        for name in [name for name in sys.modules if name == "mem0" or name.startswith("mem0.")]:
            del sys.modules[name]
        from mem0 import MemoryClient
    finally:  # later imports of requests get the real module; mem0's reference imports it when used
        if sys.modules.get("requests") is lazy and isinstance(lazy, ImportOnUse):
            del sys.modules["requests"]
    return MemoryClient
