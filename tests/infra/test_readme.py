"""The README only names commands and files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))

# `make <target>`, wherever it appears (code blocks, tables, prose).
MAKE = re.compile(r"\bmake ([a-z][a-z0-9-]*)")
# A repository path under one of these folders; stops at quotes, brackets, spaces and markdown punctuation.
PATH = re.compile(r"(?<![\w/.-])((?:scripts|docs|events)/[A-Za-z0-9_./-]*[A-Za-z0-9_])")


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def named_paths(text: str) -> set[str]:
    return set(PATH.findall(text))


def test_readme_shows_the_two_first_commands():
    assert "make test" in README
    assert "make dev" in README
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert quick_start.index("make test") < quick_start.index("make dev")
    assert "scripts/simulate_call.py" in quick_start


def test_every_make_target_the_readme_names_exists():
    named = set(MAKE.findall(README))
    assert {"test", "dev", "deploy"} <= named
    missing = named - makefile_targets()
    assert not missing, f"README names make targets the Makefile lacks: {sorted(missing)}"


@pytest.mark.parametrize("document", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_script_doc_and_event_path_named_exists(document):
    paths = named_paths(document.read_text(encoding="utf-8"))
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing, f"{document.name} names files that do not exist: {missing}"


def test_the_path_pattern_finds_what_it_should():
    text = "run `scripts/sign_event.py`, see [docs/a-b.md](docs/a-b.md#x), events/post_call.json."
    assert named_paths(text) == {"scripts/sign_event.py", "docs/a-b.md", "events/post_call.json"}
    assert named_paths("/aws/lambda/x and https://example.com/docs/page") == set()
