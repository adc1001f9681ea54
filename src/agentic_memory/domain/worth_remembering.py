"""Which finished calls are remembered (DESIGN.md section 6).

A call that reached voicemail, that failed or was never answered, or where the caller (or the agent)
never said anything is not remembered: the machine's greeting or the agent talking alone would otherwise
become the caller's memory.

ElevenLabs' 2026 payloads say this in fields of their own, read first (platform-notes/refresh-2026-12.md
E3; SDK 2.78 ``CallResult``, ``GetConversationResponseModel``): ``metadata.phone_call.call_result``
(``answered``, ``voicemail``, ``busy``, ``no_answer``, ``failed``) and ``user_message_count`` /
``agent_message_count`` (turns with text; ``null`` on old conversations: unknown). Older payloads have
neither, so the earlier rules stay as the fallback: ``termination_reason`` text, and whether a user turn
has text. The voicemail text rule also applies next to ``call_result``: the agent's own voicemail
detection (a system tool) ends a call Twilio reports ``answered``, with a ``termination_reason`` that says
so. A webhook without turns (the ``exclude_transcript`` option, E2) is not a silent caller: it is
remembered from its analysis.
"""

from __future__ import annotations

from agentic_memory.domain.conversation import TranscriptionData

VOICEMAIL_MARKERS = ("voicemail", "answering machine", "answering_machine", "machine_detected")
# call_result values that mean nobody took part in a conversation, and the rule each one is counted as.
CALL_RESULTS = {"voicemail": "voicemail", "busy": "not_answered", "no_answer": "not_answered", "failed": "failed"}


def reason_not_remembered(data: TranscriptionData) -> str | None:
    """Why this call must not be remembered, or ``None`` when it should be.

    In order: ``call_result`` voicemail / busy / no_answer / failed; ``termination_reason`` saying voicemail
    was detected (e.g. ``webhook_detected_voicemail``: post-call webhook docs); ``status`` "failed";
    ``user_message_count`` 0 (``caller_silent``) or ``agent_message_count`` 0 (``agent_silent``: a greeting
    recorded while the agent never spoke is a machine's, not a conversation). When the counts are unknown
    (``null``, older payloads): no user turn with text is ``caller_silent``, unless the payload has no turns
    at all (``exclude_transcript``), which is remembered from its analysis when that holds anything
    (``no_content`` otherwise).
    """
    call = data.metadata.phone_call
    result = (call.call_result or "").strip().lower() if call is not None else ""
    if result in CALL_RESULTS:
        return CALL_RESULTS[result]
    reason = (data.metadata.termination_reason or "").lower()
    if any(marker in reason for marker in VOICEMAIL_MARKERS):
        return "voicemail"
    if (data.status or "").lower() == "failed":
        return "failed"
    users, agents = data.user_message_count, data.agent_message_count
    if users == 0:
        return "caller_silent"
    if agents == 0:
        return "agent_silent"
    if not data.transcript:
        return None if _analysed(data) else "no_content"
    if users is None and not any(turn.role == "user" and _spoke(turn.message) for turn in data.transcript):
        return "caller_silent"
    return None


def _analysed(data: TranscriptionData) -> bool:
    analysis = data.analysis
    return bool(
        (analysis.transcript_summary or "").strip()
        or (analysis.call_summary_title or "").strip()
        or any(result.value not in (None, "") for result in analysis.data_collection_results.values())
    )


def _spoke(message: str | None) -> bool:
    return isinstance(message, str) and any(char.isprintable() and not char.isspace() for char in message)
