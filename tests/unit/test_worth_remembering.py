"""Which finished calls are remembered: the 2026 fields first (call_result, the message counts, a webhook
without turns), the older text rules as the fallback (agentic_memory.domain.worth_remembering).

Each case starts from a corpus payload the SDK validates (tests/corpus/post_call/fields_2026.json) and
changes the fields it is about. The cases marked "new field" are the ones the earlier rules got wrong.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from agentic_memory.domain.conversation import TranscriptionData
from agentic_memory.domain.worth_remembering import reason_not_remembered

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "post_call"
BASE = json.loads((CORPUS / "fields_2026.json").read_text())["data"]
MACHINE_GREETING = "Hi, you've reached the Novak family. Please leave a message after the tone."


def conversation(**changes: Any) -> TranscriptionData:
    """The base call (three user and three agent turns, answered) with ``changes``: ``call_result``,
    ``termination_reason``, ``users`` / ``agents`` (the counts; ``None`` = null), ``turns`` (role, text)."""
    data = copy.deepcopy(BASE)
    phone = data["metadata"]["phone_call"]
    if "call_result" in changes:
        phone["call_result"] = changes["call_result"]
    if "termination_reason" in changes:
        data["metadata"]["termination_reason"] = changes["termination_reason"]
    if "turns" in changes:
        data["transcript"] = [
            {**BASE["transcript"][0], "role": role, "message": text} for role, text in changes["turns"]
        ]
    if "users" in changes:
        data["user_message_count"] = changes["users"]
    if "agents" in changes:
        data["agent_message_count"] = changes["agents"]
    if changes.get("no_analysis"):
        data["analysis"] = None
    return TranscriptionData.model_validate(data)


def test_an_answered_call_with_both_sides_speaking_is_remembered():
    assert reason_not_remembered(conversation(call_result="answered")) is None


@pytest.mark.parametrize(
    ("result", "rule"),
    [("voicemail", "voicemail"), ("busy", "not_answered"), ("no_answer", "not_answered"), ("failed", "failed")],
)
def test_new_field_call_result_decides_when_the_text_says_nothing(result, rule):
    # Given a call whose termination_reason says nothing of voicemail, with a user turn (the greeting)
    call = conversation(
        call_result=result,
        termination_reason="Call ended by remote party",
        turns=[("user", MACHINE_GREETING), ("agent", "Hello, this is Harbor Dental.")],
        users=1,
        agents=1,
    )
    # Then call_result alone says it is not remembered
    assert reason_not_remembered(call) == rule


def test_the_voicemail_text_rule_still_holds_next_to_an_answered_call_result():
    # The agent's own voicemail detection ends a call Twilio reports answered (module docstring)
    call = conversation(call_result="answered", termination_reason="voicemail_detection tool was called.")
    assert reason_not_remembered(call) == "voicemail"


def test_new_field_user_message_count_zero_is_a_silent_caller_whatever_the_turns_hold():
    # Given a user turn of ASR noise that ElevenLabs did not count as a user message
    call = conversation(turns=[("agent", "Hello?"), ("user", "..."), ("agent", "Goodbye.")], users=0, agents=2)
    assert reason_not_remembered(call) == "caller_silent"


def test_new_field_agent_message_count_zero_is_no_conversation():
    # Given a greeting transcribed as the user's while the agent never spoke
    call = conversation(turns=[("user", MACHINE_GREETING)], users=1, agents=0)
    assert reason_not_remembered(call) == "agent_silent"


def test_null_counts_fall_back_to_reading_the_turns():
    # Given an older payload (no call_result, null counts)
    silent = conversation(turns=[("agent", "Hello? Anyone there?")], users=None, agents=None)
    spoke = conversation(turns=[("agent", "Hello?"), ("user", "Hi, it's Kenji.")], users=None, agents=None)
    assert reason_not_remembered(silent) == "caller_silent"
    assert reason_not_remembered(spoke) is None


def test_new_field_a_webhook_without_turns_is_remembered_from_its_analysis():
    # Given the webhook option exclude_transcript: no turns, the analysis and the counts still sent
    assert reason_not_remembered(conversation(turns=[], users=3, agents=3)) is None
    # ... and with null counts too (the option does not depend on them)
    assert reason_not_remembered(conversation(turns=[], users=None, agents=None)) is None


def test_a_webhook_without_turns_or_analysis_has_nothing_to_remember():
    assert reason_not_remembered(conversation(turns=[], users=None, agents=None, no_analysis=True)) == "no_content"


def test_counts_that_are_not_counts_are_unknown():
    # A count that is not a non-negative integer is read as null (unknown), never as "nobody spoke"
    data = copy.deepcopy(BASE)
    data["user_message_count"], data["agent_message_count"] = "0", -1
    parsed = TranscriptionData.model_validate(data)
    assert (parsed.user_message_count, parsed.agent_message_count) == (None, None)
    assert reason_not_remembered(parsed) is None
