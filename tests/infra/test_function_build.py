"""The functions' code as ``sam build`` builds it (src/Makefile): every module with its bytecode.

/var/task is read-only on Lambda, so a module shipped without bytecode is compiled at every cold start
(docs/performance.md). The recipe runs here as SAM runs it, into a temporary directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow

FUNCTIONS = ("ClientDataFunction", "RetrieveFunction", "PostCallFunction")
PACKAGES = ("agentic_memory", "client_data", "retrieve", "post_call")


def build(function: str, artifacts: Path) -> Path:
    makefile = ROOT / "src" / "Makefile"
    subprocess.run(  # nosec B603 B607
        ["make", "--no-print-directory", "-f", str(makefile), f"build-{function}", *recipe_variables(artifacts)],
        check=True,
        cwd=ROOT / "src",
        capture_output=True,
    )
    return artifacts


def recipe_variables(artifacts: Path) -> list[str]:
    return [f"ARTIFACTS_DIR={artifacts}", f"LAYER_PYTHON={sys.executable}"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("ClientDataFunction", tmp_path_factory.mktemp("function"))


def sources() -> list[Path]:
    return sorted(
        path.relative_to(ROOT / "src") for package in PACKAGES for path in (ROOT / "src" / package).rglob("*.py")
    )


def test_sam_builds_each_function_with_the_makefile(raw):
    makefile = (ROOT / "src" / "Makefile").read_text()
    for function in FUNCTIONS:
        resource = raw["Resources"][function]
        assert resource["Properties"]["CodeUri"] == "src/"
        assert resource["Metadata"]["BuildMethod"] == "makefile"
        assert function in makefile  # its build-<function> target


def test_every_module_ships_with_bytecode_that_is_never_revalidated(built):
    shipped = sorted(path.relative_to(built) for path in built.rglob("*.py"))
    assert shipped == sources()
    for source in shipped:
        pyc = built / source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, source  # PEP 552: hash-based, unchecked (zip timestamps must not invalidate it)
    assert not list(built.glob("Makefile"))


def test_the_functions_run_from_that_bytecode_without_reading_the_sources(tmp_path):
    # Given a built function whose shared package's source was then broken (the .pyc is left as built)
    built = build("PostCallFunction", tmp_path)
    (built / "agentic_memory" / "edge" / "post_call.py").write_text("this is not python\n")
    # When a fresh interpreter that may write no bytecode (/var/task is read-only) imports the handler
    done = subprocess.run(  # nosec B603
        [sys.executable, "-B", "-c", "import post_call.handler"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(built), "MEM0_TELEMETRY": "false"},
        cwd=tmp_path,
    )
    # Then it loads: the bytecode is used as shipped, never checked against the source
    assert done.returncode == 0, done.stderr[-2000:]
