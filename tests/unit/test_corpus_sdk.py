"""The corpus of ElevenLabs payloads (tests/corpus) judged by ElevenLabs' own Python SDK.

A post-call transcription's ``data`` has the shape of the SDK's ``GetConversationResponseModel``
(DESIGN.md 3.3; ElevenLabs' post-call webhook docs: "the same format as the GET Conversation
response"). The SDK's models are lenient on purpose: every model accepts unknown fields
(``extra="allow"``), every enum is open (Fern's ``Union[Literal[...], Any]``) and pydantic's lax mode
turns ``"5"`` into ``5``. So the check here is stricter than ``model_validate``: strict JSON validation,
no field the SDK does not know, and no enum value outside the SDK's list. ``test_the_check_can_fail``
shows each of these catching a wrong copy.

The SDK has no model for the other payloads (the envelope, ``post_call_audio``,
``call_initiation_failure``, the initiation webhook's request, a server tool's body: platform notes 6);
those are held to the shapes ElevenLabs documents, each named below.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import elevenlabs
import pydantic
import pytest
from elevenlabs.types import GetConversationResponseModel, GetConversationsPageResponseModel
from elevenlabs.types.twilio_answered_by import TwilioAnsweredBy
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
MANIFEST = json.loads((CORPUS / "expected.json").read_text())
CASES: dict[str, dict[str, Any]] = MANIFEST["cases"]
WRITE_KINDS = ("conversation", "call_notes")  # a call's two adds (domain.memory_writes, issue 23)


def payload(name: str) -> Any:
    return json.loads((CORPUS / name).read_text())


def names(prefix: str) -> list[str]:
    return sorted(name for name in CASES if name.startswith(prefix))


TRANSCRIPTIONS = [name for name in names("post_call/") if payload(name)["type"] == "post_call_transcription"]
MACHINE_EVENTS = [name for name in names("post_call/") if payload(name)["type"] == "answering_machine_detection"]
FAILURES = [name for name in names("post_call/") if payload(name)["type"] == "call_initiation_failure"]


# --------------------------------------------------------------------------- the strict SDK check


def _open_enum_values(annotation: Any) -> set[Any] | None:
    """The listed values of a Fern open enum (``Union[Literal[...], Any]``), or None for other types."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType) or typing.Any not in args:
        return None
    known: set[Any] = set()
    for arg in args:
        if typing.get_origin(arg) is Literal:
            known.update(typing.get_args(arg))
    return known or None


def _unwrap(annotation: Any) -> Any:
    """``Optional[X]`` and ``Annotated[X, ...]`` as ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _unknowns(value: Any, annotation: Any, path: str, found: list[str]) -> None:
    """Fields the SDK keeps only as extras, and enum values it does not list, anywhere under ``value``."""
    if isinstance(value, BaseModel):
        found += [f"{path}.{key}: not a field of {type(value).__name__}" for key in value.model_extra or {}]
        for name, field in type(value).model_fields.items():
            _unknowns(getattr(value, name), field.annotation, f"{path}.{name}", found)
        return
    if value is None:
        return
    annotation = _unwrap(annotation)
    known = _open_enum_values(annotation)
    if known is not None:
        if value not in known:
            found.append(f"{path}: {value!r} is not one of the SDK's values")
        return
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(value, list | tuple) and origin is list:
        for index, item in enumerate(value):
            _unknowns(item, args[0] if args else Any, f"{path}[{index}]", found)
    elif isinstance(value, dict) and origin is dict:
        for key, item in value.items():
            _unknowns(item, args[1] if len(args) == 2 else Any, f"{path}.{key}", found)


def _errors(exc: pydantic.ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()]


def shape_problems(model: type[BaseModel], data: Any) -> list[str]:
    """What one of the documented shapes below (``model``) finds wrong with ``data``; [] when it fits."""
    try:
        model.model_validate(data)
    except pydantic.ValidationError as exc:
        return _errors(exc)
    return []


def sdk_problems(model: type[BaseModel], data: Any) -> list[str]:
    """What the SDK's ``model`` finds wrong with ``data`` (JSON-like), checked strictly; [] when valid."""
    try:
        instance = model.model_validate_json(json.dumps(data), strict=True)
    except pydantic.ValidationError as exc:
        return _errors(exc)
    found: list[str] = []
    _unknowns(instance, model, "data", found)
    return found


# --------------------------------------------------------------------------- the manifest


def test_the_manifest_names_every_payload_and_nothing_else():
    on_disk = {path.relative_to(CORPUS).as_posix() for path in CORPUS.rglob("*.json")} - {"expected.json"}
    assert on_disk == set(CASES)
    assert {name.split("/")[0] for name in CASES} == {"post_call", "initiation", "tool", "conversations"}


def test_the_corpus_holds_every_kind_of_payload_the_checks_below_run_on():
    # Each check below runs once per payload of its kind, so none of them may have nothing to check.
    assert len(TRANSCRIPTIONS) >= 10
    assert sorted(payload(name)["data"]["metadata"]["type"] for name in FAILURES) == ["sip", "twilio"]
    assert "initiation/whatsapp.json" in names("initiation/")
    assert len(names("initiation/")) >= 2
    assert names("tool/")
    assert names("conversations/")
    assert len(MACHINE_EVENTS) >= 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_expectation_is_complete_and_consistent(name):
    expected = CASES[name]
    identity = re.compile(r"\+[1-9]\d{6,14}|(web|whatsapp):[A-Za-z0-9][A-Za-z0-9._@+\-=]{0,127}")
    if name.startswith("post_call/"):
        remembered = expected["remembered_as"]
        assert set(expected["writes"]) <= set(WRITE_KINDS)
        assert expected["http_status"] == 200  # a signed payload is never answered otherwise (DESIGN.md 3.3)
        if remembered is None:
            assert expected["writes"] == []
            # ignored, or (a machine verdict) accepted for a worker that writes nothing
            assert expected["status"] == "ignored" or expected.get("worker_status") == "suppressed"
        else:
            assert identity.fullmatch(remembered)
            assert expected["status"] == "accepted"
            assert expected["writes"]
    elif name.startswith("conversations/"):
        listed = {item["conversation_id"] for item in payload(name)["conversations"]}
        assert set(expected["fetched"]) | set(expected["not_fetched"]) == listed
        assert not set(expected["fetched"]) & set(expected["not_fetched"])
    else:
        assert expected["caller"] is None or identity.fullmatch(expected["caller"])
    given = expected.get("given", {}).get("elevenlabs_conversation")
    if given:  # the conversation the fake conversations API serves for this case is the one it names
        assert payload(given)["data"]["conversation_id"] == payload(name)["conversation_id"]


# --------------------------------------------------------------------------- post-call webhooks


@pytest.mark.parametrize("name", names("post_call/"))
def test_every_webhook_body_is_the_documented_envelope(name):
    # ElevenLabs' post-call webhook docs: {"type", "event_timestamp", "data"}; real payloads carry an
    # integer timestamp in Unix seconds (CAP-2), though one docs table says string.
    body = payload(name)
    assert set(body) == {"type", "event_timestamp", "data"}
    assert isinstance(body["type"], str)
    assert body["type"]
    assert type(body["event_timestamp"]) is int
    assert 1_700_000_000 < body["event_timestamp"] < 2_000_000_000
    assert isinstance(body["data"], dict)
    assert body["data"]["conversation_id"].startswith("conv_")


@pytest.mark.parametrize("name", [*TRANSCRIPTIONS, "events/post_call.json"])
def test_transcription_data_is_valid_for_the_sdk(name):
    if name.startswith("events/"):  # the sample event `sam local invoke` uses holds the body as a string
        data = json.loads(json.loads((ROOT / name).read_text())["body"])["data"]
    else:
        data = payload(name)["data"]
    assert sdk_problems(GetConversationResponseModel, data) == []


@pytest.mark.parametrize("name", names("conversations/"))
def test_conversation_list_pages_are_valid_for_the_sdk(name):
    # GET /v1/convai/conversations answers GetConversationsPageResponseModel (SDK 2.78; DESIGN.md 3.4)
    assert sdk_problems(GetConversationsPageResponseModel, payload(name)) == []
    # and its items carry the 2026 counts (E9), which reconcile reads
    assert all(isinstance(item["user_message_count"], int) for item in payload(name)["conversations"])


def test_a_list_page_with_a_count_as_text_is_refused():
    wrong = payload("conversations/list_page.json")
    wrong["conversations"][0]["user_message_count"] = "2"
    assert sdk_problems(GetConversationsPageResponseModel, wrong) != []


@pytest.mark.parametrize("name", MACHINE_EVENTS)
def test_machine_detection_events_carry_a_verdict_the_sdk_lists(name):
    # The SDK has no model for this event's data (E1); what it does list is the verdict's values, Twilio's
    # AnsweredBy (types/twilio_answered_by.py). We assume {agent_id, conversation_id, answered_by}.
    data = payload(name)["data"]
    assert set(data) == {"agent_id", "conversation_id", "answered_by"}
    assert data["answered_by"] in _open_enum_values(TwilioAnsweredBy)


def test_the_verdict_check_catches_a_value_twilio_does_not_send():
    assert "voicemail" not in _open_enum_values(TwilioAnsweredBy)
    assert {"human", "machine_end_beep"} <= _open_enum_values(TwilioAnsweredBy)


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()
WRONG_COPIES = {
    "a number as a string": _set("transcript.0.time_in_call_secs", "0"),
    "a fractional duration": _set("metadata.call_duration_secs", 25.5),
    "a message that is not text": _set("transcript.1.message", 5),
    "a role the SDK does not list": _set("transcript.0.role", "tool"),
    "a status the SDK does not list": _set("status", "finished"),
    "a tool call type the SDK does not list": _set("transcript.2.tool_calls.0.type", "plugin"),
    "the failure event's phone type": _set("metadata.phone_call.type", "sip"),
    "a field the SDK does not know": _set("transcript.0.speaker", "agent"),
    "an unknown field deep in a tool result": _set("transcript.3.tool_results.0.latency_ms", 214),
    "a required flag missing": _set("has_audio", _DELETE),
    "a required phone field missing": _set("metadata.phone_call.phone_number_id", _DELETE),
}


@pytest.mark.parametrize("mistake", sorted(WRONG_COPIES))
def test_the_check_can_fail(mistake):
    # Given a corpus payload the SDK accepts
    data = payload("post_call/tool_turns.json")["data"]
    assert sdk_problems(GetConversationResponseModel, data) == []
    # When one value is made wrong, Then the check names the problem
    wrong = copy.deepcopy(data)
    WRONG_COPIES[mistake](wrong)
    assert sdk_problems(GetConversationResponseModel, wrong) != []


def test_the_sdk_still_has_no_model_for_the_payloads_checked_by_hand():
    """If an SDK upgrade adds a model for one of these, this fails: validate that payload with it."""
    root = Path(elevenlabs.__file__).parent
    documented = {
        "call_initiation_failure data": {"agent_id", "conversation_id", "failure_reason"},
        "post_call_audio data": {"agent_id", "conversation_id", "full_audio"},
        "initiation webhook request": {"caller_id", "called_number", "call_sid"},
    }
    field = re.compile(r"^    (\w+)\s*:", re.M)  # a class-level field of a generated model
    models = {path: set(field.findall(path.read_text())) for path in (root / "types").glob("*.py")}
    found = {
        what: sorted(path.name for path, fields in models.items() if wanted <= fields)
        for what, wanted in documented.items()
    }
    # the scan does find a model when one exists: the transcription's
    transcription = {"conversation_id", "transcript", "has_audio", "has_user_audio"}
    assert [path.name for path, fields in models.items() if transcription <= fields] == [
        "get_conversation_response_model.py"
    ]
    assert found == {what: [] for what in documented}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _TwilioFailure(_Strict):
    type: Literal["twilio"]
    body: dict[str, StrictStr]  # Twilio's status callback: form fields, every value a string


class _SipBody(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    from_number: StrictInt | StrictStr  # the docs' table says number, its example shows strings
    to_number: StrictInt | StrictStr
    sip_status_code: StrictInt
    error_reason: StrictStr
    call_sid: StrictStr


class _SipFailure(_Strict):
    type: Literal["sip"]
    body: _SipBody


class _FailureData(_Strict):
    agent_id: StrictStr
    conversation_id: StrictStr
    failure_reason: Literal["busy", "no-answer", "unknown"]
    metadata: _TwilioFailure | _SipFailure


@pytest.mark.parametrize("name", FAILURES)
def test_call_initiation_failures_have_the_documented_shape(name):
    # ElevenLabs' post-call webhook docs, "Call initiation failure webhooks" (platform notes 4.4).
    assert shape_problems(_FailureData, payload(name)["data"]) == []


def test_a_failure_with_a_number_in_the_twilio_form_is_refused():
    wrong = payload("post_call/call_initiation_failure_twilio.json")["data"]
    wrong["metadata"]["body"]["SipResponseCode"] = 486
    assert shape_problems(_FailureData, wrong) != []
    with pytest.raises(pydantic.ValidationError):
        _FailureData.model_validate(wrong)


def test_post_call_audio_is_base64_mp3_and_nothing_else():
    # Post-call webhook docs: post_call_audio's data is agent_id, conversation_id, full_audio (base64 MP3).
    data = payload("post_call/post_call_audio.json")["data"]
    assert set(data) == {"agent_id", "conversation_id", "full_audio"}
    audio = base64.b64decode(data["full_audio"], validate=True)
    assert audio.startswith(b"ID3") or audio[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


def test_base64_check_rejects_a_non_base64_body():
    with pytest.raises(binascii.Error):
        base64.b64decode("not base64!", validate=True)


# --------------------------------------------------------------------------- initiation webhook and tool


class _InitiationRequest(_Strict):
    # Personalization docs (2026): {"caller_id", "called_number", "agent_id", "call_sid",
    # "conversation_id"}; "SIP calls may also include call_id and sip_headers".
    caller_id: StrictStr
    called_number: StrictStr
    agent_id: StrictStr
    call_sid: StrictStr
    conversation_id: StrictStr
    call_id: StrictStr | None = None
    sip_headers: dict[str, StrictStr] | None = None


@pytest.mark.parametrize("name", names("initiation/"))
def test_initiation_requests_have_the_documented_shape(name):
    body = payload(name)
    assert shape_problems(_InitiationRequest, body) == []
    # call_sid is empty on WhatsApp (personalization docs), and only there: it is how WhatsApp is told apart
    assert (body["call_sid"] == "") == name.endswith("whatsapp.json")


def test_an_initiation_request_without_its_call_sid_is_refused():
    wrong = payload("initiation/inbound_twilio.json")
    del wrong["call_sid"]
    assert shape_problems(_InitiationRequest, wrong) != []


# What the server tool sends: the configured body schema, flat; every identity parameter is bound to
# a system__* dynamic variable (DESIGN.md 3.2), a string or null. user_id is the earlier schema's name.
TOOL_PARAMETERS = {"query", "caller_id", "called_number", "call_sid", "conversation_id", "agent_id", "user_id"}


@pytest.mark.parametrize("name", names("tool/"))
def test_tool_bodies_are_flat_system_variables(name):
    body = payload(name)
    assert set(body) <= TOOL_PARAMETERS
    assert isinstance(body["query"], str)
    assert body["query"].strip()
    assert all(value is None or isinstance(value, str) for value in body.values())


# --------------------------------------------------------------------------- fictional data only

PHONE_FIELDS = {
    "external_number",
    "agent_number",
    "caller_id",
    "called_number",
    "user_id",
    "from_number",
    "to_number",
    "From",
    "To",
    "Caller",
    "Called",
    "system__caller_id",
    "system__called_number",
    "whatsapp_user_id",
    "callback_number",
}
FICTIONAL = re.compile(r"1?55501\d{5}")  # +1 555 01xx xx, the project's fictional range
NOT_NUMBERS = {"3232", "anonymous", "266696687", "106540352242922", "u7KpZ2mQ9xWcR4tLbN3vYs8eHd1", ""}


def _phone_values(node: Any, key: str = "") -> typing.Iterator[str]:
    if isinstance(node, dict):
        if "data_collection_id" in node and "value" in node:  # a data collection result names its field
            yield from _phone_values(node["value"], node["data_collection_id"])
        for child_key, child in node.items():
            yield from _phone_values(child, child_key)
    elif isinstance(node, list):
        for child in node:
            yield from _phone_values(child, key)
    elif key in PHONE_FIELDS and isinstance(node, str | int) and not isinstance(node, bool):
        yield str(node)


def not_fictional(node: Any) -> list[str]:
    """The phone-like values under ``node`` outside the fictional range that are not known non-numbers."""
    found = []
    for value in _phone_values(node):
        bare = value.split(":", 1)[1] if value.startswith(("web:", "whatsapp:")) else value
        digits = re.sub(r"[\s+]", "", bare)
        if digits not in NOT_NUMBERS and not FICTIONAL.fullmatch(digits):
            found.append(bare)
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_fictional_numbers(name):
    assert not_fictional(payload(name)) == []


def test_the_number_scan_reads_every_payload_that_carries_numbers_and_catches_a_real_one():
    # Given the corpus, Then the scan finds numbers in every payload but those that carry none (audio,
    # machine verdicts, an unknown event type, a list page, a web widget's tool call): it is not passing by
    # reading nothing
    without = sorted(name for name in CASES if not list(_phone_values(payload(name))))
    assert without == [
        "conversations/list_page.json",
        "post_call/answering_machine_human.json",
        "post_call/answering_machine_machine.json",
        "post_call/post_call_audio.json",
        "post_call/unknown_event_type.json",
        "tool/web_widget.json",
    ]
    # And a number outside the fictional range, in a phone field or a data collection result, is caught
    wrong = payload("post_call/data_collection_types.json")
    wrong["data"]["metadata"]["phone_call"]["external_number"] = "+16125550199"
    wrong["data"]["analysis"]["data_collection_results"]["callback_number"] = {
        "data_collection_id": "callback_number",
        "value": "whatsapp:447700900123",
    }
    assert not_fictional(wrong) == ["+16125550199", "447700900123"]
