"""Caller normalisation and resolution, and tolerant payload models."""

from __future__ import annotations

import pytest

from agentic_memory.elevenlabs import (
    InitiationRequest,
    PostCallEnvelope,
    RetrieveRequest,
    TranscriptionData,
    normalize_caller,
    parse,
    resolve_caller,
)
from agentic_memory.errors import BadRequest


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+16129782029", "+16129782029"),
        ("+1 (612) 978-2029", "+16129782029"),
        ("0044 20 7946 0958", "+442079460958"),
        ("6129782029", "+16129782029"),
        ("16129782029", "+16129782029"),
        ("+44.20.7946.0958", "+442079460958"),
        ("  +33 6 12 34 56 78 ", "+33612345678"),
    ],
)
def test_phone_numbers_become_e164(raw, expected):
    assert normalize_caller(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "anonymous", "Anonymous", "RESTRICTED", "unknown", "private", "+0123456", "12", 16129782029],
)
def test_withheld_or_invalid_numbers_mean_no_caller(raw):
    assert normalize_caller(raw) is None


def test_web_user_ids_are_kept_but_bounded():
    assert normalize_caller("user_8c1f") == "user_8c1f"
    assert normalize_caller("x" * 129) is None
    assert normalize_caller("bad\nid") is None
    assert normalize_caller("{{system__caller_id}}") is None


def test_ten_digit_numbers_use_the_default_country_only_for_nanp():
    assert normalize_caller("6129782029", default_country_code="44") is None


def transcription(**data):
    return TranscriptionData.model_validate(data)


class TestResolveCaller:
    def test_prefers_the_phone_calls_external_number(self):
        data = transcription(
            metadata={"phone_call": {"external_number": "+16129782029"}},
            conversation_initiation_client_data={"dynamic_variables": {"system__caller_id": "+15550000000"}},
            user_id="web-user",
        )
        assert resolve_caller(data) == "+16129782029"

    def test_then_the_system_caller_id(self):
        data = transcription(
            conversation_initiation_client_data={"dynamic_variables": {"system__caller_id": "+15551234567"}},
            user_id="web-user",
        )
        assert resolve_caller(data) == "+15551234567"

    def test_then_the_web_user_id(self):
        assert resolve_caller(transcription(user_id="web-user")) == "web-user"

    def test_withheld_everywhere_means_nobody(self):
        data = transcription(
            metadata={"phone_call": {"external_number": "anonymous"}},
            conversation_initiation_client_data={"dynamic_variables": {"system__caller_id": "anonymous"}},
        )
        assert resolve_caller(data) is None


class TestModels:
    def test_unknown_fields_are_accepted(self):
        envelope = PostCallEnvelope.model_validate({"type": "post_call_future", "data": {}, "new_field": 1})
        assert envelope.type == "post_call_future"
        data = transcription(conversation_id="c", brand_new={"x": 1}, transcript=[{"role": "user", "extra": 1}])
        assert data.transcript[0].message is None

    def test_initiation_fields_must_be_strings(self):
        with pytest.raises(BadRequest, match="caller_id"):
            parse(InitiationRequest, {"caller_id": 16129782029}, "initiation")

    @pytest.mark.parametrize(
        "payload",
        [{}, {"query": "x"}, {"user_id": "+1"}, {"query": "  ", "user_id": "+1"}, {"query": 5, "user_id": "+1"}],
    )
    def test_retrieve_needs_a_query_and_a_user(self, payload):
        with pytest.raises(BadRequest) as error:
            parse(RetrieveRequest, payload, "retrieve request")
        assert error.value.status == 400
