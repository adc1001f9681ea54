"""Stop a deploy before it starts when samconfig.toml cannot deploy: `make deploy` runs this first.

    python3 scripts/deploy_check.py [--config samconfig.toml]

Without it, `make deploy` installs the SAM CLI and builds for a while, then SAM stops on "Missing option
'--stack-name'"; and a `REPLACE_ME` left in the file is only refused by CloudFormation after the build and
upload. The checks: the file exists and is TOML (the SAM CLI's configuration format); it names a stack
(``stack_name`` under ``[default.deploy.parameters]`` or ``[default.global.parameters]``); no value still holds
a placeholder of samconfig.toml.example (``REPLACE_ME``); and ``parameter_overrides`` gives every parameter
of template.yaml that has no default (``Mem0ApiKey``, ``MemoryAgentIds``). Standard library only: it runs
before any virtualenv exists. Exit status 0 when the file may deploy, 2 with one line saying what to do
otherwise. `make deploy GUIDED=1` skips it (SAM then asks for everything and writes the file).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"REPLACE[_-]?ME", re.IGNORECASE)
TEMPLATE = ROOT / "template.yaml"
_TOP_KEY = re.compile(r"^[A-Za-z]\w*:")
_PARAMETER = re.compile(r"^  ([A-Za-z]\w*):\s*$")


def required_parameters(template: str) -> tuple[str, ...]:
    """The parameters of a CloudFormation template (its text) that have no ``Default``, in order. Read from
    the text, standard library only: two-space-indented names under the top-level ``Parameters:`` key, and
    their four-space-indented ``Default:``."""
    required: list[str] = []
    inside, current, has_default = False, None, False
    for line in [*template.splitlines(), "End:"]:
        if _TOP_KEY.match(line) or (inside and _PARAMETER.match(line)):
            if current is not None and not has_default:
                required.append(current)
            current, has_default = None, False
            if _TOP_KEY.match(line):
                inside = line.startswith("Parameters:")
                continue
        if not inside:
            continue
        found = _PARAMETER.match(line)
        if found:
            current = found.group(1)
        elif line.startswith("    Default:"):
            has_default = True
    return tuple(required)


REQUIRED_PARAMETERS = required_parameters(TEMPLATE.read_text(encoding="utf-8"))


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string value of the TOML document, with its dotted key."""
    if isinstance(node, dict):
        return [pair for key, value in node.items() for pair in _strings(value, f"{path}.{key}" if path else key)]
    if isinstance(node, list):
        return [pair for item in node for pair in _strings(item, path)]
    return [(path, node)] if isinstance(node, str) else []


def problem(config: Path) -> str | None:
    """What stops ``config`` from deploying, in one line; None when nothing does."""
    if not config.is_file():
        return (
            f"{config.name} not found: copy samconfig.toml.example to samconfig.toml and replace every REPLACE_ME"
            " (or run `make deploy GUIDED=1` and answer SAM's questions)"
        )
    try:
        document = tomllib.loads(config.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return f"{config.name} is not valid TOML: {exc}"
    default = document.get("default", {})
    stack = default.get("deploy", {}).get("parameters", {}).get("stack_name") or default.get("global", {}).get(
        "parameters", {}
    ).get("stack_name")
    if not stack:
        return f"{config.name} names no stack: set stack_name under [default.global.parameters]"
    left = sorted({key for key, value in _strings(document) if PLACEHOLDER.search(value)})
    if left:
        return (
            f"{config.name} still holds REPLACE_ME in {', '.join(left)}: put your values there first (README, Deploy)"
        )
    overrides = default.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    text = " ".join(overrides) if isinstance(overrides, list) else str(overrides)
    try:
        given = {pair.partition("=")[0]: pair.partition("=")[2] for pair in shlex.split(text)}
    except ValueError as exc:
        return f"{config.name}: parameter_overrides cannot be read ({exc})"
    missing = [name for name in REQUIRED_PARAMETERS if not given.get(name)]
    if missing:
        return f"{config.name}: parameter_overrides has no {', '.join(missing)} (it has no default in template.yaml)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "samconfig.toml")
    found = problem(parser.parse_args(argv).config)
    if found:
        print(f"make deploy: {found}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
