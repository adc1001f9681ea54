"""The labels our memories carry in Mem0: the kinds of write (``metadata.kind``), the scope of a
call whose agent is unknown (``app_id`` with ``MEMORY_SCOPE=agent``), and how a collected fact reads.

Their own module, standard library only, because both sides use them: the worker writes them
(``memory_writes``) and ``client_data`` and ``retrieve`` read by them (``remembered``, ``scope``), and the
interactive functions should not load the post-call code (``job`` and its models) for these.
"""

from __future__ import annotations

KIND_CONVERSATION = "conversation"  # the transcript, Mem0 infers the facts
KIND_SUMMARY = "call_summary"  # ElevenLabs' summary of the call, verbatim
KIND_FACT = "fact"  # the agent's collected data, one sentence each
KIND_NOTE = "manual_note"  # a note an operator added by hand (domain.provenance), with its author
UNKNOWN_AGENT = "unknown-agent"


def fact_sentence(key: str, value: str) -> str:
    """One collected field as the sentence stored in Mem0 and shown in the greeting: ``"Preferred
    delivery: weekday mornings"`` for ``("preferred_delivery", "weekday mornings")``."""
    label = key.replace("_", " ").replace("-", " ").strip().capitalize()
    return f"{label}: {value}"
