"""Play a whole phone call against the stack, as ElevenLabs would, and check each answer.

    python scripts/simulate_call.py                      # the running `make dev`, found by itself
    python scripts/simulate_call.py --port 3001          # the `make dev` on port 3001
    python scripts/simulate_call.py --stack agentic-memory   # a deployed stack (URLs and keys from AWS)
    python scripts/simulate_call.py --client-data-url https://.../Prod/client-data \\
        --retrieve-url https://.../Prod/retrieve --post-call-url https://.../Prod/post-call

A new caller (a random +1555 number unless --caller) calls: conversation initiation (must be new),
a memory search (must find nothing), then the signed post-call webhook with a transcript in which the
caller gives their name and a few facts. Once the memories are written (polled, --timeout), the same
caller calls again: initiation must say returning and greet them by name, and a search must find what
they said. Each step prints its latency; any wrong answer ends the run with exit code 1.

--calls picks the kinds of call (default inbound; `all` plays each): `brief` plays three calls of one
caller and prints the caller brief the agent receives on the third (`memory_context` and its parts);
`outbound` dials a customer from the stack's own number (--agent-number, which must be in the stack's
AGENT_PHONE_NUMBERS, as ElevenLabs then sends our number as the caller); `web` is a widget/SDK
conversation with no initiation webhook, null system variables and a user_id, whose mid-call searches
need the stack to reach ElevenLabs' conversations API: against `make dev`, the local fake
(scripts/standins/elevenlabs.py), found from --elevenlabs-api-url, the stack's state or
ELEVENLABS_API_BASE; without one those steps print SKIPPED.

The stack is found as every script finds it (scripts/stackfind.py: no flag, --port, --state,
--stack); --base-url or the three URLs name endpoints directly instead. Keys: --workspace-key and
--hmac-key, else the stack's own (`make dev`: ELEVENLABS_WORKSPACE_KEY/ELEVENLABS_HMAC_KEY from the
environment, else its .env; a deployed stack: its functions' configuration); with URLs given directly,
the environment, else --env-file. Standard library only (boto3 for --stack), plus the repository's
signer when it can be imported.
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
import urllib.parse
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
CALL_KINDS = ("inbound", "outbound", "web", "brief")
# The memory tool's body parameters and the system variables they are bound to (scripts/elevenlabs_agent.py).
TOOL_BINDINGS = {
    "caller_id": "system__caller_id",
    "called_number": "system__called_number",
    "call_sid": "system__call_sid",
    "conversation_id": "system__conversation_id",
    "agent_id": "system__agent_id",
}

try:  # the repository's own signer, so the simulator exercises the code the function verifies with
    sys.path.insert(0, str(ROOT / "src"))
    from agentic_memory.edge.auth import sign
except (ImportError, SyntaxError):  # src or its dependencies do not load here: the same HMAC, by hand

    def sign(body: bytes, secret: str, timestamp: int) -> str:
        digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v0={digest}"


sys.path.insert(0, str(ROOT / "scripts"))
import stackfind  # noqa: E402  (standard library only)

from devstack.envfile import first_secret, parse_env_file  # noqa: E402


class StepFailed(Exception):
    """A step got a wrong answer; the message says what was expected and what came."""


# ---------------------------------------------------------------------- settings


def random_caller() -> str:
    """+1 555 01xx xxxx: the fictional range, random so repeated runs start as new callers."""
    # A made-up phone number, not a secret: the standard generator is right here.
    return f"+155501{random.randint(0, 99999):05d}"  # nosec B311


# ---------------------------------------------------------------------- HTTP


# The last answer's headers: client-data says in X-Memory-Source where its answer came from ("profile": the
# caller profile in DynamoDB, without waiting on Mem0; "mem0"; "none": no caller).
LAST_HEADERS: dict[str, str] = {}


def memory_source() -> str:
    return LAST_HEADERS.get("x-memory-source", "")


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 15.0) -> tuple[int, Any, float]:
    """(status, parsed JSON or raw text, milliseconds); the answer's headers go to ``LAST_HEADERS``."""
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
            answer_headers = response.headers
    except urllib.error.HTTPError as exc:
        status, raw, answer_headers = exc.code, exc.read(), exc.headers
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StepFailed(f"cannot reach {url}: {reason} (is the stack running? `make dev`)") from None
    LAST_HEADERS.clear()
    LAST_HEADERS.update({name.lower(): value for name, value in (answer_headers or {}).items()})
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
            "conversation_id": self.conversation_id,
        }
        return post(self.args.client_data_url, json.dumps(body).encode(), {"x-workspace-key": self.workspace_key})

    def system_variables(self) -> dict[str, str | None]:
        """ElevenLabs' system dynamic variables on this call (the calling party is the caller inbound)."""
        return {
            "system__caller_id": self.caller,
            "system__called_number": AGENT_NUMBER,
            "system__call_sid": self.call_sid,
            "system__conversation_id": self.conversation_id,
            "system__agent_id": AGENT_ID,
        }

    def retrieve(self, query: str) -> tuple[int, Any, float]:
        """The memory tool as scripts/elevenlabs_agent.py configures it: ``query`` from the LLM, the rest
        bound to system variables (null on web calls)."""
        system = self.system_variables()
        body = {"query": query, **{name: system[variable] for name, variable in TOOL_BINDINGS.items()}}
        return post(self.args.retrieve_url, json.dumps(body).encode(), {"x-workspace-key": self.workspace_key})

    def headline(self) -> str:
        return f"Simulating a call from {self.caller} ({self.name})"

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
        target = self.args.target_label
        print(f"{self.headline()} against {target}", flush=True)
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
        source = f", from the {memory_source()}" if memory_source() else ""
        self.report(label, status, ms, f"returning_caller=yes, greeting {variables['greeting']!r}{source}")

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
            # Written once the greeting comes from the caller profile (kept after the memories); a stack
            # without profiles (no X-Memory-Source header) is done once Mem0 knows the name.
            known = variables.get("returning_caller") == "yes" and variables.get("caller_name")
            if known and memory_source() in ("", "profile"):
                return variables, polls, (time.perf_counter() - started) * 1000
            if time.monotonic() >= deadline:
                raise self.fail(
                    label,
                    f"no memories with the caller's name after {self.args.timeout:g} s"
                    f" (returning_caller={variables.get('returning_caller')!r},"
                    f" memory_count={variables.get('memory_count')!r},"
                    f" x-memory-source={memory_source() or None!r}): is the post-call worker running?"
                    " Look for a failed job in the stack's output or its dead letters",
                )
            time.sleep(self.args.poll_interval)


class OutboundCall(Call):
    """An outbound call (the Twilio outbound API or a batch call): the agent dials the customer.

    ElevenLabs then sends OUR number as ``caller_id`` / ``system__caller_id`` and the customer as
    ``called_number`` (ElevenLabs personalization docs: "On outbound calls, caller_id is your number and
    called_number is the person being dialed"); the post-call payload says ``direction: outbound``,
    ``agent_number`` ours and ``external_number`` the customer (a captured outbound payload, CAP-1 in
    platform-notes/elevenlabs.md section 2). The stack must know our number: AGENT_PHONE_NUMBERS.
    """

    kind = "outbound"

    def __init__(self, args: argparse.Namespace, workspace_key: str, hmac_key: str) -> None:
        super().__init__(args, workspace_key, hmac_key)
        self.ours = getattr(args, "agent_number", None) or AGENT_NUMBER

    def headline(self) -> str:
        return f"Simulating an outbound call from {self.ours} to {self.caller} ({self.name})"

    def system_variables(self) -> dict[str, str | None]:
        return {**super().system_variables(), "system__caller_id": self.ours, "system__called_number": self.caller}

    def client_data(self) -> tuple[int, Any, float]:
        body = {
            "caller_id": self.ours,
            "agent_id": AGENT_ID,
            "called_number": self.caller,
            "call_sid": self.call_sid,
            "conversation_id": self.conversation_id,
        }
        status, answer, ms = post(
            self.args.client_data_url, json.dumps(body).encode(), {"x-workspace-key": self.workspace_key}
        )
        variables = answer.get("dynamic_variables") if isinstance(answer, dict) else None
        seen = variables.get("caller_id") if isinstance(variables, dict) else None
        if status == 200 and seen is not None and seen != self.caller:
            hint = ""
            if seen == self.ours:
                hint = (
                    f": the stack took its own number for the customer. Set AGENT_PHONE_NUMBERS={self.ours}"
                    " where `make dev` reads it (the shell or its .env) and restart it, or deploy with"
                    " AgentPhoneNumbers; or pass --agent-number with one of the stack's numbers"
                )
            raise self.fail("client-data: outbound", f"expected caller_id {self.caller!r}, got {seen!r}{hint}")
        return status, answer, ms

    def webhook_body(self) -> bytes:
        payload = json.loads(super().webhook_body())
        data = payload["data"]
        data["metadata"]["phone_call"].update(
            {"direction": "outbound", "agent_number": self.ours, "external_number": self.caller}
        )
        data["conversation_initiation_client_data"]["dynamic_variables"].update(self.system_variables())
        return json.dumps(payload).encode()


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def local_elevenlabs_api(args: argparse.Namespace, *, direct: bool) -> str | None:
    """The local fake of ElevenLabs' conversations API the stack uses (scripts/standins/elevenlabs.py),
    or None: --elevenlabs-api-url, else the running `make dev`'s state file or .env, else
    ELEVENLABS_API_BASE in the environment or --env-file. Only a loopback URL: the simulator tells the fake
    about conversations through its ``/_admin`` routes, which ElevenLabs itself does not have."""
    candidates: list[Any] = [getattr(args, "elevenlabs_api_url", None)]
    if not direct and not getattr(args, "stack", None):
        try:
            target = stackfind.resolve(args, required=False, announce=False)
        except stackfind.TargetError:
            target = None
        if isinstance(target, stackfind.LocalStack):
            candidates += [target.state.get("elevenlabs_api_url"), target.state.get("elevenlabs_api_base")]
            candidates.append(target.settings.get("ELEVENLABS_API_BASE"))
    candidates += [os.environ.get("ELEVENLABS_API_BASE"), parse_env_file(args.env_file).get("ELEVENLABS_API_BASE")]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        parts = urllib.parse.urlsplit(candidate.strip())
        if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
            return candidate.strip().rstrip("/")
    return None


class WebCall(Call):
    """A widget or SDK conversation, as ElevenLabs runs it.

    No conversation-initiation webhook (ElevenLabs personalization docs: not called for widget/SDK
    conversations); ``system__caller_id``, ``system__called_number`` and ``system__call_sid`` are null,
    ``metadata.phone_call`` is null and the user is the ``user_id`` the web app passed (a captured web
    payload, CAP-2 in platform-notes/elevenlabs.md section 2). Mid-call, retrieve finds the user by asking
    ElevenLabs' conversations API for the conversation's ``user_id``; against `make dev` that is the local
    fake, told about each conversation as ElevenLabs would know it (in progress, then done).
    """

    kind = "web"

    def __init__(self, args: argparse.Namespace, workspace_key: str, hmac_key: str) -> None:
        super().__init__(args, workspace_key, hmac_key)
        self.user_id = getattr(args, "web_user", None) or f"sim-{secrets.token_hex(8)}"
        self.caller = f"web:{self.user_id}"
        self.api = getattr(args, "elevenlabs_api", None)

    def headline(self) -> str:
        return f"Simulating a web conversation of user {self.user_id} ({self.name})"

    def system_variables(self) -> dict[str, str | None]:
        return {
            "system__caller_id": None,
            "system__called_number": None,
            "system__call_sid": None,
            "system__conversation_id": self.conversation_id,
            "system__agent_id": AGENT_ID,
        }

    def webhook_body(self) -> bytes:
        payload = json.loads(super().webhook_body())
        data = payload["data"]
        data["user_id"] = self.user_id
        data["metadata"]["phone_call"] = None
        data["metadata"]["conversation_initiation_source"] = "react_sdk"
        data["metadata"]["authorization_method"] = "public"
        initiation = data["conversation_initiation_client_data"]
        initiation["user_id"] = self.user_id
        initiation["dynamic_variables"].update(self.system_variables())
        return json.dumps(payload).encode()

    def conversation(self, status: str) -> dict[str, Any]:
        """This conversation as ElevenLabs' conversations API would answer it (the webhook's ``data`` shape)."""
        data = json.loads(self.webhook_body())["data"]
        data["status"] = status
        if status != "done":
            data["transcript"], data["analysis"] = [], None
        return data

    def tell_elevenlabs(self, label: str, status: str) -> float:
        """Store this conversation in the local fake; returns milliseconds."""
        if self.api is None:
            raise self.fail(label, "no local ElevenLabs API to tell about the conversation")
        code, body, ms = post(f"{self.api}/_admin/conversations", json.dumps(self.conversation(status)).encode(), {})
        if code != 200:
            raise self.fail(label, f"the local ElevenLabs API at {self.api} answered {code} {body!r}")
        return ms

    def skip(self, label: str, reason: str) -> None:
        self.skipped += 1
        self.report(label, "skip", 0, reason)

    def run(self) -> None:
        print(f"{self.headline()} against {self.args.target_label}", flush=True)
        started = time.perf_counter()
        self.skipped = 0
        no_api = (
            "no local ElevenLabs API known (--elevenlabs-api-url, or make dev with ELEVENLABS_API_BASE): "
            "the web retrieve steps need one"
        )

        label = "elevenlabs: call starts (web)"
        if self.api:
            ms = self.tell_elevenlabs(label, "in-progress")
            self.report(label, 200, ms, f"{self.conversation_id}, user_id {self.user_id}, no initiation webhook")
        else:
            self.skip(label, no_api)

        label = "retrieve: nothing yet (web)"
        status, body, ms = self.retrieve("What do we know about this user?")
        memories = self._memories(label, status, body)
        if memories:
            raise self.fail(label, f"expected no memories for a new web user, got {memories!r}")
        self.report(label, status, ms, f"0 memories, note {body.get('note', '')!r}")

        label = "post-call: webhook (web)"
        raw = self.webhook_body()
        signature = sign(raw, self.hmac_key, int(time.time()))
        status, body, ms = post(self.args.post_call_url, raw, {"elevenlabs-signature": signature})
        if status != 200 or not isinstance(body, dict) or body.get("status") != "accepted":
            raise self.fail(label, f"expected 200 {{'status': 'accepted'}}, got {status} {body!r}")
        self.report(label, status, ms, f"accepted {body.get('conversation_id')}, phone_call null")
        if self.api:
            self.tell_elevenlabs(label, "done")

        label = "wait: memories written (web)"
        query = f"Is the user allergic to anything, like {FACT_WORD}?"
        if not self.api:
            self.skip(label, no_api)
            self.skip("retrieve: what was said (web)", no_api)
        else:
            # The user comes back in a new conversation: ElevenLabs knows it from its start.
            self.conversation_id = f"conv_sim_{secrets.token_hex(10)}"
            self.tell_elevenlabs(label, "in-progress")
            polls, waited = self._wait_for_web_memories(label, query)
            self.report(label, "-", waited, f"found after {polls} poll(s), in conversation {self.conversation_id}")

            label = "retrieve: what was said (web)"
            status, body, ms = self.retrieve(query)
            memories = self._memories(label, status, body)
            found = [memory for memory in memories if FACT_WORD in str(memory).lower()]
            if not found:
                raise self.fail(label, f"expected a memory mentioning {FACT_WORD!r}, got {memories!r}")
            self.report(label, status, ms, f"{len(memories)} memories, e.g. {found[0]!r}")

        elapsed = time.perf_counter() - started
        passed = self.step - self.skipped
        if self.skipped:
            print(f"OK: {passed} steps passed, {self.skipped} SKIPPED ({no_api}) in {elapsed:.1f} s", flush=True)
        else:
            print(f"OK: all {self.step} steps passed in {elapsed:.1f} s", flush=True)

    def _wait_for_web_memories(self, label: str, query: str) -> tuple[int, float]:
        started = time.perf_counter()
        deadline = time.monotonic() + self.args.timeout
        polls = 0
        while True:
            polls += 1
            status, body, _ = self.retrieve(query)
            memories = self._memories(label, status, body)
            if any(FACT_WORD in str(memory).lower() for memory in memories):
                return polls, (time.perf_counter() - started) * 1000
            if time.monotonic() >= deadline:
                raise self.fail(
                    label,
                    f"no memory mentioning {FACT_WORD!r} after {self.args.timeout:g} s (last answer"
                    f" {body!r}). A note about a missing user id means the stack cannot ask ElevenLabs for the"
                    f" conversation: is ELEVENLABS_API_KEY set on it, and ELEVENLABS_API_BASE={self.api}?",
                )
            time.sleep(self.args.poll_interval)


class BriefCall(Call):
    """Three calls of one caller, and the brief the agent receives on the third.

    The first call is the sample's (a name, a delivery preference); the second, a day later, moves the
    delivery, leaves a promise open (the ``follow_up`` data collection item) and states a preference
    (``preferences``), as ElevenLabs' analysis fills the items scripts/elevenlabs_agent.py configures. The
    third call's initiation answer is printed: ``memory_context``, the caller brief, and the brief's own
    variables. It must name the caller, count two calls, hold the open follow-up and both calls' gists.
    """

    kind = "brief"
    FOLLOW_UP = "Email the confirmation of the Friday delivery"
    SECOND_TITLE = "Delivery moved to Friday"

    def headline(self) -> str:
        return f"Simulating three calls from {self.caller} ({self.name}) and the brief of the third"

    def second_call_body(self) -> bytes:
        """The second call's webhook: a day after the first, its own conversation, a follow-up left open."""
        payload = json.loads(self.webhook_body())
        data = payload["data"]
        second = f"{self.conversation_id}_2"
        data["conversation_id"] = second
        data["conversation_initiation_client_data"]["dynamic_variables"]["system__conversation_id"] = second
        now = int(time.time())
        data["metadata"]["start_time_unix_secs"] = now - 3600
        payload["event_timestamp"] = now - 3500
        turns = data["transcript"]
        user = next(turn for turn in turns if turn.get("role") == "user")
        agent = next(turn for turn in turns if turn.get("role") == "agent" and turn.get("message"))
        said = [
            (user, f"Hi, it's {self.first} again. Could the vases come on Friday instead? And email me, please."),
            (agent, "Of course: Friday it is. I'll email you the confirmation today."),
        ]
        data["transcript"] = [
            {**turn, "message": text, "time_in_call_secs": 5 * i} for i, (turn, text) in enumerate(said)
        ]
        analysis = data["analysis"]
        analysis["transcript_summary"] = f"{self.name} moved the vase delivery to Friday and asked for email."
        analysis["call_summary_title"] = self.SECOND_TITLE
        results = analysis["data_collection_results"]
        results["follow_up"] = {"data_collection_id": "follow_up", "value": self.FOLLOW_UP, "rationale": "Promised."}
        results["preferences"] = {"data_collection_id": "preferences", "value": "contact: email", "rationale": "Said."}
        return json.dumps(payload).encode()

    def webhook_body(self) -> bytes:
        payload = json.loads(super().webhook_body())
        start = int(time.time()) - 86400  # the first call: yesterday
        payload["data"]["metadata"]["start_time_unix_secs"] = start
        payload["event_timestamp"] = start + 120
        return json.dumps(payload).encode()

    def _deliver(self, label: str, raw: bytes) -> None:
        signature = sign(raw, self.hmac_key, int(time.time()))
        status, body, ms = post(self.args.post_call_url, raw, {"elevenlabs-signature": signature})
        if status != 200 or not isinstance(body, dict) or body.get("status") != "accepted":
            raise self.fail(label, f"expected 200 {{'status': 'accepted'}}, got {status} {body!r}")
        self.report(label, status, ms, f"accepted {body.get('conversation_id')}")

    def _wait_for_calls(self, label: str, calls: int) -> dict[str, str]:
        """Poll conversation initiation until the brief counts ``calls`` calls (every write landed)."""
        started, deadline, polls = time.perf_counter(), time.monotonic() + self.args.timeout, 0
        while True:
            polls += 1
            status, body, _ = self.client_data()
            variables = self._variables(label, status, body)
            if variables.get("caller_relationship", "").startswith(f"{calls} call"):
                self.report(
                    label, "-", (time.perf_counter() - started) * 1000, f"{calls} call(s) after {polls} poll(s)"
                )
                return variables
            if time.monotonic() >= deadline:
                raise self.fail(
                    label,
                    f"the brief did not count {calls} call(s) after {self.args.timeout:g} s"
                    f" (caller_relationship={variables.get('caller_relationship')!r}): is the stack this tree's?",
                )
            time.sleep(self.args.poll_interval)

    def run(self) -> None:
        print(f"{self.headline()} against {self.args.target_label}", flush=True)
        started = time.perf_counter()
        label = "client-data: first call"
        status, body, ms = self.client_data()
        if self._variables(label, status, body).get("returning_caller") != "no":
            raise self.fail(label, "expected a new caller: pick another --caller or reset local data")
        self.report(label, status, ms, "returning_caller=no")
        self._deliver("post-call: first call", self.webhook_body())
        self._wait_for_calls("wait: first call remembered", 1)
        label = "client-data: second call"
        status, body, ms = self.client_data()
        second = self._variables(label, status, body)
        self.report(
            label, status, ms, f"returning_caller={second.get('returning_caller')}, {second.get('caller_relationship')}"
        )
        self._deliver("post-call: second call", self.second_call_body())
        self._wait_for_calls("wait: second call remembered", 2)
        label = "client-data: third call"
        status, body, ms = self.client_data()
        third = self._variables(label, status, body)
        brief = third.get("memory_context", "")
        wanted = [self.name, "2 calls", self.FOLLOW_UP, self.SECOND_TITLE, "Vase order delivery", "contact: email"]
        missing = [text for text in wanted if text not in brief]
        if missing:
            raise self.fail(label, f"the brief lacks {missing!r}:\n{brief}")
        self.report(label, status, ms, f"the brief the agent receives ({len(brief)} characters):")
        print("\n".join(f"    {line}" for line in brief.splitlines()), flush=True)
        for name in ("caller_relationship", "open_follow_up", "recent_calls", "memory_summary"):
            print(f"    {{{{{name}}}}} = {third.get(name, '')!r}", flush=True)
        print(f"OK: all {self.step} steps passed in {time.perf_counter() - started:.1f} s", flush=True)


CALLS = {"inbound": Call, "outbound": OutboundCall, "web": WebCall, "brief": BriefCall}


def call_kinds(text: str) -> list[str]:
    """``"inbound,web"`` -> ``["inbound", "web"]``; ``"all"`` -> every kind; ``[]`` for anything unknown."""
    parts = [part.strip().lower() for part in (text or "").split(",") if part.strip()]
    if parts == ["all"]:
        return list(CALL_KINDS)
    if not parts or any(part not in CALL_KINDS for part in parts):
        return []
    return list(dict.fromkeys(parts))


def first_agent_number(env_file: Path) -> str | None:
    """The first of AGENT_PHONE_NUMBERS, from the environment, else the .env file."""
    raw = os.environ.get("AGENT_PHONE_NUMBERS") or parse_env_file(env_file).get("AGENT_PHONE_NUMBERS") or ""
    numbers = [number.strip() for number in raw.split(",") if number.strip()]
    return numbers[0] if numbers else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=None, help="a stack's base URL, instead of finding one")
    parser.add_argument("--client-data-url", help="full URL of the conversation-initiation webhook")
    parser.add_argument("--retrieve-url", help="full URL of the retrieve tool")
    parser.add_argument("--post-call-url", help="full URL of the post-call webhook")
    parser.add_argument("--workspace-key", help="X-Workspace-Key value (default: the stack's)")
    parser.add_argument("--hmac-key", help="post-call webhook secret (default: the stack's)")
    parser.add_argument(
        "--env-file", type=Path, default=ROOT / ".env", help="keys for URLs given directly (default .env)"
    )
    parser.add_argument("--caller", help="caller number (default: a random +1555 number, so a new caller)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the memories (default 30)")
    parser.add_argument("--poll-interval", type=float, default=0.25, help=argparse.SUPPRESS)
    parser.add_argument(
        "--calls",
        default="inbound",
        help="which calls to play, comma-separated: inbound, outbound, web, brief (three calls of one caller"
        " and the brief of the third), or all (default inbound)",
    )
    parser.add_argument(
        "--agent-number",
        help="outbound: the stack's own number that dials out; it must be in the stack's AGENT_PHONE_NUMBERS"
        f" (default: the first of AGENT_PHONE_NUMBERS in the environment or --env-file, else {AGENT_NUMBER})",
    )
    parser.add_argument("--web-user", help="web: the user id the web app passes (default: a random one)")
    parser.add_argument(
        "--elevenlabs-api-url",
        help="web: the local fake of ElevenLabs' conversations API the stack uses (default: found from make dev's"
        " state or ELEVENLABS_API_BASE; without one the web retrieve steps are skipped)",
    )
    stackfind.add_arguments(parser)
    args = parser.parse_args(argv)

    explicit = (args.client_data_url, args.retrieve_url, args.post_call_url)
    if any(explicit) and not all(explicit):
        parser.error("give all three of --client-data-url, --retrieve-url and --post-call-url, or none")
    direct = args.base_url is not None or all(explicit)
    if direct and stackfind.chosen(args):
        parser.error(f"{stackfind.chosen(args)[0]} names a stack and the URLs name endpoints: give one or the other")
    try:
        workspace_key, hmac_key = resolve_endpoints(args)
    except stackfind.TargetError as exc:
        return stackfind.fail(exc)
    for url in (args.client_data_url, args.retrieve_url, args.post_call_url):
        if not url.startswith(("http://", "https://")):
            parser.error(f"not an http(s) URL: {url}")
    if not workspace_key or not hmac_key:
        where = "the stack's .env" if not direct else str(args.env_file)
        parser.error(
            "no keys: pass --workspace-key and --hmac-key, or set ELEVENLABS_WORKSPACE_KEY/ELEVENLABS_HMAC_KEY"
            f" (looked in the environment and {where})"
        )
    kinds = call_kinds(args.calls)
    if not kinds:
        parser.error(f"--calls takes {', '.join(CALL_KINDS)} or all, comma-separated, not {args.calls!r}")
    if args.caller and sum(kind != "web" for kind in kinds) > 1:
        parser.error("--caller names one caller: play one of inbound or outbound with it")
    args.agent_number = args.agent_number or first_agent_number(args.env_file) or AGENT_NUMBER
    args.elevenlabs_api = local_elevenlabs_api(args, direct=direct) if "web" in kinds else None
    try:
        for kind in kinds:
            CALLS[kind](args, workspace_key, hmac_key).run()
    except StepFailed as exc:
        print(f"FAILED {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def resolve_endpoints(args: argparse.Namespace) -> tuple[str, str]:
    """Fill in the three URLs and ``target_label``; return the (workspace, HMAC) keys to use.

    URLs given directly: keys from the flags, the environment, then --env-file. Otherwise the stack
    that scripts/stackfind.py finds: its URLs, and its keys unless the flags give them.
    """
    names = ("ELEVENLABS_WORKSPACE_KEY", "ELEVENLABS_HMAC_KEY")
    flags = (args.workspace_key, args.hmac_key)
    if args.base_url is not None or args.client_data_url:
        if args.base_url is not None:
            args.base_url = args.base_url.rstrip("/")
            args.client_data_url = f"{args.base_url}/client-data"
            args.retrieve_url = f"{args.base_url}/retrieve"
            args.post_call_url = f"{args.base_url}/post-call"
        args.target_label = args.base_url or "the given URLs"
        values = parse_env_file(args.env_file)
        keys = [
            first_secret(flag, os.environ.get(name), values.get(name)) for flag, name in zip(flags, names, strict=True)
        ]
        return keys[0], keys[1]
    target = stackfind.resolve(args)
    if target is None:  # not reached: resolve raises when no stack is found
        raise stackfind.TargetError("no stack found")
    args.client_data_url = target.url("client-data")
    args.retrieve_url = target.url("retrieve")
    args.post_call_url = target.url("post-call")
    args.target_label = target.label
    keys = [first_secret(flag) or first_secret(target.secret(name)) for flag, name in zip(flags, names, strict=True)]
    return keys[0], keys[1]


if __name__ == "__main__":
    sys.exit(main())
