"""Which finished calls are remembered (DESIGN.md section 6).

A call that reached voicemail, that failed, or where the caller never said anything is not remembered:
the machine's greeting or the agent talking alone would otherwise become the caller's memory.
"""

from __future__ import annotations

from agentic_memory.domain.conversation import TranscriptionData

VOICEMAIL_MARKERS = ("voicemail", "answering machine", "answering_machine", "machine_detected")


def reason_not_remembered(data: TranscriptionData) -> str | None:
    """Why this call must not be remembered, or ``None`` when it should be.

    Voicemail (``metadata.termination_reason`` says voicemail was detected, e.g.
    ``webhook_detected_voicemail``: post-call webhook docs), a failed conversation (``status`` "failed"),
    and a call where the caller never said anything (no user turn with text): the machine's greeting or
    the agent talking alone would otherwise become the caller's memory.
    """
    reason = (data.metadata.termination_reason or "").lower()
    if any(marker in reason for marker in VOICEMAIL_MARKERS):
        return "voicemail"
    if (data.status or "").lower() == "failed":
        return "failed"
    if not any(turn.role == "user" and _spoke(turn.message) for turn in data.transcript):
        return "caller_silent"
    return None


def _spoke(message: str | None) -> bool:
    return isinstance(message, str) and any(char.isprintable() and not char.isspace() for char in message)
