"""Callers' names: checked once, kept as written, in any script.

A name is spoken in the greeting and put in the agent's prompt, so it is the one piece of remembered
text that reaches the agent outside the quoted memory block (DESIGN.md section 8). What may be a name:
letters and combining marks of every script (Unicode categories ``L*`` and ``M*``: Łukasz, Анна,
王小明, محمد, Nguyễn Thị Minh Khai), separated by spaces, apostrophes, hyphens or a period after an
initial; at most ``MAX_WORDS`` words and ``MAX_CHARS`` characters. Anything else (digits, markup,
braces, control or bidirectional-override characters, emoji) means *no name*: the text is refused
whole rather than trimmed into something the caller never said. Placeholder answers from data
collection ("Unknown", "N/A", "not provided") are no name either, so they never replace a real one.

Letters alone are not enough, since a name is read aloud and shown to the agent's LLM. Also refused:

* instruction-shaped text ("Ignore All Previous Instructions", "System Override"): any word from
  ``INSTRUCTION_WORDS``, the words of prompt injections in the languages of ``_SAID``;
* invisible fillers: letters and marks that Unicode makes default-ignorable (``INVISIBLE``: the Hangul
  fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, the combining grapheme joiner, ...);
* letters that look like punctuation a name never holds (LATIN LETTER RETROFLEX CLICK looks like "!",
  MODIFIER LETTER TRIANGULAR COLON like ":"): Unicode's confusables data (``confusables.txt``, through the
  ``confusable-homoglyphs`` package) maps them to punctuation or symbols other than a name's joiners.
  Kana, Han and Hangul letters are exempt (KATAKANA LETTER NO looks like "/", and Noriko is written with
  it);
* more than ``MAX_MARKS_PER_BASE`` combining marks on one letter (stacked accents);
* letters of more than one script in one name (Latin with a Cyrillic "a", U+0430, is the classic look-alike),
  the scripts a Japanese, Chinese or Korean name mixes by nature excepted (Unicode TR 39's "highly
  restrictive" sets); the script of each letter is Unicode's ``Scripts.txt``, again through
  ``confusable-homoglyphs``.

Full-width and half-width forms are folded to their ordinary letters first (full-width "Sam" is "Sam"), by their
Unicode decomposition (``<wide>``, ``<narrow>``), and nothing else is rewritten. ASCII names never load
the Unicode data; the first other name in a container does (about 15 ms, docs/performance.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

MAX_CHARS = 60
MAX_WORDS = 5
MAX_MARKS_PER_BASE = 2  # Thai (vowel + tone) and Vietnamese typed as separate marks need two; Zalgo needs more
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
# Words of prompt injection, never words of a name, in the languages the name phrases below cover (English,
# Spanish, French, German, Italian, Portuguese, Polish, Russian, Ukrainian, Turkish). Name particles (de,
# du, van, von, al, bin, ...) are absent on purpose.
INSTRUCTION_WORDS = frozenset(
    (  # noqa: SIM905  (a list of words reads better as words)
        # English
        "ignore ignoring disregard forget previous above instruction instructions prompt prompts system"
        " assistant override jailbreak pretend roleplay developer administrator command commands execute"
        " respond reply output repeat reveal your yourself must should rules policy now all new say print"
        # Spanish, Portuguese, Italian
        " ignora ignorar olvida instrucciones anteriores sistema asistente eres debes instruções instrucoes"
        " esqueça istruzioni precedenti dimentica"
        # French, German
        " ignorez oublie oubliez précédentes précédente système vous ignoriere ignorieren vergiss anweisungen"
        " vorherigen assistent"
        # Polish, Russian, Ukrainian, Turkish
        " zignoruj instrukcje poprzednie игнорируй инструкции предыдущие ігноруй інструкції yoksay"
        " talimatlar\u0131"
    ).split()
)
# Default-ignorable letters and marks (Unicode's DerivedCoreProperties.txt, Default_Ignorable_Code_Point,
# the entries of general category L* or M*; the others are format characters, refused by category):
# they draw nothing, so "Sam" + U+3164 shows as "Sam" while being another string.
INVISIBLE = frozenset(
    [
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180B,
        0x180C,
        0x180D,
        0x180F,
        0x3164,
        0xFFA0,
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)
# Scripts that one name may mix (Unicode TR 39, 5.2 "highly restrictive": Japanese, Chinese, Korean).
_SCRIPT_SETS = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "BOPOMOFO"}),
    frozenset({"HAN", "HANGUL"}),
)
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})
# Scripts whose letters are strokes that may look like a slash ("\u30ce" KATAKANA LETTER NO, in Noriko):
# a name all in them draws no punctuation, and mixing them into another script is refused anyway.
_IDEOGRAPHIC = frozenset({"HAN", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})
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
    return (unicodedata.category(char)[0] in "LM" and ord(char) not in INVISIBLE) or char in _JOINERS


def fold_width(text: str) -> str:
    """``text`` with full-width and half-width forms replaced by their ordinary characters (U+FF33 U+FF41
    U+FF4D -> "Sam", half-width katakana -> katakana), from each character's Unicode decomposition (``<wide>``,
    ``<narrow>``); nothing else changes."""
    if text.isascii():
        return text
    folded = []
    for char in text:
        decomposition = unicodedata.decomposition(char)
        if decomposition.startswith(("<wide> ", "<narrow> ")):
            folded.append("".join(chr(int(code, 16)) for code in decomposition.split()[1:]))
        else:
            folded.append(char)
    return unicodedata.normalize("NFC", "".join(folded))


def _stacked(text: str) -> bool:
    """More than ``MAX_MARKS_PER_BASE`` combining marks in a row on one letter."""
    run = 0
    for char in text:
        run = run + 1 if unicodedata.category(char).startswith("M") else 0
        if run > MAX_MARKS_PER_BASE:
            return True
    return False


def _instruction_shaped(text: str) -> bool:
    words = text.replace("\u2019", "'").replace("-", " ").replace(".", " ").replace("'", " ").casefold().split()
    return any(word in INSTRUCTION_WORDS for word in words)


def _looks_like_punctuation(char: str, confusables: dict[str, Any]) -> bool:
    """A letter beyond ASCII that Unicode's confusables data maps to ASCII punctuation or symbols other
    than a name's joiners (U+01C3 -> "!", U+02D0 -> ":"; not the okina U+02BB -> "'", which a name may
    hold anyway)."""
    if char.isascii():
        return False
    for glyph in confusables.get(char, ()):
        shape = glyph.get("c", "").replace("\u200e", "").replace("\u200f", "")
        punctuation = shape.isascii() and bool(shape) and all(unicodedata.category(c)[0] in "PS" for c in shape)
        if punctuation and not set(shape) <= _JOINERS:
            return True
    return False


def _unicode_checks_pass(text: str) -> bool:
    """The checks that need Unicode data beyond the standard library: one script (or a CJK set), and no
    letter that looks like punctuation. Loads ``confusable-homoglyphs`` on first use."""
    from confusable_homoglyphs import categories, confusables

    scripts = set()
    for char in text:
        if char in _JOINERS:
            continue
        script = categories.alias(char)
        if script == "Unknown":  # a character newer than the data: not checkable, so not a name
            return False
        if script not in _ANY_SCRIPT:
            scripts.add(script)
        letter = unicodedata.category(char).startswith("L")
        if letter and script not in _IDEOGRAPHIC and _looks_like_punctuation(char, confusables.confusables_data):
            return False
    return len(scripts) <= 1 or any(scripts <= allowed for allowed in _SCRIPT_SETS)


def clean_name(raw: Any) -> str:
    """``raw`` as a checked name (NFC, full-width forms folded, trimmed, single-spaced), or ``""`` when it
    is no name (see the module's docstring for every rule).

    Case is kept, except that an all-lower or all-upper name in a cased script is title-cased
    ("SAM" -> "Sam", "łukasz" -> "Łukasz").
    """
    if not isinstance(raw, str) or len(raw) > 4 * MAX_CHARS:
        return ""
    text = " ".join(fold_width(unicodedata.normalize("NFC", raw)).split()).strip(_EDGE_PUNCTUATION)
    if not text or len(text) > MAX_CHARS or len(text.split()) > MAX_WORDS:
        return ""
    if not all(_allowed(char) for char in text) or not unicodedata.category(text[0]).startswith("L"):
        return ""
    if is_placeholder(text) or _instruction_shaped(text) or _stacked(text):
        return ""
    if not text.isascii() and not _unicode_checks_pass(text):
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
