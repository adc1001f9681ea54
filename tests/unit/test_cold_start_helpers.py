"""Two cold-start helpers: the module stand-in of the lean Mem0 loader and the handlers' init phase.

What they save is measured by scripts/bench.py (docs/performance.md); here, that they change nothing
else. tests/infra/test_layer.py checks the loader end to end, in the built layer.
"""

from __future__ import annotations

import gc
import importlib
import sys

import pytest

from agentic_memory import startup
from agentic_memory.stores import mem0_loader as mem0_import


@pytest.fixture
def unimported(monkeypatch: pytest.MonkeyPatch):
    """A standard-library package that nothing has imported in this process yet, forgotten afterwards."""
    names = ("wsgiref", "wsgiref.util", "wsgiref.headers")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield "wsgiref"
    for name in names:
        sys.modules.pop(name, None)


def test_a_stand_in_imports_the_real_module_when_an_attribute_is_first_used(monkeypatch, unimported):
    # Given a stand-in where the module would be, bound the way `import wsgiref` binds it
    stand_in = mem0_import.ImportOnUse(unimported)
    monkeypatch.setitem(sys.modules, unimported, stand_in)
    bound = importlib.import_module(unimported)
    assert bound is stand_in
    # When an attribute is used
    util = importlib.import_module("wsgiref.util")  # a submodule import asks the parent for __path__
    # Then the real package took the stand-in's place and serves every attribute through the old binding
    real = sys.modules[unimported]
    assert real is not stand_in
    assert isinstance(real.__path__, list)
    assert util.guess_scheme({"HTTPS": "on"}) == "https"
    assert bound.util is real.util


def test_a_stand_in_never_used_imports_nothing(monkeypatch, unimported):
    # Given a stand-in, bound by an import
    monkeypatch.setitem(sys.modules, unimported, mem0_import.ImportOnUse(unimported))
    bound = importlib.import_module(unimported)
    # Then, as long as no attribute is used, the real module is not imported (type() reads no attribute)
    assert type(bound) is mem0_import.ImportOnUse
    assert type(sys.modules[unimported]) is mem0_import.ImportOnUse


def test_the_init_phase_pauses_collection_then_freezes_and_resumes_it(monkeypatch):
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(gc.isenabled()))
    assert gc.isenabled()
    with startup.init_phase():
        assert not gc.isenabled()
        assert frozen == []
    assert frozen == [False]  # frozen before collection resumes
    assert gc.isenabled()


def test_the_init_phase_resumes_collection_when_loading_fails(monkeypatch):
    monkeypatch.setattr(gc, "freeze", lambda: None)
    with pytest.raises(ImportError), startup.init_phase():
        raise ImportError("a handler that cannot load")
    assert gc.isenabled()


def test_the_init_phase_leaves_a_disabled_collector_disabled(monkeypatch):
    monkeypatch.setattr(gc, "freeze", lambda: None)
    gc.disable()
    try:
        with startup.init_phase():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
