"""ElevenLabs' request bodies, typed: what the initiation webhook and the server tool send, tolerant of
fields ElevenLabs adds later, and ``parse``. Who the caller is lives in ``domain.identity``; the post-call
webhook's payload in ``domain.conversation``, which ``client_data`` and ``retrieve`` never load (eleven
more pydantic models: docs/performance.md).

Shapes follow DESIGN.md section 3 and ElevenLabs' personalization docs; tests/corpus holds payloads
the SDK validates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError, field_validator

from agentic_memory.domain.payload_model import ElevenLabsPayload
from agentic_memory.errors import BadRequest

# Numbers arrive as dialled and, on SIP, sometimes as JSON numbers (DESIGN.md 3.1, 3.3).
NumberLike = StrictStr | StrictInt | None


class InitiationRequest(ElevenLabsPayload):
    """Conversation-initiation webhook body: ``{"caller_id", "called_number", "agent_id", "call_sid",
    "conversation_id"}``, plus ``call_id``/``sip_headers`` on SIP (ElevenLabs personalization docs)."""

    # Built by ``prepare`` in the init of the one handler that serves it, never by the other's.
    model_config = ConfigDict(defer_build=True)

    caller_id: NumberLike = None
    agent_id: StrictStr | None = None
    called_number: NumberLike = None
    call_sid: StrictStr | None = None
    conversation_id: StrictStr | None = None


class RetrieveRequest(ElevenLabsPayload):
    """The server tool's body, as ``scripts/elevenlabs_agent.py`` configures it: ``query`` from the LLM;
    ``caller_id``, ``called_number``, ``call_sid``, ``conversation_id``, ``agent_id`` bound to the
    ``system__*`` dynamic variables of the same names (null on web calls, never missing). ``user_id`` is
    the earlier schema's name for ``system__caller_id``."""

    model_config = ConfigDict(defer_build=True)  # see InitiationRequest

    query: StrictStr
    caller_id: NumberLike = None
    called_number: NumberLike = None
    user_id: NumberLike = None
    call_sid: StrictStr | None = None
    conversation_id: StrictStr | None = None
    agent_id: StrictStr | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


def prepare(model: type[BaseModel]) -> None:
    """Build ``model``'s validator now rather than at its first request. The request models defer it
    (``defer_build``): each handler builds only the one it serves, about a millisecond of cold start
    apiece (docs/performance.md), and does so in Lambda's init phase."""
    model.model_rebuild()


def parse(model: type[BaseModel], payload: dict[str, Any], what: str) -> Any:
    """Validate ``payload``; a validation error becomes a 400 naming the first bad fields."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()})[:5]
        raise BadRequest(f"Invalid {what}: check {', '.join(fields)}.", code="invalid_payload") from None
    except RecursionError:
        raise BadRequest(f"Invalid {what}: nested too deeply.", code="invalid_payload") from None
