"""Tolerant payload models: what ElevenLabs sends today and adds later."""

from __future__ import annotations

import pytest

from agentic_memory.domain.conversation import PostCallEnvelope, TranscriptionData
from agentic_memory.edge.requests import InitiationRequest, RetrieveRequest, parse
from agentic_memory.errors import BadRequest


def transcription(**data):
    return TranscriptionData.model_validate(data)


class TestModels:
    def test_unknown_fields_are_accepted(self):
        envelope = PostCallEnvelope.model_validate({"type": "post_call_future", "data": {}, "new_field": 1})
        assert envelope.type == "post_call_future"
        data = transcription(conversation_id="c", brand_new={"x": 1}, transcript=[{"role": "user", "extra": 1}])
        assert data.transcript[0].message is None

    def test_numbers_may_arrive_as_json_numbers(self):
        # SIP sends numbers as dialled; some arrive as JSON numbers (DESIGN.md 3.1 and 3.3).
        request = parse(InitiationRequest, {"caller_id": 16129782029, "called_number": "3232"}, "initiation")
        assert request.caller_id == 16129782029

    def test_initiation_fields_must_be_scalars(self):
        with pytest.raises(BadRequest, match="caller_id"):
            parse(InitiationRequest, {"caller_id": {"number": "+16129782029"}}, "initiation")

    def test_an_interrupted_turn_keeps_both_texts(self):
        data = transcription(
            transcript=[{"role": "agent", "message": "Your order", "original_message": "Your order ships today."}]
        )
        assert data.transcript[0].message == "Your order"
        assert data.transcript[0].original_message == "Your order ships today."

    @pytest.mark.parametrize("payload", [{}, {"caller_id": "+1"}, {"query": "  "}, {"query": 5}])
    def test_retrieve_needs_a_query(self, payload):
        with pytest.raises(BadRequest) as error:
            parse(RetrieveRequest, payload, "retrieve request")
        assert error.value.status == 400

    def test_retrieve_system_variables_may_be_null(self):
        request = parse(
            RetrieveRequest,
            {"query": "orders", "caller_id": None, "called_number": None, "conversation_id": "conv_1"},
            "retrieve request",
        )
        assert request.caller_id is None
        assert request.conversation_id == "conv_1"
