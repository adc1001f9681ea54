"""Show, set or rotate a deployed stack's secrets in AWS Secrets Manager, without a deploy.

    .venv/bin/python scripts/stack_secret.py --stack NAME show workspace       the X-Workspace-Key to give ElevenLabs
    .venv/bin/python scripts/stack_secret.py --stack NAME set hmac             the post-call webhook's secret (prompted)
    .venv/bin/python scripts/stack_secret.py --stack NAME set workspace --generate --keep-previous
    make secret-set STACK=NAME NAME=hmac

Names: ``mem0`` (Mem0ApiKey), ``workspace`` (ElevenLabsWorkspaceKey), ``hmac`` (ElevenLabsHmacKey),
``elevenlabs`` (ElevenLabsApiKey, only when the stack was deployed with one). The stack's outputs give each
secret's ARN (template.yaml). A new value is read from standard input when it is piped, else prompted for
without echo (never a command-line argument: it would stay in the shell's history); ``--generate`` makes a
strong one (workspace key). ``--keep-previous`` keeps the current value(s) after the new one, comma-separated,
so the workspace key or the webhook secret can be rotated without refusing a request: both are accepted until
``set`` is run again without it. The functions use a new value within SECRETS_REFRESH_SECONDS (5 minutes),
and at once for a request that the old value would refuse (stores/secret_store.py).

Needs ``secretsmanager:GetSecretValue`` and ``secretsmanager:PutSecretValue`` on the stack's secrets. A value
must be at least 16 characters of A-Z a-z 0-9 _ - ~ + / = . : @ and no placeholder, as the template's
parameters require. Exit status 0 when done, 2 with one ``error:`` line otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import re
import secrets
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import stackfind

NAMES = {
    "mem0": "MEM0_API_KEY",
    "workspace": "ELEVENLABS_WORKSPACE_KEY",
    "hmac": "ELEVENLABS_HMAC_KEY",
    "elevenlabs": "ELEVENLABS_API_KEY",
}
LISTS = frozenset({"workspace", "hmac"})  # comma-separated values, all accepted (config.py)
STRONG = re.compile(r"[A-Za-z0-9_~+/=.:@-]{16,}")
# The words template.yaml's AllowedPattern refuses in a secret (and the stack's own placeholder).
WEAK = re.compile(r"replace|change.?me|example|placeholder|password|x{4}[-_.]?x{4}|12345678|abcdefgh|(.)\1{5}", re.I)


def problem(value: str) -> str | None:
    """Why ``value`` cannot be a secret, or None."""
    if not STRONG.fullmatch(value):
        return "a secret is at least 16 characters of A-Z a-z 0-9 _ - ~ + / = . : @ (no comma, no space)"
    if WEAK.search(value):
        return "that looks like a placeholder or a weak value"
    return None


def new_value(args: argparse.Namespace) -> str:
    if args.generate:
        return secrets.token_urlsafe(32)
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return getpass.getpass(f"new value for {args.name} (not shown): ").strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    stackfind.add_arguments(parser, local=False)
    parser.add_argument("action", choices=("show", "set"))
    parser.add_argument("name", choices=sorted(NAMES))
    parser.add_argument("--generate", action="store_true", help="set: a new random value (secrets.token_urlsafe)")
    parser.add_argument("--keep-previous", action="store_true", help="set workspace/hmac: keep the old value(s) too")
    args = parser.parse_args(argv)
    if not args.stack:
        return stackfind.fail("name the deployed stack with --stack NAME (make dev keeps its keys in .env)")
    if args.keep_previous and args.name not in LISTS:
        return stackfind.fail(f"--keep-previous is for workspace and hmac, not {args.name}")
    try:
        stack = stackfind.DeployedStack.load(args.stack, args.region)
        variable = NAMES[args.name]
        arn = stack.secret_arn(variable)
        if arn is None:
            return stackfind.fail(f"stack {args.stack!r} has no {args.name} secret (deployed without ElevenLabsApiKey)")
        if args.action == "show":
            print(f"{args.name} of stack {args.stack} (a secret: do not paste it anywhere else)", file=sys.stderr)
            print(stack.secret(variable))
            return 0
        value = new_value(args)
        found = problem(value)
        if found:
            return stackfind.fail(f"not set: {found}")
        if args.keep_previous:
            kept = [old for old in stack.secret(variable).split(",") if old.strip() and not problem(old.strip())]
            value = ",".join([value, *(old.strip() for old in kept if old.strip() != value)])
        stack.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)
    except stackfind.TargetError as exc:
        return stackfind.fail(exc)
    except Exception as exc:  # botocore's errors: no permission, throttled
        return stackfind.fail(f"Secrets Manager refused: {' '.join(str(exc).split())[:200]}")
    count = len(value.split(",")) if args.name in LISTS else 1
    accepted = f"{count} value{'s' if count > 1 else ''} accepted"
    print(
        f"{args.name} of stack {args.stack} set ({accepted}); the functions use it within 5 minutes, and at once"
        " for a request the old value would refuse"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
