"""The memory scope of a call (DESIGN.md section 6): which Mem0 ``app_id`` its memories are kept under.

``MEMORY_SCOPE=shared`` (the default) keeps one set of memories per caller across the workspace's
agents: no ``app_id``. ``MEMORY_SCOPE=agent`` keeps each agent's callers apart: ``app_id`` is the agent's
id, and a call whose agent is unknown goes to a scope of its own (``UNKNOWN_AGENT``) rather than being
shared. ``client_data`` and ``retrieve`` read the scope the worker writes, through this one rule.
"""

from __future__ import annotations

from typing import Any

from agentic_memory.config import Settings
from agentic_memory.domain.memory_labels import UNKNOWN_AGENT
from agentic_memory.domain.text import single_line

MAX_AGENT_ID_CHARS = 200


def app_id_for(agent_id: Any, settings: Settings) -> str | None:
    """Mem0 ``app_id`` for a call of ``agent_id``: ``None`` in the shared scope; with ``MEMORY_SCOPE=agent``,
    the agent id as one clean line of at most 200 characters, or ``UNKNOWN_AGENT`` without one."""
    if settings.memory_scope != "agent":
        return None
    cleaned = single_line(agent_id, MAX_AGENT_ID_CHARS) if isinstance(agent_id, str) else None
    return cleaned or UNKNOWN_AGENT
