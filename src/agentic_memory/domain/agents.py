"""Which agents have memory (DESIGN.md section 6): agents opt in, and every path asks this one rule.

ElevenLabs' post-call webhook is a workspace setting, so it delivers the calls of every agent in the
workspace (platform-notes/elevenlabs.md 4.6; the webhook is selected in the workspace's Agents platform
settings), and an API key lists every agent's conversations. Neither says whether an agent's owner wants
its callers remembered: a clinic's intake agent and a bakery's order line may share a workspace. So
memory is kept only for the agents named in ``MEMORY_AGENT_IDS`` (comma-separated agent ids, ``*`` for
every agent of the workspace); unset, no agent has memory. Why a list rather than "every agent that calls
our initiation webhook or tool": the initiation webhook's URL is a workspace setting too (any agent whose
Security switch is on calls it), ElevenLabs never sends it for web and widget conversations
(personalization docs, 2026: DESIGN.md 3.1), and the post-call webhook and the conversations API carry
no trace of either; a list is the one signal every path has, and an operator can read it.

The rule is asked by the post-call webhook and the worker (``domain.job``, ``worker.job_runner``),
reconcile and backfill (``worker.reconcile``: which agents are listed, and each conversation again),
``client_data`` and ``retrieve``. An agent that is not enabled gets 200 everywhere: nothing is read or
written for it.
"""

from __future__ import annotations

from typing import Any

from agentic_memory.config import Settings

EVERY_AGENT = "*"
MAX_AGENT_ID_CHARS = 200


def every_agent(settings: Settings) -> bool:
    """True when ``MEMORY_AGENT_IDS`` holds ``*``: every agent of the workspace has memory."""
    return EVERY_AGENT in settings.memory_agent_ids


def memory_enabled(agent_id: Any, settings: Settings) -> bool:
    """Whether calls of ``agent_id`` (ElevenLabs' ``agent_id`` / ``system__agent_id``, a string) are read
    and written. With ``*`` every agent is, even one whose id the request left out (the tool schema of
    earlier versions sent none); otherwise only an exact id from ``MEMORY_AGENT_IDS``."""
    if every_agent(settings):
        return True
    if not isinstance(agent_id, str):
        return False
    text = agent_id.strip()
    return bool(text) and len(text) <= MAX_AGENT_ID_CHARS and text in settings.memory_agent_ids


def agents_to_list(settings: Settings) -> tuple[str | None, ...]:
    """The agents whose conversations reconcile lists (``None``: every agent the API key can see).

    ``RECONCILE_AGENT_IDS`` narrows the enabled agents further; with ``*`` it chooses alone. Empty when no
    agent has memory, or when the two lists share no agent: then there is nothing to list."""
    chosen = settings.reconcile_agent_ids
    if every_agent(settings):
        return tuple(chosen) if chosen else (None,)
    enabled = tuple(agent for agent in settings.memory_agent_ids if agent != EVERY_AGENT)
    return tuple(agent for agent in enabled if not chosen or agent in chosen)


def not_enabled_reason(agent_id: Any) -> str:
    """The reason given for a call of an agent without memory: the agent id (not caller data), bounded."""
    shown = agent_id.strip()[:64] if isinstance(agent_id, str) and agent_id.strip().isprintable() else "(none)"
    return f"agent {shown or '(none)'} has no memory (not in MEMORY_AGENT_IDS)"
