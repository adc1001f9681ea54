"""ElevenLabs' payloads, typed: what the initiation webhook, the server tool and the post-call
webhook send, tolerant of fields ElevenLabs adds later, and who the caller is.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

from agentic_memory.errors import BadRequest

WITHHELD = frozenset({"", "anonymous", "restricted", "unknown", "private", "unavailable", "withheld"})
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_MAX_USER_ID = 128


def normalize_caller(raw: object, *, default_country_code: str = "1") -> str | None:
    """The Mem0 ``user_id`` for a caller: E.164 for phone numbers, the trimmed id otherwise.

    Withheld numbers mean no caller: they must never share one memory between strangers.
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.lower().lstrip("+") in WITHHELD or text.lower().startswith(("sip:anonymous", "anonymous@")):
        return None
    candidate = _PHONE_PUNCTUATION.sub("", text)
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    if candidate.startswith("+"):
        digits = candidate[1:]
        if digits.isascii() and digits.isdigit():
            return f"+{digits}" if 7 <= len(digits) <= 15 and digits[0] != "0" else None
    elif candidate.isascii() and candidate.isdigit():
        if len(candidate) == 10 and default_country_code == "1":
            return f"+1{candidate}"
        if 11 <= len(candidate) <= 15 and candidate[0] != "0":
            return f"+{candidate}"
        return None
    # Not a phone number (a web call's user id): keep it, but bounded and printable. An unresolved
    # template such as "{{system__caller_id}}" would make every such call share one memory.
    if len(text) > _MAX_USER_ID or not text.isprintable() or "{" in text or "}" in text:
        return None
    return text


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class InitiationRequest(_Tolerant):
    """Conversation-initiation webhook body (Twilio or SIP call)."""

    caller_id: StrictStr | None = None
    agent_id: StrictStr | None = None
    called_number: StrictStr | None = None
    call_sid: StrictStr | None = None


class RetrieveRequest(_Tolerant):
    """The server tool's body: ``user_id`` is bound to ``system__caller_id`` in the tool schema."""

    query: StrictStr
    user_id: StrictStr

    @field_validator("query", "user_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class Turn(_Tolerant):
    role: str | None = None
    message: str | None = None
    time_in_call_secs: float | None = None


class PhoneCall(_Tolerant):
    type: str | None = None
    direction: str | None = None
    external_number: str | None = None
    agent_number: str | None = None
    call_sid: str | None = None


class CallMetadata(_Tolerant):
    start_time_unix_secs: int | None = None
    call_duration_secs: float | None = None
    phone_call: PhoneCall | None = None


class DataCollectionResult(_Tolerant):
    value: Any = None
    rationale: str | None = None


class Analysis(_Tolerant):
    call_successful: str | None = None
    transcript_summary: str | None = None
    call_summary_title: str | None = None
    evaluation_criteria_results: dict[str, Any] = Field(default_factory=dict)
    data_collection_results: dict[str, DataCollectionResult] = Field(default_factory=dict)


class InitiationClientData(_Tolerant):
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)


class TranscriptionData(_Tolerant):
    agent_id: str | None = None
    conversation_id: str | None = None
    status: str | None = None
    user_id: str | None = None
    transcript: list[Turn] = Field(default_factory=list)
    metadata: CallMetadata = Field(default_factory=CallMetadata)
    analysis: Analysis = Field(default_factory=Analysis)
    conversation_initiation_client_data: InitiationClientData = Field(default_factory=InitiationClientData)


class PostCallEnvelope(_Tolerant):
    """``{"type", "event_timestamp", "data"}``; ``data`` is parsed only for types we act on, so a
    large ``post_call_audio`` is never decoded."""

    type: StrictStr
    event_timestamp: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


TRANSCRIPTION = "post_call_transcription"


def parse(model: type[BaseModel], payload: dict[str, Any], what: str) -> Any:
    """Validate ``payload``; a validation error becomes a 400 naming the first bad fields."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()})[:5]
        raise BadRequest(f"Invalid {what}: check {', '.join(fields)}.", code="invalid_payload") from None
    except RecursionError:
        raise BadRequest(f"Invalid {what}: nested too deeply.", code="invalid_payload") from None


def resolve_caller(data: TranscriptionData, *, default_country_code: str = "1") -> str | None:
    """The caller of a finished call, in DESIGN.md 3.3's order; ``None`` when there is nobody to remember."""
    phone = data.metadata.phone_call
    candidates = (
        phone.external_number if phone else None,
        data.conversation_initiation_client_data.dynamic_variables.get("system__caller_id"),
        data.user_id,
    )
    for candidate in candidates:
        caller = normalize_caller(candidate, default_country_code=default_country_code)
        if caller:
            return caller
    return None
