"""Play a whole phone call against the stack, as ElevenLabs would, and check each answer.

    python scripts/simulate_call.py                      # the local stack (make dev) on :3000
    python scripts/simulate_call.py --client-data-url https://.../Prod/client-data \\
        --retrieve-url https://.../Prod/retrieve --post-call-url https://.../Prod/post-call

A new caller (a random +1555 number unless --caller) calls: conversation initiation (must be new),
a memory search (must find nothing), then the signed post-call webhook with a transcript in which the
caller gives their name and a few facts. Once the memories are written (polled, --timeout), the same
caller calls again: initiation must say returning and greet them by name, and a search must find what
they said. Each step prints its latency; any wrong answer ends the run with exit code 1.

Keys: --workspace-key/--hmac-key, else ELEVENLABS_WORKSPACE_KEY/ELEVENLABS_HMAC_KEY, else the .env
file (--env-file). Standard library only, plus the repository's signer when it can be imported.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "post_call.json"
SAMPLE_NAME = ("Maria", "Lopez")
NAMES = (("Ada", "Novak"), ("Priya", "Raman"), ("Lena", "Berg"), ("Grace", "Okafor"), ("Sofia", "Marin"))
FACT_WORD = "latex"  # the caller says they are allergic to latex; the last search must find it
AGENT_ID = "agent_simulated"
AGENT_NUMBER = "+15550100000"

try:  # the repository's own signer, so the simulator exercises the code the function verifies with
    sys.path.insert(0, str(ROOT / "src"))
    from agentic_memory.auth import sign
except (ImportError, SyntaxError):  # src or its dependencies do not load here: the same HMAC, by hand

    def sign(body: bytes, secret: str, timestamp: int) -> str:
        digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v0={digest}"


sys.path.insert(0, str(ROOT / "scripts"))
from devserver.envfile import first_secret, parse_env_file  # noqa: E402  (standard library only)


class StepFailed(Exception):
    """A step got a wrong answer; the message says what was expected and what came."""


# ---------------------------------------------------------------------- settings


def random_caller() -> str:
    """+1 555 01xx xxxx: the fictional range, random so repeated runs start as new callers."""
    # A made-up phone number, not a secret: the standard generator is right here.
    return f"+155501{random.randint(0, 99999):05d}"  # nosec B311


# ---------------------------------------------------------------------- HTTP


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 15.0) -> tuple[int, Any, float]:
    """(status, parsed JSON or raw text, milliseconds)."""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("content-type", "application/json")
    request.add_header("user-agent", "agentic-memory-simulator/1.0")
    for name, value in headers.items():
        request.add_header(name, value)
    started = time.perf_counter()
    try:
        # main() accepts http(s) URLs only, so no file: or custom scheme can be opened here.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StepFailed(f"cannot reach {url}: {reason} (is the stack running? `make dev`)") from None
    elapsed = (time.perf_counter() - started) * 1000
    try:
        return status, json.loads(raw), elapsed
    except (UnicodeDecodeError, json.JSONDecodeError):
        return status, raw.decode("utf-8", "replace"), elapsed


# ---------------------------------------------------------------------- the call


class Call:
    """One simulated caller and the requests ElevenLabs would send for them."""

    def __init__(self, args: argparse.Namespace, workspace_key: str, hmac_key: str) -> None:
        self.args = args
        self.workspace_key = workspace_key
        self.hmac_key = hmac_key
        self.caller = args.caller or random_caller()
        self.first, self.last = random.choice(NAMES)  # nosec B311
        self.name = f"{self.first} {self.last}"
        self.conversation_id = f"conv_sim_{secrets.token_hex(10)}"
        self.call_sid = f"CA{secrets.token_hex(16)}"
        self.step = 0

    def report(self, label: str, status: int | str, ms: float, detail: str) -> None:
        self.step += 1
        print(f"{self.step}. {label:<30} {status!s:>4} {ms:7.0f} ms  {detail}", flush=True)

    def fail(self, label: str, message: str) -> StepFailed:
        return StepFailed(f"step {self.step + 1} ({label}): {message}")

    def client_data(self) -> tuple[int, Any, float]:
        body = {
            "caller_id": self.caller,
            "agent_id": AGENT_ID,
            "called_number": AGENT_NUMBER,
            "call_sid": self.call_sid,
        }
        return post(self.args.client_data_url, json.dumps(body).encode(), {"x-workspace-key": self.workspace_key})

    def retrieve(self, query: str) -> tuple[int, Any, float]:
        body = json.dumps({"query": query, "user_id": self.caller}).encode()
        return post(self.args.retrieve_url, body, {"x-workspace-key": self.workspace_key})

    def webhook_body(self) -> bytes:
        """events/post_call.json's body, now: this caller, conversation and name, fresh timestamps."""
        text = json.loads(SAMPLE.read_text(encoding="utf-8"))["body"]
        sample = json.loads(text)
        old_caller = sample["data"]["metadata"]["phone_call"]["external_number"]
        old_conversation = sample["data"]["conversation_id"]
        old_sid = sample["data"]["metadata"]["phone_call"]["call_sid"]
        for old, new in (
            (f"{SAMPLE_NAME[0]} {SAMPLE_NAME[1]}", self.name),
            (SAMPLE_NAME[0], self.first),
            (old_caller, self.caller),
            (old_conversation, self.conversation_id),
            (old_sid, self.call_sid),
            (sample["data"]["agent_id"], AGENT_ID),
        ):
            text = text.replace(old, new)
        payload = json.loads(text)
        now = int(time.time())
        duration = int(payload["data"]["metadata"].get("call_duration_secs") or 60)
        payload["event_timestamp"] = now
        payload["data"]["metadata"]["start_time_unix_secs"] = now - duration
        return json.dumps(payload).encode()

    # ------------------------------------------------------------------ steps

    def run(self) -> None:
        target = self.args.base_url or "the given URLs"
        print(f"Simulating a call from {self.caller} ({self.name}) against {target}", flush=True)
        started = time.perf_counter()

        label = "client-data: new caller"
        status, body, ms = self.client_data()
        variables = self._variables(label, status, body)
        if variables.get("returning_caller") != "no":
            raise self.fail(
                label,
                f"expected returning_caller 'no' for a new caller, got {variables.get('returning_caller')!r}"
                f" ({variables.get('memory_count')} memories): pick another --caller or reset local data",
            )
        self.report(label, status, ms, f"returning_caller=no, greeting {variables.get('greeting', '')!r}")

        label = "retrieve: nothing yet"
        status, body, ms = self.retrieve("What do we know about this caller?")
        memories = self._memories(label, status, body)
        if memories:
            raise self.fail(label, f"expected no memories for a new caller, got {memories!r}")
        self.report(label, status, ms, f"0 memories, note {body.get('note', '')!r}")

        label = "post-call: signed webhook"
        raw = self.webhook_body()
        signature = sign(raw, self.hmac_key, int(time.time()))
        status, body, ms = post(self.args.post_call_url, raw, {"elevenlabs-signature": signature})
        if status != 200 or not isinstance(body, dict) or body.get("status") != "accepted":
            raise self.fail(label, f"expected 200 {{'status': 'accepted'}}, got {status} {body!r}")
        self.report(label, status, ms, f"accepted {body.get('conversation_id')}, {len(raw)} bytes")

        label = "wait: memories written"
        variables, polls, waited = self._wait_for_memories(label)
        self.report(label, "-", waited, f"{variables.get('memory_count')} memories after {polls} poll(s)")

        label = "client-data: returning caller"
        status, body, ms = self.client_data()
        variables = self._variables(label, status, body)
        if variables.get("returning_caller") != "yes":
            raise self.fail(label, f"expected returning_caller 'yes', got {variables.get('returning_caller')!r}")
        if self.first not in variables.get("greeting", "") or variables.get("caller_name") != self.name:
            raise self.fail(
                label,
                f"expected a greeting by name ({self.name}), got caller_name {variables.get('caller_name')!r}"
                f" and greeting {variables.get('greeting')!r}",
            )
        self.report(label, status, ms, f"returning_caller=yes, greeting {variables['greeting']!r}")

        label = "retrieve: what was said"
        status, body, ms = self.retrieve(f"Is the caller allergic to anything, like {FACT_WORD}?")
        memories = self._memories(label, status, body)
        found = [memory for memory in memories if FACT_WORD in str(memory).lower()]
        if not found:
            raise self.fail(label, f"expected a memory mentioning {FACT_WORD!r}, got {memories!r}")
        self.report(label, status, ms, f"{len(memories)} memories, e.g. {found[0]!r}")

        print(f"OK: all {self.step} steps passed in {time.perf_counter() - started:.1f} s", flush=True)

    def _variables(self, label: str, status: int, body: Any) -> dict[str, str]:
        if status != 200 or not isinstance(body, dict) or body.get("type") != "conversation_initiation_client_data":
            raise self.fail(label, f"expected 200 conversation_initiation_client_data, got {status} {body!r}")
        variables = body.get("dynamic_variables")
        if not isinstance(variables, dict):
            raise self.fail(label, f"no dynamic_variables in {body!r}")
        return variables

    def _memories(self, label: str, status: int, body: Any) -> list[Any]:
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("memories"), list):
            raise self.fail(label, f"expected 200 with a memories list, got {status} {body!r}")
        return body["memories"]

    def _wait_for_memories(self, label: str) -> tuple[dict[str, str], int, float]:
        """Poll conversation initiation until the caller is known by name (every write landed)."""
        started = time.perf_counter()
        deadline = time.monotonic() + self.args.timeout
        polls, variables = 0, {}
        while True:
            polls += 1
            status, body, _ = self.client_data()
            variables = self._variables(label, status, body)
            if variables.get("returning_caller") == "yes" and variables.get("caller_name"):
                return variables, polls, (time.perf_counter() - started) * 1000
            if time.monotonic() >= deadline:
                raise self.fail(
                    label,
                    f"no memories with the caller's name after {self.args.timeout:g} s"
                    f" (returning_caller={variables.get('returning_caller')!r},"
                    f" memory_count={variables.get('memory_count')!r}): is the post-call worker running?"
                    " Look for a failed job in the stack's output or its dead letters",
                )
            time.sleep(self.args.poll_interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=None, help="the stack's base URL (default http://127.0.0.1:3000)")
    parser.add_argument("--client-data-url", help="full URL of the conversation-initiation webhook")
    parser.add_argument("--retrieve-url", help="full URL of the retrieve tool")
    parser.add_argument("--post-call-url", help="full URL of the post-call webhook")
    parser.add_argument("--workspace-key", help="X-Workspace-Key value (default: env, then .env)")
    parser.add_argument("--hmac-key", help="post-call webhook secret (default: env, then .env)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="where to find keys (default .env)")
    parser.add_argument("--caller", help="caller number (default: a random +1555 number, so a new caller)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the memories (default 30)")
    parser.add_argument("--poll-interval", type=float, default=0.25, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    explicit = (args.client_data_url, args.retrieve_url, args.post_call_url)
    if any(explicit) and not all(explicit):
        parser.error("give all three of --client-data-url, --retrieve-url and --post-call-url, or none")
    if not any(explicit):
        args.base_url = (args.base_url or "http://127.0.0.1:3000").rstrip("/")
        args.client_data_url = f"{args.base_url}/client-data"
        args.retrieve_url = f"{args.base_url}/retrieve"
        args.post_call_url = f"{args.base_url}/post-call"
    for url in (args.client_data_url, args.retrieve_url, args.post_call_url):
        if not url.startswith(("http://", "https://")):
            parser.error(f"not an http(s) URL: {url}")

    file_values = parse_env_file(args.env_file)
    workspace_key = first_secret(
        args.workspace_key, os.environ.get("ELEVENLABS_WORKSPACE_KEY"), file_values.get("ELEVENLABS_WORKSPACE_KEY")
    )
    hmac_key = first_secret(
        args.hmac_key, os.environ.get("ELEVENLABS_HMAC_KEY"), file_values.get("ELEVENLABS_HMAC_KEY")
    )
    if not workspace_key or not hmac_key:
        parser.error(
            f"no keys: pass --workspace-key and --hmac-key, set ELEVENLABS_WORKSPACE_KEY/ELEVENLABS_HMAC_KEY,"
            f" or run make dev once to create {args.env_file}"
        )
    try:
        Call(args, workspace_key, hmac_key).run()
    except StepFailed as exc:
        print(f"FAILED {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
