"""What a function does once per container, while its handler module loads (Lambda's init phase).

Standard library only: a handler imports this before anything else.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def init_phase() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while the block runs, then freeze what it built.

    Loading the code creates some hundred thousand objects (modules, classes, pydantic schemas) that
    live as long as the container, and with the collector on, CPython walks the growing heap again
    and again while nothing is garbage yet: about a tenth of the import time (docs/performance.md).
    ``gc.freeze`` then moves those objects to the permanent generation, so the collections that run
    during requests skip them too (CPython's ``gc`` docs). The collector's previous state is restored
    even if the block raises.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
