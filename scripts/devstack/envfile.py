"""The one reader of `.env` files, shared by `make dev` and every script (standard library only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def unquote(value: str) -> str:
    """The value after ``NAME=``: a quoted one without its quotes, an unquoted one without a trailing ` #` comment."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].rstrip()


def parse_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines; blank lines, ``#`` comments and an ``export`` prefix are allowed."""
    values: dict[str, str] = {}
    if not Path(path).is_file():
        return values
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.removeprefix("export ").strip().partition("=")
        if sep and name.strip().isidentifier():
            values[name.strip()] = unquote(value)
    return values


def apply_env_file(path: Path, environ: dict[str, str] | Any = os.environ) -> dict[str, str]:
    """Put the file's values into ``environ`` unless already set there (the shell wins over .env)."""
    values = parse_env_file(path)
    for name, value in values.items():
        if not environ.get(name):
            environ[name] = value
    return values


def first_secret(*candidates: str | None) -> str:
    """The first value given, and of a comma-separated rotation list its first entry."""
    for candidate in candidates:
        if candidate and candidate.split(",")[0].strip():
            return candidate.split(",")[0].strip()
    return ""
