"""`make deploy` stops at once, before any install or build, when samconfig.toml cannot deploy
(scripts/deploy_check.py), and says what to do in one line; `make clean` leaves no benchmark output."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import deploy_check
import pytest

ROOT = deploy_check.ROOT
EXAMPLE = ROOT / "samconfig.toml.example"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """samconfig.toml as an operator makes it: the example with the Mem0 key and the agents filled in."""
    path = tmp_path / "samconfig.toml"
    text = EXAMPLE.read_text().replace("m0-REPLACE_ME", "m0-Rt5yU8iO2pA4sD6fG9hJkL")
    path.write_text(text.replace("agent_REPLACE_ME", "agent_01jx7q3b4m2n"))
    return path


def test_the_parameters_without_a_default_are_read_from_the_template():
    from standins.sam_template import Template

    parameters = Template.read().document["Parameters"]
    expected = tuple(name for name, spec in parameters.items() if "Default" not in spec)
    assert expected == deploy_check.REQUIRED_PARAMETERS
    assert {"Mem0ApiKey", "MemoryAgentIds"} <= set(expected)


def test_a_filled_in_example_may_deploy(config):
    assert deploy_check.problem(config) is None
    assert deploy_check.main(["--config", str(config)]) == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda text: None, "not found: copy samconfig.toml.example"),
        (lambda text: text.replace("m0-Rt5yU8iO2pA4sD6fG9hJkL", "m0-REPLACE_ME"), "still holds REPLACE_ME in"),
        (lambda text: text.replace('stack_name = "agentic-memory"', ""), "names no stack"),
        (lambda text: text.replace('Mem0ApiKey="m0-Rt5yU8iO2pA4sD6fG9hJkL" ', ""), "has no Mem0ApiKey"),
        (lambda text: text.replace('MemoryAgentIds="agent_01jx7q3b4m2n" ', ""), "has no MemoryAgentIds"),
        (lambda text: text + "[broken\n", "is not valid TOML"),
    ],
)
def test_what_cannot_deploy_is_one_line_and_exit_2(config, capsys, change, expected):
    # Given samconfig.toml missing or unfinished, When make deploy starts, Then it stops with one line
    changed = change(config.read_text())
    if changed is None:
        config.unlink()
    else:
        config.write_text(changed)
    assert deploy_check.main(["--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("make deploy: ")
    assert expected in err


def test_the_example_itself_is_refused_before_the_build():
    assert "REPLACE_ME" in deploy_check.problem(EXAMPLE)


def test_make_deploy_checks_first_and_make_clean_removes_bench_results():
    # The check is deploy's first prerequisite, so make runs it before installing the SAM CLI or building
    makefile = (ROOT / "Makefile").read_text()
    (prerequisites,) = re.findall(r"^deploy: (.*?) ##", makefile, re.MULTILINE)
    assert prerequisites.split()[0] == "deploy-check"
    dry = subprocess.run(["make", "-n", "deploy-check"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "scripts/deploy_check.py" in dry.stdout
    clean = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "bench-results" in clean.stdout
