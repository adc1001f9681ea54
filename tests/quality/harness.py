"""Plays the quality suite's stories through the real handlers and scores the briefs.

Each call of a story goes the whole way a real one does: its signed post-call webhook reaches
``post_call``'s handler, the job that handler hands to Lambda runs through the same handler as the
asynchronous worker, against the local Mem0 stand-in (scripts/standins/mem0.py) and DynamoDB (moto's
server, tables as template.yaml defines them); an answering-machine verdict is delivered the same way.
The brief is what ``client_data``'s handler answers for the caller's next call: ``memory_context``, the
text the agent's prompt receives.

Only handlers and stores that exist since before the brief was built are used here, so the same
stories can score an older tree (scripts/brief_quality.py --src), which is how "before" was measured.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.quality.calls import OUR_NUMBER, Call, Machine, machine_event, webhook
from tests.quality.stories import Check, Story

WORKSPACE_KEY = "quality-workspace-key-0123456789"
HMAC_KEY = "quality-hmac-secret-0123456789ab"
MEM0_KEY = "quality-mem0-key"


def normal(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class CheckResult:
    story: str
    caller: str
    brief: str
    said: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.leaked


def judge(story: str, check: Check, variables: dict[str, str]) -> CheckResult:
    """What ``check`` finds in a brief (``variables["memory_context"]``): each expected text present or
    missing, each forbidden text absent or leaked (case-insensitive, whitespace collapsed)."""
    brief = variables.get("memory_context", "")
    seen = normal(brief)
    result = CheckResult(story, check.caller, brief, variables=variables)
    for text in check.says:
        (result.said if normal(text) in seen else result.missing).append(text)
    for text in check.never:
        (result.leaked if normal(text) in seen else result.absent).append(text)
    return result


@dataclass
class Score:
    expected: int = 0
    present: int = 0
    forbidden: int = 0
    absent: int = 0

    def add(self, result: CheckResult) -> None:
        self.expected += len(result.said) + len(result.missing)
        self.present += len(result.said)
        self.forbidden += len(result.absent) + len(result.leaked)
        self.absent += len(result.absent)

    @property
    def facts(self) -> int:
        return self.expected + self.forbidden

    @property
    def right(self) -> int:
        return self.present + self.absent

    def line(self) -> str:
        share = 100 * self.right / max(1, self.facts)
        return (
            f"expected and present {self.present}/{self.expected}, must be absent and absent "
            f"{self.absent}/{self.forbidden}, total {self.right}/{self.facts} ({share:.1f}%)"
        )


class Stack:
    """The three handlers over the Mem0 stand-in and a local DynamoDB, configured by environment
    variables as the template configures the functions. ``agent_numbers``: AGENT_PHONE_NUMBERS."""

    def __init__(self, *, dynamodb_url: str | None = None) -> None:
        self._dynamodb_url = dynamodb_url
        self._exit = ExitStack()
        self._saved: dict[str, str | None] = {}
        self.jobs: list[dict[str, Any]] = []
        self.mem0: Any = None

    def _setenv(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        import boto3

        from standins.dynamodb import running_dynamodb
        from standins.mem0 import running_mem0_server
        from standins.sam_template import Template

        for name, value in {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "MEM0_TELEMETRY": "false",
            "ELEVENLABS_WORKSPACE_KEY": WORKSPACE_KEY,
            "ELEVENLABS_HMAC_KEY": HMAC_KEY,
            "AGENT_PHONE_NUMBERS": OUR_NUMBER,
            "DEFAULT_REGION": "US",
            # Every agent of the stories has memory (agents opt in, DESIGN.md section 6: MEMORY_AGENT_IDS).
            "MEMORY_AGENT_IDS": "*",
        }.items():
            self._setenv(name, value)
        for name in ("MEMORY_SCOPE", "AWS_SESSION_TOKEN", "MEMORY_RETENTION_DAYS", "CALLER_DISCLOSURE"):
            self._saved.setdefault(name, os.environ.get(name))
            os.environ.pop(name, None)
        self.mem0 = self._exit.enter_context(running_mem0_server(api_key=MEM0_KEY))
        self._setenv("MEM0_HOST", self.mem0.url)
        self._setenv("MEM0_API_KEY", MEM0_KEY)
        url = self._dynamodb_url or self._exit.enter_context(running_dynamodb()).url
        self._setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        suffix = uuid.uuid4().hex[:8]
        tables = Template.read().tables()
        client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
        for variable in ("PROFILE_TABLE", "IDEMPOTENCY_TABLE"):
            self._setenv(variable, tables[variable].create(client, f"quality-{variable.lower()}-{suffix}"))
        self._reset()
        from agentic_memory.stores import lambda_invoke

        original = lambda_invoke.invoke_async
        lambda_invoke.invoke_async = self._queue  # type: ignore[assignment]
        self._exit.callback(setattr, lambda_invoke, "invoke_async", original)

    def __exit__(self, *exc: Any) -> None:
        try:
            self._exit.close()
        finally:
            for name, value in self._saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self._reset()

    @staticmethod
    def _reset() -> None:
        from agentic_memory.config import get_settings
        from agentic_memory.stores import aws_clients, idempotency, lambda_invoke, mem0, profile_reader, profile_table

        get_settings.cache_clear()
        for reset in (
            mem0.reset_clients,
            idempotency.reset,
            profile_reader.reset,
            profile_table.reset,
            aws_clients.reset_clients,
            lambda_invoke.reset,
        ):
            reset()

    def _queue(self, function_name: str, payload: bytes, *args: Any, **kwargs: Any) -> Any:
        self.jobs.append(json.loads(payload))
        return None

    # ------------------------------------------------------------------ ElevenLabs' side of a call

    def deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        """Sign and deliver one webhook body; run the jobs it queued, as Lambda would; let Mem0 extract.
        Returns the webhook's answer (its JSON body)."""
        from agentic_memory.edge.auth import sign
        from post_call.handler import lambda_handler as post_call
        from tests.support import LambdaContext, http_event

        raw = json.dumps(body).encode()
        headers = {"elevenlabs-signature": sign(raw, HMAC_KEY, int(time.time()))}
        response = post_call(http_event("/post-call", raw, headers), LambdaContext())
        if response["statusCode"] != 200:
            raise AssertionError(f"the webhook answered {response['statusCode']}: {response.get('body')}")
        while self.jobs:
            post_call(self.jobs.pop(0), LambdaContext())
        if not self.mem0.wait_idle(timeout=30):
            raise AssertionError("the Mem0 stand-in still has extractions pending")
        return json.loads(response["body"])

    def brief(self, caller: str) -> dict[str, str]:
        """The dynamic variables ``client_data`` answers when ``caller`` calls in."""
        from client_data.handler import lambda_handler as client_data
        from tests.support import LambdaContext, http_event

        body = {
            "caller_id": caller,
            "agent_id": "agent_4801kqualityreception000",
            "called_number": OUR_NUMBER,
            "call_sid": "CA" + uuid.uuid4().hex,
            "conversation_id": "conv_q_next_" + uuid.uuid4().hex[:12],
        }
        response = client_data(http_event("/client-data", body, {"x-workspace-key": WORKSPACE_KEY}), LambdaContext())
        if response["statusCode"] != 200:
            raise AssertionError(f"client-data answered {response['statusCode']}: {response.get('body')}")
        return json.loads(response["body"])["dynamic_variables"]


def play(stack: Stack, story: Story) -> list[CheckResult]:
    """Every step of ``story`` on ``stack``; the result of each check, in order."""
    results = []
    last_time = 0
    for step in story.steps:
        if isinstance(step, Call):
            body = webhook(step)
            last_time = body["event_timestamp"]
            stack.deliver(body)
        elif isinstance(step, Machine):
            last_time += 20
            stack.deliver(machine_event(step, last_time))
        else:
            results.append(judge(story.name, step, stack.brief(step.caller)))
    return results


@contextmanager
def stack(**kwargs: Any) -> Iterator[Stack]:
    with Stack(**kwargs) as running:
        yield running
