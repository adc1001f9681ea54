"""Twilio's answering-machine verdict as ElevenLabs' own webhook event (agentic_memory.domain.answering_machine).

The payload's shape is not in the SDK (platform-notes/refresh-2026-12.md E1): what is assumed is read, and
anything else is "nothing we can act on", never an error.
"""

from __future__ import annotations

import pytest
from elevenlabs.types.twilio_answered_by import TwilioAnsweredBy

from agentic_memory.domain import answering_machine
from tests.unit.test_corpus_sdk import _open_enum_values

CONVERSATION = "conv_4801kcorpus0amd0machine000"


@pytest.mark.parametrize(
    "data",
    [
        {"agent_id": "agent_x", "conversation_id": CONVERSATION, "answered_by": "machine_end_beep"},
        {"conversation_id": CONVERSATION, "AnsweredBy": "machine_end_beep"},  # Twilio's own name
        {"conversation_id": CONVERSATION, "result": {"answered_by": "MACHINE_END_BEEP "}},  # nested, cased
    ],
)
def test_a_verdict_is_read_from_the_shapes_assumed(data):
    assert answering_machine.read(data) == (CONVERSATION, "machine_end_beep")


@pytest.mark.parametrize(
    "data",
    [
        {"conversation_id": CONVERSATION},
        {"conversation_id": CONVERSATION, "answered_by": "probably a robot"},
        {"answered_by": "machine_start"},
        {"conversation_id": "", "answered_by": "machine_start"},
        {"conversation_id": "conv with spaces", "answered_by": "machine_start"},
        "not an object",
    ],
)
def test_a_payload_without_a_conversation_or_a_known_verdict_gives_nothing_to_act_on(data):
    conversation, verdict = answering_machine.read(data)
    assert conversation is None or verdict is None


def test_machine_verdicts_are_the_sdks_machine_and_fax_values():
    listed = _open_enum_values(TwilioAnsweredBy)
    # Every verdict we know is one the SDK lists, and every listed value is known
    assert listed == answering_machine.KNOWN
    assert {verdict for verdict in listed if answering_machine.is_machine(verdict)} == {
        "fax",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
    }
    assert not answering_machine.is_machine("human")
    assert not answering_machine.is_machine("unknown")
    assert not answering_machine.is_machine(None)
