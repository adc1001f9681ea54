"""Callers' names: checked once, kept as written, in any script.

A name is spoken in the greeting and put in the agent's prompt, so it is the one piece of remembered
text that reaches the agent outside the quoted memory block (DESIGN.md section 8). What may be a name:
letters and combining marks of every script (Unicode categories ``L*`` and ``M*``: Łukasz, Анна,
王小明, محمد, Nguyễn Thị Minh Khai), separated by spaces, apostrophes, hyphens or a period after an
initial; at most ``MAX_WORDS`` words and ``MAX_CHARS`` characters. Anything else (digits, markup,
braces, control or bidirectional-override characters, emoji) means *no name*: the text is refused
whole rather than trimmed into something the caller never said. Placeholder answers from data
collection ("Unknown", "N/A", "not provided") are no name either, so they never replace a real one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

MAX_CHARS = 60
MAX_WORDS = 5
_JOINERS = frozenset(" '\u2019-.")
_EDGE_PUNCTUATION = " \t\n\"'\u201c\u201d\u2018\u2019.,;:!?\u00a1\u00bf()[]"
PLACEHOLDERS = frozenset(
    {
        "unknown",
        "n/a",
        "na",
        "n a",
        "none",
        "null",
        "nil",
        "no name",
        "not provided",
        "not given",
        "not stated",
        "not mentioned",
        "not available",
        "unavailable",
        "unspecified",
        "not specified",
        "anonymous",
        "caller",
        "the caller",
        "customer",
        "the customer",
        "user",
        "the user",
        "client",
        "sir",
        "madam",
        "ma'am",
        "guest",
        "someone",
        "nobody",
        "undefined",
        "redacted",
        "name",
        "test",
    }
)
# "My name is ..." and the like, in a few of the languages agents speak; the name is what follows.
_SAID = re.compile(
    r"(?i:\bmy name is|\bmy name's|\byou can call me|\bplease call me|\bme llamo|\bmi nombre es"
    r"|\bje m'appelle|\bje m\u2019appelle|\bmon nom est|\bich heiße|\bich heisse|\bmein name ist|\bmi chiamo"
    r"|\bmeu nome é|\bnazywam się|\bmam na imię|меня зовут|мене звати|\bbenim ad\u0131m)"
    r"\s+(?P<name>[^\W\d_][^\W\d_'\u2019\-.]*(?:[ '\u2019\-][^\W\d_][^\W\d_'\u2019\-.]*){0,2})",
)
# Words that follow "my name is" without being a name ("my name is not ...", "this is about ...").
_NOT_NAMES = frozenset(
    {"not", "just", "actually", "calling", "still", "also", "the", "a", "an", "really", "about", "regarding", "for"}
)
# How Mem0's extraction writes a name the caller gave: "Name is Sam", "User's name is Łukasz Nowak".
_STATED = re.compile(r"^(?:the )?(?:user'?s |caller'?s |my )?name is (?P<name>.+?)\.?$", re.I)


def _allowed(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM" or char in _JOINERS


def clean_name(raw: Any) -> str:
    """``raw`` as a checked name (NFC, trimmed, single-spaced), or ``""`` when it is no name.

    Case is kept, except that an all-lower or all-upper name in a cased script is title-cased
    ("SAM" -> "Sam", "łukasz" -> "Łukasz").
    """
    if not isinstance(raw, str):
        return ""
    text = " ".join(unicodedata.normalize("NFC", raw).split()).strip(_EDGE_PUNCTUATION)
    if not text or len(text) > MAX_CHARS or len(text.split()) > MAX_WORDS:
        return ""
    if not all(_allowed(char) for char in text) or not unicodedata.category(text[0]).startswith("L"):
        return ""
    if is_placeholder(text):
        return ""
    if text.islower() or text.isupper():
        text = text.title()
    return text


def is_placeholder(text: str) -> bool:
    """True for what data collection writes when no name was given ("Unknown", "N/A", ...)."""
    return " ".join(text.lower().replace("_", " ").split()).strip(_EDGE_PUNCTUATION) in PLACEHOLDERS


def said_name(user_turns: Iterable[str]) -> str | None:
    """The name a caller gave in their own words ("my name is Łukasz", "me llamo Ana"), or ``None``.

    Only explicit phrasings count; the first name given wins.
    """
    for text in user_turns:
        for match in _SAID.finditer(text):
            words = match.group("name").split()
            if not words or words[0].lower() in _NOT_NAMES:
                continue
            # A second or third word only when capitalised in a cased script: "Maria and" is not a name.
            kept = [words[0]]
            for word in words[1:]:
                if word[0].islower():
                    break
                kept.append(word)
            name = clean_name(" ".join(kept))
            if name:
                return name
    return None


def stated_name(fact: str) -> str:
    """The name in a Mem0 fact of the form "Name is Sam" / "User's name is Łukasz Nowak", else ``""``."""
    match = _STATED.match(fact.strip())
    return clean_name(match.group("name")) if match else ""
