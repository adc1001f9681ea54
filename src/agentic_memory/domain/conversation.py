"""A finished conversation as ElevenLabs describes it, typed: the post-call webhook's envelope and its
``post_call_transcription`` data, which is also what the conversations API answers for one conversation
(``GET /v1/convai/conversations/{id}``), tolerant of fields ElevenLabs adds later. Only the post-call
function loads it.

Shapes follow the SDK's models (``elevenlabs`` 2.78: ``GetConversationResponseModel`` and the
models it nests) and DESIGN.md section 3; tests/corpus holds payloads the SDK validates.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr, field_validator

from agentic_memory.domain.payload_model import ElevenLabsPayload


class Turn(ElevenLabsPayload):
    """A transcript turn: ``message`` is null on tool-call and tool-result turns; an interrupted turn
    holds what was spoken in ``message`` and the intended text in ``original_message``."""

    role: str | None = None
    message: str | None = None
    original_message: str | None = None
    interrupted: bool | None = None
    time_in_call_secs: float | None = None


class PhoneCall(ElevenLabsPayload):
    """``metadata.phone_call``. ``call_result`` (SDK 2.72+: ``answered``, ``voicemail``, ``busy``,
    ``no_answer``, ``failed``; absent on older payloads) says how the call ended at the telephony level
    (platform-notes/refresh-2026-12.md E3; SDK ``types/call_result.py``)."""

    type: str | None = None
    direction: str | None = None
    external_number: str | None = None
    agent_number: str | None = None
    call_sid: str | None = None
    call_result: str | None = None

    @field_validator("call_result", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> Any:
        return value if isinstance(value, str) else None


class CallMetadata(ElevenLabsPayload):
    start_time_unix_secs: int | None = None
    call_duration_secs: float | None = None
    phone_call: PhoneCall | None = None
    termination_reason: str | None = None
    conversation_initiation_source: str | None = None
    whatsapp: dict[str, Any] | None = None
    deletion_settings: dict[str, Any] | None = None
    error: Any = None


class DataCollectionResult(ElevenLabsPayload):
    value: Any = None
    rationale: str | None = None


class Analysis(ElevenLabsPayload):
    call_successful: str | None = None
    transcript_summary: str | None = None
    call_summary_title: str | None = None
    evaluation_criteria_results: dict[str, Any] = Field(default_factory=dict)
    data_collection_results: dict[str, DataCollectionResult] = Field(default_factory=dict)

    @field_validator("evaluation_criteria_results", "data_collection_results", mode="before")
    @classmethod
    def _null_map(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):  # an entry that is null carries nothing
            return {key: item for key, item in value.items() if item is not None}
        return value


class InitiationClientData(ElevenLabsPayload):
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)


def _none_as_empty(value: Any) -> Any:
    return {} if value is None else value


SUBAGENT_SOURCE = "subagent_tool"  # SDK 2.78 ``ConversationInitiationSource``: started by a subagent tool


def _count_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class TranscriptionData(ElevenLabsPayload):
    """A finished conversation. ``user_message_count`` / ``agent_message_count`` (SDK 2.72+): "user
    [agent] transcript turns with text; tool-only turns are not counted", ``null`` on old conversations
    (E3): ``None`` means unknown. With the webhook option ``exclude_transcript`` the transcript is empty
    while the analysis and metadata still come (E2)."""

    agent_id: str | None = None
    conversation_id: str | None = None
    status: str | None = None
    user_id: str | None = None
    transcript: list[Turn] = Field(default_factory=list)
    metadata: CallMetadata = Field(default_factory=CallMetadata)
    analysis: Analysis = Field(default_factory=Analysis)
    conversation_initiation_client_data: InitiationClientData = Field(default_factory=InitiationClientData)
    user_message_count: int | None = None
    agent_message_count: int | None = None

    @field_validator("user_message_count", "agent_message_count", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        return _count_or_none(value)

    @property
    def parent_conversation_id(self) -> str | None:
        """The conversation this one is a subagent's part of, when the payload names it. GUESS: the SDK
        has the name only as a list filter ("for subagent conversations", E9), no field; a top-level or
        ``metadata`` field of that name is read if ElevenLabs sends one."""
        for holder in (self.model_extra or {}, self.metadata.model_extra or {}):
            value = holder.get("parent_conversation_id")
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    @property
    def subagent(self) -> bool:
        """Whether this conversation is a subagent's part of a call (a parent id, or the SDK's
        ``conversation_initiation_source`` ``subagent_tool``)."""
        return (
            self.parent_conversation_id is not None or self.metadata.conversation_initiation_source == SUBAGENT_SOURCE
        )

    # The SDK's model makes these optional: a failed call may carry ``"analysis": null``.
    @field_validator("metadata", "analysis", "conversation_initiation_client_data", mode="before")
    @classmethod
    def _null_object(cls, value: Any) -> Any:
        return _none_as_empty(value)

    @field_validator("transcript", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value


class PostCallEnvelope(ElevenLabsPayload):
    """``{"type", "event_timestamp", "data"}``; ``data`` is parsed only for types we act on, so a
    large ``post_call_audio`` is never decoded."""

    type: StrictStr
    event_timestamp: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


TRANSCRIPTION = "post_call_transcription"
