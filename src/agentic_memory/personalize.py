"""What we remember of a caller, turned into the conversation-initiation answer.

Every answer carries the same full set of string dynamic variables, new caller or returning:
an agent that declares ``{{greeting}}`` and ``{{memory_context}}`` fails the call when one is
missing. Personal data goes through dynamic variables; ``conversation_config_override`` is sent
only when configured, because overriding a field the agent's Security tab does not allow fails
the call too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agentic_memory.config import Settings
from agentic_memory.memory import MemoryRecord

RESPONSE_TYPE = "conversation_initiation_client_data"
VARIABLES = (
    "caller_id",
    "returning_caller",
    "memory_count",
    "caller_name",
    "memory_summary",
    "last_call_summary",
    "memory_context",
    "greeting",
)
KIND_SUMMARY = "call_summary"
KIND_FACT = "fact"
MAX_FACTS = 6
MAX_SUMMARY_CHARS = 400
MAX_CONTEXT_CHARS = 1200

# Mem0's own extraction writes what the caller said about their name as "Name is Sam".
_STATED_NAME = re.compile(r"^(?:the )?(?:user'?s |caller'?s |my )?name is ([A-Za-z][A-Za-z'\-]{0,29})", re.I)
_NAME_CHARS = re.compile(r"[^A-Za-zÀ-ÖØ-öø-ÿ' \-]")


def clean_name(raw: Any) -> str:
    """A name safe to speak and to put in a prompt: letters, spaces, apostrophes, hyphens; short."""
    if not isinstance(raw, str):
        return ""
    name = " ".join(_NAME_CHARS.sub(" ", raw).split())[:40].strip(" -'")
    return name.title() if name.islower() or name.isupper() else name


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def caller_name(records: Sequence[MemoryRecord]) -> str:
    """Newest explicit name (data collection, or the caller saying it), else Mem0's "Name is ..." fact."""
    for record in records:
        name = clean_name(record.metadata.get("caller_name"))
        if name:
            return name
    for record in records:
        match = _STATED_NAME.match(record.text)
        if match:
            return clean_name(match.group(1))
    return ""


def variables(caller: str | None, total: int, records: Sequence[MemoryRecord], settings: Settings) -> dict[str, str]:
    """The dynamic variables, all strings, for a caller whose memories are ``records`` (newest first)."""
    summaries = [r for r in records if r.metadata.get("kind") == KIND_SUMMARY]
    # The name has a line of its own; "Caller's name is ..." facts would only repeat it.
    facts = [r.text for r in records if r.metadata.get("kind") != KIND_SUMMARY and not _STATED_NAME.match(r.text)][
        :MAX_FACTS
    ]
    returning = bool(caller and total > 0)
    name = caller_name(records) if returning else ""
    last = summaries[0] if summaries else None
    last_summary = _shorten(last.text, MAX_SUMMARY_CHARS) if last else ""

    context_lines = []
    if returning:
        context_lines.append("What you remember about this caller from earlier calls:")
        if name:
            context_lines.append(f"- Their name is {name}.")
        context_lines += [f"- {_shorten(fact, 200)}" for fact in facts]
        if last:
            when = str(last.metadata.get("date") or "")[:10]
            context_lines.append(f"Last call{f' ({when})' if when else ''}: {last_summary}")
    context = _shorten_lines(context_lines, MAX_CONTEXT_CHARS)

    if not returning:
        greeting = settings.greeting_new
    elif name:
        greeting = settings.greeting_returning_named.replace("{name}", name)
    else:
        greeting = settings.greeting_returning
    return {
        "caller_id": caller or "",
        "returning_caller": "yes" if returning else "no",
        "memory_count": str(total if returning else 0),
        "caller_name": name,
        "memory_summary": _shorten("; ".join(facts), MAX_SUMMARY_CHARS) if returning else "",
        "last_call_summary": last_summary,
        "memory_context": context,
        "greeting": greeting,
    }


def _shorten_lines(lines: list[str], limit: int) -> str:
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def client_data_response(dynamic: dict[str, str], settings: Settings) -> dict[str, Any]:
    """The webhook's answer; the override only for the fields switched on by CONVERSATION_OVERRIDE."""
    response: dict[str, Any] = {"type": RESPONSE_TYPE, "dynamic_variables": dynamic}
    agent: dict[str, Any] = {}
    if "first_message" in settings.conversation_override:
        agent["first_message"] = dynamic["greeting"]
    if "prompt" in settings.conversation_override and settings.override_prompt_template:
        prompt = settings.override_prompt_template
        for key, value in dynamic.items():
            prompt = prompt.replace("{{" + key + "}}", value)
        agent["prompt"] = {"prompt": prompt}
    if agent:
        response["conversation_config_override"] = {"agent": agent}
    return response
