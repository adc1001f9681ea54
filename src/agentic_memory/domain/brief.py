"""The caller brief's own data: the data-collection items it reads, and how their values are read.

A returning caller's brief (``dynamic_variables``, from the caller profile: ``profile``) says who they are,
how long and how often they have called, what is still open from an earlier call, what their last calls
were about and what they prefer. ElevenLabs' post-call analysis gives all of it: the call's summary and
title, and data-collection items its LLM fills from the transcript following each item's description
(DESIGN.md 3.3; scripts/elevenlabs_agent.py configures the items, docs/elevenlabs-setup.md documents them):

* ``follow_up`` (string): what was promised or asked on this call and is still open at its end;
* ``follow_up_done`` (boolean): this call settled something left open on an earlier call;
* ``preferences`` (string): lasting preferences and facts, as ``topic: value`` pairs separated by ``;``.

An agent without these items still gets a brief from the summaries and titles. Standard library only:
``client_data`` loads this module while a caller waits.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from agentic_memory.domain.names import is_placeholder

FOLLOW_UP = "follow_up"
FOLLOW_UP_DONE = "follow_up_done"
PREFERENCES = "preferences"
# Items the brief reads through slots of its own: they are not shown as "Label: value" facts.
BRIEF_ITEMS = frozenset({FOLLOW_UP, FOLLOW_UP_DONE, PREFERENCES})

MAX_GIST_CHARS = 160
MAX_FOLLOW_UP_CHARS = 300
MAX_TOPIC_CHARS = 60
MAX_PREFERENCE_CHARS = 200
MAX_PREFERENCES = 12
# What an analysis LLM writes in a string item when there is nothing to say, besides names' placeholders.
_NOTHING = frozenset(
    {"no", "nothing", "none needed", "no follow up", "no follow-up", "no follow-ups", "nothing open", "-", "false"}
)
_TRUE = frozenset({"yes", "true", "1"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_SEPARATORS = re.compile(r"[;\n]+")


def _line(value: Any, limit: int) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return ""
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _empty(text: str) -> bool:
    folded = " ".join(text.casefold().replace("_", " ").split()).strip(" .!")
    return not folded or folded in _NOTHING or is_placeholder(folded)


def gist(title: str | None, summary: str | None) -> str:
    """A call in one line: ElevenLabs' ``call_summary_title`` when there is one, else the first sentence of
    its ``transcript_summary``; at most ``MAX_GIST_CHARS`` characters, ``""`` when the call has neither."""
    text = _line(title, MAX_GIST_CHARS)
    if text:
        return text
    summary_text = _line(summary, 4_000)
    return _line(_SENTENCE_END.split(summary_text, maxsplit=1)[0], MAX_GIST_CHARS) if summary_text else ""


def follow_up(value: Any) -> str:
    """The ``follow_up`` item's value as an open follow-up (one line, bounded), or ``""`` when it says
    there is none ("", "none", "N/A", "no follow-up", ...)."""
    text = _line(value, MAX_FOLLOW_UP_CHARS)
    return "" if _empty(text) else text


def settled(value: Any) -> bool:
    """Whether the ``follow_up_done`` item says the call settled an earlier follow-up: a boolean ``true``,
    or the text ``yes`` / ``true`` (the job carries collected booleans as ``yes`` / ``no``)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().casefold() in _TRUE


def preferences(value: Any) -> list[tuple[str, str, str]]:
    """The ``preferences`` item's ``topic: value`` pairs as ``(key, topic, value)``, in order; ``key`` is the
    topic folded (case, spacing), so that a later call's ``Contact: email`` replaces ``contact: text``. A part
    without a colon is a fact of its own (its text is its topic, the value empty); empty and placeholder
    parts are dropped; at most ``MAX_PREFERENCES``."""
    found: list[tuple[str, str, str]] = []
    text = value if isinstance(value, str) else ""
    for part in _SEPARATORS.split(text):
        topic, colon, rest = part.partition(":")
        topic = _line(topic, MAX_TOPIC_CHARS).strip(" -•*")
        said = _line(rest, MAX_PREFERENCE_CHARS) if colon else ""
        if not topic or (colon and _empty(said)) or (not colon and _empty(topic)):
            continue
        key = topic.casefold()
        found = [entry for entry in found if entry[0] != key]
        found.append((key, topic, said))
    return found[:MAX_PREFERENCES]


def preference_line(topic: str, value: str) -> str:
    """How a preference reads in the brief: ``"contact: email"``, or the topic alone for a bare fact."""
    return f"{topic}: {value}" if value else topic
