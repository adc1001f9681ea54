"""One identity resolver for every entry point (DESIGN.md section 5): the inputs of issue 10's
"What fails today" list, each as a test."""

from __future__ import annotations

import pytest

from agentic_memory.config import load_settings
from agentic_memory.domain import identity
from agentic_memory.domain.conversation import TranscriptionData
from agentic_memory.edge.requests import InitiationRequest, RetrieveRequest

OURS = "+15550100001"


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("AGENT_PHONE_NUMBERS", f"{OURS}, +15550100002")
    monkeypatch.delenv("DEFAULT_REGION", raising=False)
    monkeypatch.delenv("DEFAULT_COUNTRY_CODE", raising=False)
    return load_settings()


def settings_with(monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


class TestPhoneNumbers:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("+16129782029", "+16129782029"),
            ("+1 (612) 978-2029", "+16129782029"),
            ("0044 20 7946 0958", None),  # "00" is not the US international prefix (011)
            ("011 44 20 7946 0958", "+442079460958"),
            ("6129782029", "+16129782029"),
            ("16129782029", "+16129782029"),
            ("+44.20.7946.0958", "+442079460958"),
            ("  +33 6 12 34 56 78 ", "+33612345678"),
            ("+9196631 00122", "+919663100122"),  # as ElevenLabs sent it in a captured outbound call
            (16129782029, "+16129782029"),  # data collection's integer
            ("tel:+15550100006", "+15550100006"),
            ("tel:+1-555-010-0006;ext=12", "+15550100006"),
            ('"Front Desk" <sip:+15550100005@pbx.example.com;user=phone>', "+15550100005"),
            ("sip:15550100007@trunk.example.com", "+15550100007"),
            ("447700900123", "+447700900123"),  # a SIP caller without "+", another country
        ],
    )
    def test_forms_of_one_number_give_its_e164(self, settings, raw, expected):
        assert identity.phone(raw, settings) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            "*",
            "Unknown Caller",
            "blocked",
            "null",
            "anonymous",
            "Restricted",
            "PRIVATE",
            "<sip:anonymous@anonymous.invalid>",
            "sip:anonymous@example.com",
            "+266696687",  # Twilio's keypad numbers for withheld callers: ANONYMOUS,
            "266696687",
            "+7378742833",  # RESTRICTED
            "+2562533",  # BLOCKED
            "+8656696",  # UNKNOWN
            "+86282452253",  # UNAVAILABLE
            "3232",  # a SIP extension
            "{{system__caller_id}}",
            "",
            None,
            True,
            "+1",
            "12",
            "call me maybe",
        ],
    )
    def test_withheld_or_meaningless_is_no_caller(self, settings, raw):
        assert identity.phone(raw, settings) is None

    def test_national_numbers_use_the_default_region(self, monkeypatch):
        uk = settings_with(monkeypatch, DEFAULT_REGION="GB")
        assert identity.phone("07700 900123", uk) == "+447700900123"
        assert identity.phone("020 7946 0958", uk) == "+442079460958"

    def test_the_older_country_code_setting_still_works(self, monkeypatch):
        monkeypatch.delenv("DEFAULT_REGION", raising=False)
        uk = settings_with(monkeypatch, DEFAULT_COUNTRY_CODE="44")
        assert uk.default_region == "GB"
        assert identity.phone("07700 900123", uk) == "+447700900123"


class TestNamespacedIds:
    def test_a_web_user_id_that_looks_like_a_number_stays_a_web_user(self, settings):
        data = TranscriptionData.model_validate({"conversation_id": "c", "user_id": "4155550123"})
        assert identity.for_finished_call(data, settings) == "web:4155550123"

    @pytest.mark.parametrize("raw", ["*", "user*", "null", "Anonymous", "a b", "{{user_id}}", "x" * 129, "a:b", ""])
    def test_ids_outside_the_strict_set_are_no_caller(self, raw):
        assert identity.namespaced(identity.WEB, raw) is None

    def test_operator_input_reads_all_three_forms(self, settings):
        assert identity.from_operator_input("web:user_8c1f", settings) == "web:user_8c1f"
        assert identity.from_operator_input("whatsapp:15550100009", settings) == "whatsapp:15550100009"
        assert identity.from_operator_input("+1 612 978 2029", settings) == "+16129782029"
        assert identity.from_operator_input("web:*", settings) is None

    def test_is_identity_accepts_only_what_the_resolver_makes(self):
        assert identity.is_identity("+16129782029")
        assert identity.is_identity("web:user_8c1f")
        assert not identity.is_identity("*")
        assert not identity.is_identity("web:*")
        assert not identity.is_identity("4155550123")
        assert not identity.is_identity("evil:x")


class TestInitiation:
    def test_inbound_the_caller_is_caller_id(self, settings):
        request = InitiationRequest(caller_id="+16129782029", called_number=OURS, call_sid="CA1")
        assert identity.for_initiation(request, settings) == "+16129782029"

    def test_outbound_the_caller_is_the_person_dialled(self, settings):
        request = InitiationRequest(caller_id=OURS, called_number="+15550900001")
        assert identity.for_initiation(request, settings) == "+15550900001"

    def test_a_withheld_inbound_caller_never_falls_back_to_our_number(self, settings):
        request = InitiationRequest(caller_id="anonymous", called_number=OURS, call_sid="CA1")
        assert identity.for_initiation(request, settings) is None

    def test_our_number_on_both_sides_is_nobody(self, settings):
        request = InitiationRequest(caller_id=OURS, called_number="+15550100002")
        assert identity.for_initiation(request, settings) is None

    def test_whatsapp_callers_are_namespaced(self, settings):
        request = InitiationRequest(caller_id="15550100009", called_number="1029384756", call_sid="")
        assert identity.for_initiation(request, settings) == "whatsapp:15550100009"


class TestTool:
    def test_outbound_tool_call_searches_the_customer(self, settings):
        request = RetrieveRequest(query="x", caller_id=OURS, called_number="+16129782029")
        assert identity.for_tool(request, settings) == "+16129782029"

    def test_the_earlier_schema_user_id_still_works(self, settings):
        assert identity.for_tool(RetrieveRequest(query="x", user_id="+16129782029"), settings) == "+16129782029"

    def test_a_web_call_has_no_caller_here(self, settings):
        request = RetrieveRequest(query="x", caller_id=None, called_number=None, conversation_id="conv_1")
        assert identity.for_tool(request, settings) is None


class TestFinishedCall:
    def test_the_external_number_whatever_the_direction(self, settings):
        data = TranscriptionData.model_validate(
            {
                "conversation_id": "c",
                "metadata": {
                    "phone_call": {"direction": "outbound", "agent_number": OURS, "external_number": "+16129782029"}
                },
                "conversation_initiation_client_data": {"dynamic_variables": {"system__caller_id": OURS}},
            }
        )
        assert identity.for_finished_call(data, settings) == "+16129782029"

    def test_a_withheld_external_number_never_falls_through(self, settings):
        data = TranscriptionData.model_validate(
            {
                "conversation_id": "c",
                "user_id": "someone",
                "metadata": {"phone_call": {"external_number": "anonymous", "agent_number": OURS}},
            }
        )
        assert identity.for_finished_call(data, settings) is None

    def test_whatsapp_uses_the_whatsapp_user_id(self, settings):
        data = TranscriptionData.model_validate(
            {
                "conversation_id": "c",
                "metadata": {
                    "conversation_initiation_source": "whatsapp",
                    "whatsapp": {"whatsapp_user_id": "15550100009", "whatsapp_phone_number_id": "1029384756"},
                },
            }
        )
        assert identity.for_finished_call(data, settings) == "whatsapp:15550100009"


class TestOnlyFullyPossibleNumbers:
    """Issue 20: a 7-digit local number became one +1 identity across every US area code."""

    @pytest.mark.parametrize(
        "raw", ["5550123", "555-0123", "sip:5550123@pbx.example.com", "<sip:5550123@pbx>", "tel:5550123", 5550123]
    )
    def test_a_local_number_without_its_area_code_is_no_caller(self, settings, raw):
        assert identity.phone(raw, settings) is None

    def test_the_same_number_with_its_area_code_is_one(self, settings):
        assert identity.phone("612 555 0123", settings) == "+16125550123"

    def test_a_local_number_never_reaches_memory_from_a_finished_call(self, settings):
        data = TranscriptionData.model_validate(
            {"conversation_id": "c", "metadata": {"phone_call": {"external_number": "5550123", "agent_number": OURS}}}
        )
        assert identity.for_finished_call(data, settings) is None


class TestAnEmptyCallSidIsNotWhatsApp:
    """Issue 20: ``call_sid == ""`` made a phone caller a WhatsApp id at call start, while the worker stored
    them under the phone number. ElevenLabs leaves it empty on WhatsApp and on SMS (personalization docs)."""

    def test_a_phone_caller_with_an_empty_sid_stays_a_phone_caller(self, settings):
        for caller in ("+16129782029", "tel:+16129782029", '"Front" <sip:+16129782029@pbx>'):
            request = InitiationRequest(caller_id=caller, called_number=OURS, call_sid="")
            assert identity.for_initiation(request, settings) == "+16129782029"

    def test_an_sms_sender_is_remembered_as_the_number(self, settings):
        # Twilio SMS: caller_id is the sender's number, called_number ours, call_sid empty
        request = InitiationRequest(caller_id="+16129782029", called_number="+15550100002", call_sid="")
        assert identity.for_initiation(request, settings) == "+16129782029"

    def test_a_sip_call_without_a_call_id_is_a_phone_caller(self, settings):
        request = InitiationRequest.model_validate(
            {"caller_id": "16129782029", "called_number": "3232", "call_sid": "", "call_id": "a84b4c76@pbx"}
        )
        assert identity.for_initiation(request, settings) == "+16129782029"

    def test_a_caller_without_plus_calling_our_number_is_a_phone_caller(self, settings):
        request = InitiationRequest(caller_id="16129782029", called_number="+15550100001", call_sid="")
        assert identity.for_initiation(request, settings) == "+16129782029"

    def test_whatsapp_is_its_user_id_and_our_phone_number_id(self, settings):
        # caller_id = the wa_id (digits, no "+"), called_number = our WhatsApp phone-number id
        request = InitiationRequest(caller_id="15550100142", called_number="106540352242922", call_sid="")
        assert identity.for_initiation(request, settings) == "whatsapp:15550100142"
        # a business-scoped user id (Meta, 2026) is a WhatsApp user too
        request = InitiationRequest(caller_id="US.13491208655302741918", called_number="106540352242922", call_sid="")
        assert identity.for_initiation(request, settings) == "whatsapp:US.13491208655302741918"

    def test_the_tool_reads_an_empty_sid_the_same_way(self, settings):
        phone_call = RetrieveRequest(query="x", caller_id="+16129782029", called_number=OURS, call_sid="")
        assert identity.for_tool(phone_call, settings) == "+16129782029"
        whatsapp = RetrieveRequest(query="x", caller_id="15550100142", called_number="106540352242922", call_sid="")
        assert identity.for_tool(whatsapp, settings) == "whatsapp:15550100142"

    def test_an_outbound_whatsapp_call_is_the_user_dialled(self, settings):
        request = InitiationRequest(caller_id=OURS, called_number="15550100142", call_sid="")
        assert identity.for_initiation(request, settings) == "whatsapp:15550100142"


class TestMarkedLines:
    """Issue 20: the own-line rule with marks (domain.own_lines), as each entry point uses it."""

    def test_a_marked_number_as_caller_id_makes_the_called_party_the_customer(self, settings):
        from agentic_memory.domain.own_lines import Mark, OwnLines

        marked = "+15550100077"
        lines = OwnLines.of(identity.own_numbers(settings), [Mark(marked, outbound_until=2**40)], now=1)
        request = InitiationRequest(caller_id=marked, called_number="+16129782029", call_sid="CA1")
        assert identity.for_initiation(request, settings) == marked  # without the marks: our line as caller
        assert identity.for_initiation(request, settings, lines=lines) == "+16129782029"
        tool = RetrieveRequest(query="x", caller_id=marked, called_number="+16129782029", call_sid="CA1")
        assert identity.for_tool(tool, settings, lines=lines) == "+16129782029"

    def test_numbers_named_are_the_unconfigured_numbers_of_both_parties(self, settings):
        assert identity.numbers_named(settings, "+1 612 978 2029", OURS, "3232", None) == ["+16129782029"]
