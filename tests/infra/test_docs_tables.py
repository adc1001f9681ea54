"""The README's parameter, variable and output lists say what template.yaml and config.py do (issue 24).

Read generically, so they hold after anyone adds a parameter or a setting: every parameter of template.yaml
is a row of the parameter table with its default; every variable config.py reads, and every one the template
sets in a function's environment, is a row of the configuration table; every row names something real; and
every output of the template is named in the README. A parameter or variable table in docs/ (a table with the
same header) may hold fewer rows, but only real names with the same defaults.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import validate_template

from agentic_memory import config

ROOT = Path(validate_template.ROOT)
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
PARAMETER_HEADER = "| parameter | default | meaning |"
VARIABLE_HEADER = "| variable | default | template | meaning |"
NAME = re.compile(r"`([A-Za-z][A-Za-z0-9_]*)`")
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def tables(text: str, header: str) -> list[list[list[str]]]:
    """Every markdown table of ``text`` that starts with ``header``: its rows, as lists of cell texts."""
    found = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip() != header:
            continue
        rows = []
        for row in lines[index + 2 :]:
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in row.strip().strip("|").split(" | ")])
        found.append(rows)
    return found


def names(cell: str) -> list[str]:
    return NAME.findall(cell)


def config_reads() -> set[str]:
    """The environment variables config.py reads: the literal first argument of each ``get``/``_number``
    call there, and each secret's ``<NAME>_SECRET_ARN`` (built from SECRET_VARIABLES)."""
    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        first = node.args[0]
        literal = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
        if function in ("get", "_number", "getenv") and ENV_NAME.fullmatch(literal):
            found.add(literal)
    return found | {name + config.SECRET_ARN_SUFFIX for name in config.SECRET_VARIABLES}


def template_environment(raw: dict[str, Any]) -> set[str]:
    """Every variable the template sets: in Globals and in each function's Environment."""
    found = set(raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    for resource in raw["Resources"].values():
        found |= set(((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {})
    return found


def shown_default(parameter: dict[str, Any]) -> str:
    """How the parameter table writes a parameter's default: `required` without one, `""` for empty."""
    if "Default" not in parameter:
        return "required"
    value = parameter["Default"]
    return '`""`' if value == "" else f"`{value}`"


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readers_found_what_they_read(raw):
    # The generic readers find the settings of today (so an empty list cannot pass the checks below).
    assert {"MEM0_API_KEY", "PROFILE_TABLE", "RECONCILE_LOOKBACK_MINUTES", "ELEVENLABS_API_BASE"} <= config_reads()
    assert {"MEM0_API_KEY_SECRET_ARN", "POWERTOOLS_SERVICE_NAME"} <= template_environment(raw)
    assert len(tables(README.read_text(), PARAMETER_HEADER)) == 1
    assert len(tables(README.read_text(), VARIABLE_HEADER)) == 1


def parameter_problems(text: str, raw: dict[str, Any]) -> list[str]:
    """What the parameter table of ``text`` gets wrong about template.yaml's parameters."""
    (rows,) = tables(text, PARAMETER_HEADER)
    listed = {name: row[1] for row in rows for name in names(row[0])}
    parameters = raw["Parameters"]
    problems = [f"{name}: no row" for name in sorted(set(parameters) - set(listed))]
    problems += [f"{name}: not a parameter of template.yaml" for name in sorted(set(listed) - set(parameters))]
    problems += [
        f"{name}: default {listed[name]} in the README, {shown_default(p)} in the template"
        for name, p in parameters.items()
        if name in listed and listed[name] != shown_default(p)
    ]
    return problems


def variable_problems(text: str, raw: dict[str, Any]) -> list[str]:
    """What the configuration table of ``text`` gets wrong about config.py's and the template's variables."""
    (rows,) = tables(text, VARIABLE_HEADER)
    listed = {name for row in rows for name in names(row[0])}
    wanted = config_reads() | template_environment(raw)
    problems = [f"{name}: no row" for name in sorted(wanted - listed)]
    problems += [f"{name}: nothing reads or sets it" for name in sorted(listed - wanted)]
    for row in rows:  # the "template" column names real parameters (or says fixed, not set, Lambda...)
        for name in names(row[2]):
            if name[0].isupper() and not ENV_NAME.fullmatch(name) and name not in raw["Parameters"]:
                problems.append(f"{row[0]}: the template column names {name}, not a parameter")
    return problems


def test_every_template_parameter_is_a_row_of_the_readme_with_its_default(raw, readme):
    assert parameter_problems(readme, raw) == []


def test_every_variable_config_reads_or_the_template_sets_is_a_row_of_the_readme(raw, readme):
    assert variable_problems(readme, raw) == []


def test_every_output_of_the_template_is_named_in_the_readme(raw, readme):
    outputs = set(raw["Outputs"])
    assert outputs, "the template has no outputs to check"
    assert sorted(name for name in outputs if f"`{name}`" not in readme) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_tables_of_the_same_kind_in_the_docs_name_only_real_things(document, raw):
    text = document.read_text(encoding="utf-8")
    wanted = config_reads() | template_environment(raw)
    for rows in tables(text, PARAMETER_HEADER):
        for row in rows:
            for name in names(row[0]):
                assert name in raw["Parameters"], (document.name, name)
                assert row[1] == shown_default(raw["Parameters"][name]), (document.name, name)
    for rows in tables(text, VARIABLE_HEADER):
        for row in rows:
            assert set(names(row[0])) <= wanted, (document.name, row[0])


def test_the_checks_catch_a_missing_row_a_wrong_default_and_a_stale_name(raw, readme):
    # Given the README with one parameter's row gone, another's default changed, and a variable renamed,
    # Then each check names what is wrong (so the passing checks above mean something).
    broken = re.sub(r"^\| `ReconcileAgentIds` \|.*\n", "", readme, flags=re.MULTILINE)
    broken = broken.replace("| `Mem0SearchLimit` | `3` |", "| `Mem0SearchLimit` | `5` |")
    broken = broken.replace("| `PROFILE_TABLE` |", "| `PROFILE_TABLES` |")
    assert parameter_problems(broken, raw) == [
        "ReconcileAgentIds: no row",
        "Mem0SearchLimit: default `5` in the README, `3` in the template",
    ]
    assert variable_problems(broken, raw) == ["PROFILE_TABLE: no row", "PROFILE_TABLES: nothing reads or sets it"]
