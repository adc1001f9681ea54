"""Agents opt in (issue 20, DESIGN.md section 6): the one rule every path asks, and its setting."""

from __future__ import annotations

import pytest

from agentic_memory.config import load_settings
from agentic_memory.domain import agents

BAKERY = "agent_bakery0000000000000001"
CLINIC = "agent_clinic0000000000000002"


def settings_with(monkeypatch, **env):
    for name in ("MEMORY_AGENT_IDS", "RECONCILE_AGENT_IDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_unset_no_agent_has_memory(monkeypatch):
    # Given a deployment that never named an agent
    settings = settings_with(monkeypatch)
    # Then no agent has memory and reconcile has no agent to list
    assert settings.memory_agent_ids == ()
    for agent in (BAKERY, CLINIC, None, "", "*"):
        assert agents.memory_enabled(agent, settings) is False
    assert agents.agents_to_list(settings) == ()


def test_listed_agents_have_memory_and_no_other(monkeypatch):
    settings = settings_with(monkeypatch, MEMORY_AGENT_IDS=f" {BAKERY} , agent_other ,")
    assert settings.memory_agent_ids == (BAKERY, "agent_other")
    assert agents.memory_enabled(BAKERY, settings)
    assert agents.memory_enabled(f"  {BAKERY} ", settings)  # as the request may pad it
    for agent in (CLINIC, BAKERY.upper(), BAKERY[:-1], None, 42, "", "*"):
        assert agents.memory_enabled(agent, settings) is False
    assert agents.agents_to_list(settings) == (BAKERY, "agent_other")


def test_star_opts_in_every_agent_even_a_request_without_one(monkeypatch):
    settings = settings_with(monkeypatch, MEMORY_AGENT_IDS="*")
    for agent in (BAKERY, CLINIC, None, ""):
        assert agents.memory_enabled(agent, settings)
    assert agents.agents_to_list(settings) == (None,)  # every agent the API key can see


def test_reconcile_agent_ids_narrow_the_enabled_agents(monkeypatch):
    both = settings_with(monkeypatch, MEMORY_AGENT_IDS=f"{BAKERY},{CLINIC}", RECONCILE_AGENT_IDS=CLINIC)
    assert agents.agents_to_list(both) == (CLINIC,)
    # an agent in RECONCILE_AGENT_IDS that has no memory is never listed
    disjoint = settings_with(monkeypatch, MEMORY_AGENT_IDS=BAKERY, RECONCILE_AGENT_IDS=CLINIC)
    assert agents.agents_to_list(disjoint) == ()
    # with every agent opted in, RECONCILE_AGENT_IDS alone chooses
    every = settings_with(monkeypatch, MEMORY_AGENT_IDS="*", RECONCILE_AGENT_IDS=CLINIC)
    assert agents.agents_to_list(every) == (CLINIC,)


@pytest.mark.parametrize(
    ("agent", "shown"),
    [(CLINIC, CLINIC), (None, "(none)"), ("", "(none)"), ("bad\nid", "(none)"), ("x" * 300, "x" * 64)],
)
def test_the_reason_names_the_agent_bounded_and_printable(agent, shown):
    reason = agents.not_enabled_reason(agent)
    assert reason == f"agent {shown} has no memory (not in MEMORY_AGENT_IDS)"
