"""Re-sign a post-call sample event with the current time, so `sam local invoke` accepts it.

ElevenLabs' signature is only valid for 30 minutes, so events/post_call.json carries a stale one.

    python scripts/sign_event.py events/post_call.json [--key SECRET] [--output FILE]

The key comes from --key, else ELEVENLABS_HMAC_KEY (first of a comma-separated list), else .env.
Writes the event back in place unless --output is given ("-" prints it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from agentic_memory.auth import sign

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devserver.envfile import first_secret, parse_env_file


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
    parser.add_argument("--output", help="where to write (default: in place; '-' for stdout)")
    args = parser.parse_args(argv)
    from_file = parse_env_file(Path(__file__).resolve().parents[1] / ".env").get("ELEVENLABS_HMAC_KEY")
    key = first_secret(args.key, os.environ.get("ELEVENLABS_HMAC_KEY"), from_file)
    if not key:
        parser.error("no key: pass --key, set ELEVENLABS_HMAC_KEY, or run make dev once to create .env")
    event = resign(json.loads(args.event.read_text()), key)
    text = json.dumps(event, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output or args.event).write_text(text)
        print(f"signed {args.output or args.event} at t={event['headers']['elevenlabs-signature'][2:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
