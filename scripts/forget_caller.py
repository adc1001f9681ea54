"""Forget a caller: delete every memory Mem0 holds for their number (the right to be forgotten); audited, as
`scripts/memory_admin.py forget` is.

    python scripts/forget_caller.py "+1 612 978 2029"        # shows the count, asks to confirm
    python scripts/forget_caller.py 6129782029 --yes         # no prompt (scripts, tickets)
    python scripts/forget_caller.py --user-id web-user-42    # a web call's user id (web:web-user-42)
    python scripts/forget_caller.py --stack agentic-memory "+1 612 978 2029"   # a deployed stack

Which Mem0: the stack's, found as every script finds it (scripts/stackfind.py): the running `make dev`
(its Mem0 stand-in, nothing to set up), `--port N`, `--state FILE`, or `--stack NAME` (the deployed
post-call function's configuration, read with your AWS credentials). With no flag and no `make dev`
running, Mem0 comes from the environment and .env (MEM0_API_KEY, MEM0_HOST), as for the functions.

The number is normalised exactly as the functions normalise it (E.164, DEFAULT_COUNTRY_CODE for
national numbers), so the memories found are the ones the agent would use. After deleting, it checks
that none remain. Output shows the caller masked. Exit status: 0 done (or nothing to delete),
1 not confirmed or Mem0 failed or memories remain, 2 unusable number, stack or configuration.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from agentic_memory.domain.identity import WEB, from_operator_input, namespaced  # noqa: E402
from agentic_memory.observability import mask_caller  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import stackfind  # noqa: E402

PAGE = 100
VERIFY_ATTEMPTS = 3
_NUMBERS = re.compile(r"\+?\d[\d\s().\-]{5,}\d")


def redact(text: object) -> str:
    """An error safe to print: mem0's errors carry the request URL, and delete's URL holds the number."""
    return _NUMBERS.sub("<number>", " ".join(str(text).split()))[:200]


def count(store: Any, user_id: str) -> tuple[int, bool]:
    """How much is held about ``user_id`` (Mem0 memories and the caller profile: ``caller_records``, the one
    definition export_caller.py shares), and whether that is exact (it is: every page is read)."""
    from agentic_memory.operator_tools import caller_records

    return sum(caller_records.counts(user_id, store).values()), True


def confirmed(user_id: str, total: int, exact: bool) -> bool:
    digits = user_id[1:] if user_id.startswith("+") and user_id[1:].isdigit() else ""
    how_many = f"{total}" if exact else f"at least {total}"
    prompt = (
        f"Delete {how_many} memories of {mask_caller(user_id)}? Type the number's last 4 digits, 'y' or 'yes': "
        if digits
        else f"Delete {how_many} memories of {mask_caller(user_id)}? Type 'y' or 'yes': "
    )
    try:
        answer = input(prompt).strip().lower()
    except EOFError:
        return False
    return answer in ("y", "yes") or (bool(digits) and answer == digits[-4:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("number", nargs="?", help="the caller's phone number, in any common format")
    who.add_argument("--user-id", help="a web call's user id (stored as web:<id>), or whatsapp:<id>")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--env-file", type=Path, default=ROOT / ".env", help="settings when no stack is found (default .env)"
    )
    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)

    failed = stackfind.configure_memory_access(args, args.env_file)
    if failed is not None:
        return failed
    from agentic_memory.config import get_settings
    from agentic_memory.stores import mem0 as memory

    settings = get_settings()
    if args.user_id is not None:
        # A web call's user id as the web app sent it ("web:" is added), or a namespaced id as shown
        # by export_caller ("web:<id>", "whatsapp:<id>").
        raw = args.user_id.strip()
        user_id = from_operator_input(raw, settings) if ":" in raw else namespaced(WEB, raw)
        if user_id is None:
            print("error: that user id is withheld, empty, too long or has characters ids never have", file=sys.stderr)
            return 2
    else:
        user_id = from_operator_input(args.number, settings)
        if user_id is None or not user_id.startswith("+"):
            print(
                "error: not a usable phone number (withheld, anonymous, too short or malformed); "
                "for a web call's user id use --user-id",
                file=sys.stderr,
            )
            return 2
    masked = mask_caller(user_id)
    try:
        store = memory.get_store("worker")
        total, exact = count(store, user_id)
    except Exception as exc:
        return _failed("could not read the caller's memories", exc)
    if total == 0:
        print(f"{masked}: nothing is remembered; nothing to delete.")
        return 0
    print(f"{masked}: {total if exact else f'at least {total}'} memories remembered.")
    if not args.yes and not confirmed(user_id, total, exact):
        print("Not confirmed: nothing was deleted.")
        return 1
    try:
        from memory_admin import operator_name

        from agentic_memory.operator_tools import caller_records
        from agentic_memory.operator_tools.memory_admin import MemoryAdmin, Operator

        # Audited as scripts/memory_admin.py forget is: recorded first, or nothing is deleted.
        admin = MemoryAdmin(Operator(operator_name(stackfind.resolve(args, required=False, announce=False)), "tool"))
        if not admin.recording:
            print("warning: this stack has no audit table: this deletion is not recorded", file=sys.stderr)
        with admin.audited("forget", user_id, {"held": total}) as outcome:
            caller_records.erase(user_id, store)  # everything export_caller.py exports
            remaining = count(store, user_id)[0]
            for _ in range(VERIFY_ATTEMPTS - 1):
                if remaining == 0:
                    break
                time.sleep(1)  # a platform may finish deleting a moment after answering
                remaining = count(store, user_id)[0]
            outcome.update(remaining=remaining)
    except Exception as exc:
        return _failed("deleting failed", exc)
    if remaining:
        print(f"{masked}: {remaining} memories still remain after deleting; run it again or check Mem0.")
        return 1
    print(f"{masked}: deleted; none remain.")
    return 0


def _failed(what: str, exc: Exception) -> int:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    print(f"error: {what}: {type(cause).__name__}: {redact(cause)}", file=sys.stderr)
    return 2 if "MEM0_API_KEY" in str(exc) else 1


if __name__ == "__main__":
    raise SystemExit(main())
