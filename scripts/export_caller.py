"""Export everything held about one caller as JSON, for an access request (audited; the same as
`scripts/memory_admin.py export`, which also finds, shows, corrects and forgets).

    python scripts/export_caller.py "+1 612 978 2029"                 # the running `make dev`
    python scripts/export_caller.py web:user-42 --output request-123.json
    python scripts/export_caller.py 6129782029 --stack agentic-memory --output -   # a deployed stack, to stdout

"Everything" is defined once, in src/agentic_memory/operator_tools/caller_records.py, and scripts/forget_caller.py
erases the same: every Mem0 memory of the caller (all agent scopes, superseded facts included, paged
200 at a time) and the caller's profile item when the stack has a profile table. The caller is read as
the functions read one (agentic_memory.domain.identity: a phone number in any common form, web:<id>,
whatsapp:<id>). Which stack: as every script finds it (scripts/stackfind.py); with no flag and no
`make dev` running, Mem0 comes from the environment and .env.

The file is created readable by its owner only (it holds the caller's data); the terminal shows the
caller masked and the counts. Exit status: 0 written, 1 Mem0 or DynamoDB failed, 2 unusable caller,
stack or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

import stackfind  # noqa: E402

_NUMBERS = re.compile(r"\+?\d[\d\s().\-]{5,}\d")


def redact(text: object) -> str:
    """An error safe to print: Mem0's errors carry request URLs, which may hold the number."""
    return _NUMBERS.sub("<number>", " ".join(str(text).split()))[:200]


def write_private(path: Path, text: str) -> None:
    """Create (or replace) ``path`` with mode 0600 before any byte of the caller's data is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("caller", help="a phone number in any common form, web:<id> or whatsapp:<id>")
    parser.add_argument(
        "--output",
        default=None,
        help="file to write (default: caller-export-<UTC time>.json here); '-' writes to stdout",
    )
    parser.add_argument(
        "--env-file", type=Path, default=ROOT / ".env", help="settings when no stack is found (default .env)"
    )
    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)

    failed = stackfind.configure_memory_access(args, args.env_file)
    if failed is not None:
        return failed
    from agentic_memory.config import get_settings
    from agentic_memory.domain.identity import from_operator_input
    from agentic_memory.observability import mask_caller
    from agentic_memory.operator_tools.memory_admin import MemoryAdmin, Operator

    identity = from_operator_input(args.caller, get_settings())
    if identity is None:
        return stackfind.fail("not a caller: give a phone number, web:<id> or whatsapp:<id> (not withheld)")
    masked = mask_caller(identity)
    try:
        # Audited (scripts/memory_admin.py export is the same action): nothing is exported unrecorded.
        admin = MemoryAdmin(Operator(who=_who(args), source="tool"))
        if not admin.recording:
            print("warning: this stack has no audit table: this export is not recorded", file=sys.stderr)
        document: dict[str, Any] = admin.export(identity)
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        print(
            f"error: could not read what is held about {masked}: {type(cause).__name__}: {redact(cause)}",
            file=sys.stderr,
        )
        return 2 if "MEM0_API_KEY" in str(exc) else 1
    return write_document(document, args.output, masked)


def write_document(document: dict, output: str | None, masked: str) -> int:
    """Write an export ``document`` as JSON to ``output`` (``-``: standard output; unset: a new
    ``caller-export-<UTC time>.json`` readable by its owner only) and say what it holds, the caller masked.
    Returns the exit status (0). Shared by this script and ``memory_admin.py export``."""
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    counts = ", ".join(f"{name} {number}" for name, number in document["counts"].items())
    if output == "-":
        sys.stdout.write(text)
        print(f"{masked}: {counts}", file=sys.stderr)
        return 0
    path = Path(output or f"caller-export-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    write_private(path, text)
    print(f"{masked}: {counts}; written to {path} (readable by you only)")
    return 0


def _who(args: argparse.Namespace) -> str:
    """The operator, as scripts/memory_admin.py names them in the audit trail."""
    from memory_admin import operator_name

    return operator_name(stackfind.resolve(args, required=False, announce=False))


if __name__ == "__main__":
    raise SystemExit(main())
