"""Govern one caller's memory: find, show, search, delete, correct, rename, note, export, forget, audit, sweep.

    python scripts/memory_admin.py find "+1 612 978 2029"                # the running `make dev`
    python scripts/memory_admin.py show 6129782029                       # profile, memories, provenance
    python scripts/memory_admin.py search 6129782029 "delivery address"
    python scripts/memory_admin.py delete 6129782029 6f1c0d1e-...        # asks first; --yes for scripts
    python scripts/memory_admin.py correct 6129782029 6f1c0d1e-... "Prefers deliveries on Fridays."
    python scripts/memory_admin.py rename 6129782029 "Maria Lopez"
    python scripts/memory_admin.py note 6129782029 "Asked us not to call before 10 am."
    python scripts/memory_admin.py export web:user-42 --output request-123.json
    python scripts/memory_admin.py forget 6129782029
    python scripts/memory_admin.py audit --days 30                       # who did what, newest first
    python scripts/memory_admin.py sweep                                 # run the retention sweep now
    python scripts/memory_admin.py --stack agentic-memory show 6129782029     # a deployed stack

The logic lives in src/agentic_memory/operator_tools/memory_admin.py (shared with `make console`); this file
parses, asks before anything destructive (`--yes` skips it) and prints. Every action but `audit` and `sweep`
is recorded in the stack's audit trail first: who (your AWS principal on a deployed stack, `local:<user>`
on `make dev`), what, when, the caller masked, never the content; if it cannot be recorded, nothing is done.
Which stack: as every script finds it (scripts/stackfind.py). Callers are shown masked. Errors are one line.
Exit status: 0 done, 1 failed or not confirmed, 2 unusable input, stack or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "src", ROOT / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import stackfind  # noqa: E402

_NUMBERS = re.compile(r"\+?\d[\d\s().\-]{5,}\d")
DESTRUCTIVE = ("delete", "correct", "rename", "forget")


def redact(text: object) -> str:
    """An error safe to print: Mem0's and DynamoDB's errors may carry a request URL holding the number."""
    return _NUMBERS.sub("<number>", " ".join(str(text).split()))[:200]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="memory_admin.py",
        description="Govern one caller's memory (each action audited). Which stack: `make dev`, or --stack NAME.",
    )
    top.add_argument("--yes", action="store_true", help="do not ask before deleting, correcting or forgetting")
    top.add_argument("--json", action="store_true", help="print JSON instead of text")
    top.add_argument("--env-file", type=Path, default=ROOT / ".env", help="settings when no stack is found")
    stackfind.add_arguments(top)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text)

    caller_help = "a phone number in any common form, web:<id> or whatsapp:<id>"
    command("find", "say whether a caller is known and how much is held").add_argument("caller", help=caller_help)
    command("show", "the profile, every memory with its provenance, retention, the next greeting").add_argument(
        "caller", help=caller_help
    )
    search = command("search", "search a caller's memories as the mid-call tool does")
    search.add_argument("caller", help=caller_help)
    search.add_argument("query")
    search.add_argument("--agent", help="an agent's memories only (MEMORY_SCOPE=agent)")
    delete = command("delete", "delete one memory (and what the profile took from it)")
    delete.add_argument("caller", help=caller_help)
    delete.add_argument("memory_id", help="the memory's id, as `show` lists it")
    correct = command("correct", "replace one memory's text (Mem0 update), marked as corrected by you")
    correct.add_argument("caller", help=caller_help)
    correct.add_argument("memory_id")
    correct.add_argument("text", help="the corrected text")
    rename = command("rename", "set the caller's name in the profile (what the greeting says)")
    rename.add_argument("caller", help=caller_help)
    rename.add_argument("name")
    rename.add_argument("--agent", help="the agent whose profile (MEMORY_SCOPE=agent)")
    note = command("note", "add a note by hand: the greeting and the mid-call tool use it; marked with you as author")
    note.add_argument("caller", help=caller_help)
    note.add_argument("text")
    note.add_argument("--agent", help="the agent whose memory (MEMORY_SCOPE=agent)")
    export = command("export", "everything held about a caller, as JSON (an access request)")
    export.add_argument("caller", help=caller_help)
    export.add_argument("--output", help="file to write (default caller-export-<UTC time>.json); '-' for stdout")
    command("forget", "delete everything held about a caller (a deletion request)").add_argument(
        "caller", help=caller_help
    )
    audit = command("audit", "the audit trail, newest first")
    audit.add_argument("caller", nargs="?", help="only records about this caller (matched by its mask)")
    audit.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    audit.add_argument("--limit", type=int, default=50, help="at most this many records (default 50)")
    command("sweep", "run the retention sweep now (it runs every 15 minutes anyway)")
    return top


def configure(args: argparse.Namespace) -> tuple[Any, str] | int:
    """Point this process at the stack; returns (target or None, who) or an exit status."""
    import logging

    try:
        target = stackfind.resolve(args, required=False)
    except stackfind.TargetError as exc:
        return stackfind.fail(exc)
    if target is not None:
        target.apply()
    else:
        from devstack.envfile import apply_env_file

        apply_env_file(args.env_file)
        if not os.environ.get("MEM0_API_KEY"):
            return stackfind.fail(
                "no running `make dev` found and MEM0_API_KEY is not set: start `make dev`, or pass --stack NAME"
            )
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("mem0").setLevel(logging.CRITICAL)  # a failed request's URL, at ERROR
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return target, operator_name(target)


def operator_name(target: Any) -> str:
    """Who acts: the AWS principal on a deployed stack (STS GetCallerIdentity), else the local user."""
    if target is not None and getattr(target, "kind", "") == "stack":
        from agentic_memory.stores import aws_principal

        return aws_principal.arn()
    return f"local:{getpass.getuser()}"


def confirmed(what: str, identity: str | None = None) -> bool:
    digits = identity[1:] if identity and identity.startswith("+") and identity[1:].isdigit() else ""
    hint = "the number's last 4 digits or 'yes'" if digits else "'yes'"
    try:
        answer = input(f"{what}? Type {hint}: ").strip().lower()
    except EOFError:
        return False
    return answer == "yes" or (bool(digits) and answer == digits[-4:])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configured = configure(args)
    if isinstance(configured, int):
        return configured
    target, who = configured
    if args.command == "sweep":
        return sweep(target, args)
    from agentic_memory.operator_tools.memory_admin import AdminError, MemoryAdmin, Operator

    admin = MemoryAdmin(Operator(who=who, source="tool"))
    if not admin.recording and args.command != "audit":
        print("warning: this stack has no audit table: this action is not recorded", file=sys.stderr)
    try:
        return run(admin, args)
    except AdminError as exc:
        return stackfind.fail(exc)
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        print(f"error: {args.command} failed: {type(cause).__name__}: {redact(cause)}", file=sys.stderr)
        return 2 if "MEM0_API_KEY" in str(exc) else 1


def run(admin: Any, args: argparse.Namespace) -> int:
    out = Printer(args.json)
    command = args.command
    if command == "audit":
        records = admin.audit_trail(days=args.days, raw=args.caller, limit=args.limit)
        if records is None:
            return stackfind.fail("this stack has no audit table (AUDIT_TABLE)")
        return out.audit(records)
    identity = admin.caller(args.caller)
    masked = _mask(identity)
    if command in DESTRUCTIVE and not args.yes:
        what = {
            "delete": f"Delete memory {getattr(args, 'memory_id', '')} of {masked}",
            "correct": f"Replace the text of memory {getattr(args, 'memory_id', '')} of {masked}",
            "rename": f"Set the name of {masked} to {getattr(args, 'name', '')!r}",
            "forget": f"Delete everything held about {masked}",
        }[command]
        if not confirmed(what, identity if command == "forget" else None):
            print("Not confirmed: nothing was changed.")
            return 1
    if command == "find":
        return out.found(admin.find(identity))
    if command == "show":
        return out.shown(admin.show(identity))
    if command == "search":
        return out.memories(f"{masked}: search", admin.search(identity, args.query, agent=args.agent))
    if command == "delete":
        done = admin.delete(identity, args.memory_id)
        return out.line(done, f"{masked}: memory {args.memory_id} deleted; profile {done['profile']}.")
    if command == "correct":
        done = admin.correct(identity, args.memory_id, args.text)
        return out.line(done, f"{masked}: memory {args.memory_id} corrected; profile {done['profile']}.")
    if command == "rename":
        done = admin.rename(identity, args.name, agent=args.agent)
        stale = f" Memories still stating another name: {', '.join(done['stale'])}." if done["stale"] else ""
        return out.line(done, f"{masked}: name set to {done['name']}.{stale}")
    if command == "note":
        done = admin.note(identity, args.text, agent=args.agent)
        until = f"; deleted on {done['deleted_on']}" if done["deleted_on"] else ""
        return out.line(done, f"{masked}: note {done['note_id']} added by {admin.operator.who}{until}.")
    if command == "export":
        return export(admin, identity, masked, args)
    if command == "forget":
        done = admin.forget(identity)
        left = sum(done["remaining"].values())
        if left:
            return out.line(done, f"{masked}: {left} items still remain after deleting; run it again.", status=1)
        return out.line(
            done, f"{masked}: deleted ({', '.join(f'{k} {v}' for k, v in done['before'].items())}); none remain."
        )
    raise AssertionError(command)  # pragma: no cover


def export(admin: Any, identity: str, masked: str, args: argparse.Namespace) -> int:
    from export_caller import write_document

    return write_document(admin.export(identity), args.output, masked)


def sweep(target: Any, args: argparse.Namespace) -> int:
    """Invoke the stack's post-call function with the sweep's event and print what it did."""
    if target is None:
        return stackfind.fail("sweep needs a stack: start `make dev` or pass --stack NAME")
    from agentic_memory.stores import aws_clients

    try:
        name = target.function_name("post-call")
        answer = aws_clients.client("lambda").invoke(
            FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps({"kind": "retention_sweep"})
        )
        result = json.loads(answer["Payload"].read() or b"{}")
    except stackfind.TargetError as exc:
        return stackfind.fail(exc)
    except Exception as exc:
        print(f"error: the sweep could not be run: {type(exc).__name__}: {redact(exc)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"sweep {result.get('status')}: {result.get('memories_deleted', 0)} memories deleted, "
            f"{result.get('swept', 0)} calls or notes done, {result.get('postponed', 0)} to look at again, "
            f"{result.get('profiles_trimmed', 0)} profiles trimmed, {result.get('profiles_deleted', 0)} deleted, "
            f"{result.get('errors', 0)} errors"
        )
    return 0 if result.get("status") in ("done", "partial", "throttled", "disabled") else 1


def _mask(identity: str) -> str:
    from agentic_memory.observability import mask_caller

    return mask_caller(identity)


class Printer:
    """Text for people, or JSON (--json) for scripts."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def _json(self, value: Any) -> int:
        print(json.dumps(value, indent=2, ensure_ascii=False))
        return 0

    def line(self, value: Any, text: str, status: int = 0) -> int:
        if self.as_json:
            self._json(value)
        else:
            print(text)
        return status

    def found(self, found: dict[str, Any]) -> int:
        if self.as_json:
            return self._json(found)
        if not found["memories"] and not found["profiles"]:
            print(f"{found['masked']}: nothing is held.")
            return 0
        name = f", name {found['name']}" if found["name"] else ""
        last = f", last call {found['last_call']}" if found["last_call"] else ""
        scopes = ", ".join(found["profiles"]) or "none"
        print(f"{found['masked']}: {found['memories']} memories, profile: {scopes}{name}{last}.")
        return 0

    def memories(self, title: str, memories: list[dict[str, Any]]) -> int:
        if self.as_json:
            return self._json(memories)
        print(f"{title}: {len(memories)} memories")
        for memory in memories:
            print(f"  [{memory['id']}] {memory['text']}")
            extra = []
            if memory.get("deleted_on"):
                extra.append(f"deleted on {memory['deleted_on']}")
            if memory.get("hidden_by_expiry"):
                extra.append("hidden by Mem0's expiry, not yet deleted")
            print(f"      from {memory['provenance']['text']}" + (f"; {'; '.join(extra)}" if extra else ""))
        return 0

    def shown(self, shown: dict[str, Any]) -> int:
        if self.as_json:
            return self._json(shown)
        print(f"{shown['masked']}")
        for profile in shown["profiles"]:
            last = profile["last"] or {}
            print(
                f"  profile {profile['scope']}: name {profile['name'] or '-'}, {profile['calls']} calls"
                + (f", last {last.get('date')}: {last.get('summary') or last.get('title') or ''}" if last else "")
            )
            for note in profile["notes"]:
                print(f"    note {note['id']} by {note['author']}: {note['text']}")
            for label, value in profile["facts"].items():
                print(f"    {label}: {value}")
            greeting = profile["greeting"]
            print(f"    next call: returning_caller={greeting['returning_caller']}, greeting {greeting['greeting']!r}")
            if greeting.get("memory_summary"):
                print(f"    memory_summary: {greeting['memory_summary']}")
        for due in shown["retention"]:
            print(f"  retention: the {due['deletes']} {due['ref']} is deleted on {due['due']}")
        return self.memories("  memories", shown["memories"])

    def audit(self, records: list[dict[str, Any]]) -> int:
        if self.as_json:
            return self._json(records)
        print(f"{len(records)} audit records, newest first")
        for record in records:
            detail = ", ".join(f"{k}={v}" for k, v in sorted((record.get("detail") or {}).items()))
            print(
                f"  {record.get('at')}  {record.get('action'):<16} {record.get('caller') or '-':<14} "
                f"{record.get('outcome'):<9} {record.get('who')} ({record.get('source')})"
                + (f"  {detail}" if detail else "")
            )
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
