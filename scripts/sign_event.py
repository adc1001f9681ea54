"""Sign a copy of a post-call sample event with the current time, so `sam local invoke` accepts it.

ElevenLabs' signature is only valid for 30 minutes, so events/post_call.json carries a stale one.

    python scripts/sign_event.py events/post_call.json [--key SECRET] [--env-file .env] [--output FILE]

The key comes from --key, else ELEVENLABS_HMAC_KEY (first of a comma-separated list), else the .env
file. The tracked event is never changed: the signed copy goes to .local/events/<name>.signed.json
(git-ignored) unless --output says where ("-" prints it). `make events` signs with the README's
`sam local invoke` key, test-hmac-secret.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIGNED_DIR = ROOT / ".local" / "events"
sys.path.insert(0, str(ROOT / "src"))

from agentic_memory.edge.auth import sign  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devstack.envfile import first_secret, parse_env_file  # noqa: E402


def resign(event: dict, key: str, timestamp: int | None = None) -> dict:
    """The same event, its body signed now; the body's raw bytes are what is signed."""
    body = event.get("body") or ""
    raw = body.encode()
    event = {**event, "headers": {**event.get("headers", {})}}
    event["headers"]["elevenlabs-signature"] = sign(raw, key, int(time.time()) if timestamp is None else timestamp)
    return event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path)
    parser.add_argument("--key", help="the post-call webhook secret")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env", help="where to find the key (default .env)")
    parser.add_argument("--output", help="where to write (default: .local/events/<name>.signed.json; '-' for stdout)")
    args = parser.parse_args(argv)
    from_file = parse_env_file(args.env_file).get("ELEVENLABS_HMAC_KEY")
    key = first_secret(args.key, os.environ.get("ELEVENLABS_HMAC_KEY"), from_file)
    if not key:
        parser.error(f"no key: pass --key, set ELEVENLABS_HMAC_KEY, or run make dev once to create {args.env_file}")
    try:
        event = resign(json.loads(args.event.read_text(encoding="utf-8")), key)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read {args.event}: {exc}")
    text = json.dumps(event, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output) if args.output else SIGNED_DIR / f"{args.event.stem}.signed.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"signed {_shown(output)} at t={event['headers']['elevenlabs-signature'][2:12]} (valid 30 minutes)")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    raise SystemExit(main())
