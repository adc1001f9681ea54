"""The labels our memories carry in Mem0: the kinds of write (``metadata.kind``), the scope of a
call whose agent is unknown (``app_id`` with ``MEMORY_SCOPE=agent``), and how a collected fact reads.

Their own module, standard library only, because both sides use them: the worker writes them
(``memory_writes``) and ``client_data`` and ``retrieve`` read by them (``remembered``, ``scope``), and the
interactive functions should not load the post-call code (``job`` and its models) for these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

KIND_CONVERSATION = "conversation"  # the transcript, Mem0 infers the facts
KIND_SUMMARY = "call_summary"  # ElevenLabs' summary of the call, verbatim
KIND_FACT = "fact"  # the agent's collected data, one sentence each
KIND_NOTE = "manual_note"  # a note an operator added by hand (domain.provenance), with its author
# The summary and the collected facts in one infer=False add (memory_writes), since issue 23: Mem0 stores each
# message as a memory of its own and attaches the add's one ``metadata`` to every one of them (direct-import
# docs, openapi ``memories_add_v3``: "attach to each extracted memory"), so the metadata says which text is
# the summary by its digest (``SUMMARY_DIGEST``) and the others are the facts. Older calls' memories carry
# ``call_summary`` or ``fact`` themselves; ``record_kind`` reads both.
KIND_NOTES = "call_notes"
SUMMARY_DIGEST = "summary_sha256"
UNKNOWN_AGENT = "unknown-agent"


def text_digest(text: str) -> str:
    """The digest a notes write keeps of its summary: SHA-256 of the text with its whitespace collapsed
    (what Mem0 stores is the message verbatim, but readers strip it), first 16 hex digits."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def record_kind(text: str, metadata: Mapping[str, Any] | None) -> str:
    """What a memory is, from its text and metadata: ``KIND_SUMMARY``, ``KIND_FACT``, ``KIND_CONVERSATION``
    (extracted by Mem0 from a call), ``KIND_NOTE`` (added by hand), or ``""`` (written by something else).
    A ``KIND_NOTES`` memory is the summary when its text has the write's ``SUMMARY_DIGEST``, else a
    collected fact."""
    kind = (metadata or {}).get("kind")
    if kind == KIND_NOTES:
        digest = (metadata or {}).get(SUMMARY_DIGEST)
        return KIND_SUMMARY if isinstance(digest, str) and digest == text_digest(text) else KIND_FACT
    return kind if kind in (KIND_SUMMARY, KIND_FACT, KIND_CONVERSATION, KIND_NOTE) else ""


def fact_sentence(key: str, value: str) -> str:
    """One collected field as the sentence stored in Mem0 and shown in the greeting: ``"Preferred
    delivery: weekday mornings"`` for ``("preferred_delivery", "weekday mornings")``."""
    label = key.replace("_", " ").replace("-", " ").strip().capitalize()
    return f"{label}: {value}"
