"""The layout's import rules (docs/architecture.md, "The layout") are checked, not hoped for.

import-linter reads its contracts from pyproject.toml; these tests run it on the source tree, and on a copy
where one module gains a forbidden import, to show that such a change fails with the rule's name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over ``tree`` (a folder holding ``src/`` and ``pyproject.toml``)."""
    return subprocess.run(  # nosec B603
        # Through this interpreter, not the script's shebang: a virtualenv shared between worktrees may name
        # an interpreter path that no longer exists there.
        [sys.executable, str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree / "src"), "NO_COLOR": "1", "COLUMNS": "200"},
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src" / "agentic_memory", tmp_path / "src" / "agentic_memory")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / "src" / Path(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{statement}  # noqa\n")


def test_the_source_tree_keeps_every_contract():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
    assert "4 kept" in done.stdout


@pytest.mark.parametrize(
    ("module", "statement", "rule"),
    [
        ("agentic_memory.domain.names", "from agentic_memory.stores import mem0", "the domain does no I/O"),
        ("agentic_memory.domain.identity", "import httpx", "the domain does no I/O"),
        ("agentic_memory.worker.reconcile", "from agentic_memory.edge import post_call", "edge, worker and operator"),
        ("agentic_memory.stores.mem0", "from agentic_memory.edge import http", "edge, worker and operator"),
        ("agentic_memory.edge.retrieve", "from agentic_memory.domain import job", "never load the post-call code"),
        ("agentic_memory.edge.client_data", "import concurrent.futures", "bounds an outside call only"),
    ],
)
def test_a_forbidden_import_fails_naming_the_rule(tree_copy, module, statement, rule):
    # Given a copy of the tree where one module gains an import its folder may not make
    add_import(tree_copy, module, statement)
    # When the linter runs over it
    done = lint_imports(tree_copy)
    # Then it fails, and the broken contract is the one that rule names
    assert done.returncode != 0
    broken = [line for line in done.stdout.splitlines() if line.rstrip().endswith("BROKEN")]
    assert broken, done.stdout[-3000:]
    assert any(rule in line for line in broken), broken
