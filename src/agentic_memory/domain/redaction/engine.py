"""The findings of every detector, chosen so that none overlap, and replaced by their placeholders; the
public functions over texts, transcripts and collected values."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from agentic_memory.domain.redaction import after_keywords, bank_accounts, cards, national_ids
from agentic_memory.domain.redaction.backstop import backstop
from agentic_memory.domain.redaction.document import HINT_CHARS, Document
from agentic_memory.domain.redaction.kinds import PLACEHOLDERS, PRIORITY, Finding
from agentic_memory.domain.redaction.normalise import TURN_BREAK

MAX_PASSES = 8
REREAD_CHARS = 600  # more than any reach of a rule (the backstop's 240-character window, a keyword's 150)
_DIGIT = re.compile("[0-9]")


def findings(text: str, hint: str = "") -> list[Finding]:
    """What to replace in ``text`` (positions in ``text``), never overlapping; where findings overlap, the
    higher-priority kind wins, then the one said first, then the longer."""
    doc = Document(text, hint)
    if not doc.tokens and not _maybe_letters_and_digits(doc):
        return []
    found_cards = cards.cards(doc)
    candidates = bank_accounts.ibans(doc) + national_ids.ninos(doc) + found_cards + national_ids.national_ids(doc)
    candidates += after_keywords.after_keywords(doc, found_cards) + after_keywords.expiries(doc, found_cards)
    candidates += backstop(doc, candidates)
    taken: list[tuple[int, int]] = []  # pieces chosen so far, in order, never overlapping
    chosen: list[Finding] = []
    for finding in sorted(candidates, key=lambda f: (PRIORITY[f.kind], f.start, -f.end)):
        if finding.start < doc.offset or not all(_free(taken, piece) for piece in finding.pieces):
            continue
        for piece in finding.pieces:
            bisect.insort(taken, piece)
        chosen.append(finding)
    shift = doc.offset
    return [Finding(f.kind, tuple((start - shift, end - shift) for start, end in f.pieces)) for f in chosen]


def _maybe_letters_and_digits(doc: Document) -> bool:
    """An IBAN's or NINO's digits are glued to letters, so they are no token: any digit may hold one."""
    return bool(_DIGIT.search(doc.cased, doc.offset))


def _free(taken: list[tuple[int, int]], piece: tuple[int, int]) -> bool:
    index = bisect.bisect_left(taken, piece)
    clear_before = index == 0 or taken[index - 1][1] <= piece[0]
    clear_after = index == len(taken) or taken[index][0] >= piece[1]
    return clear_before and clear_after


def redact_text(text: str, *, hint: str = "") -> tuple[str, Counter[str]]:
    """``text`` with every number the package docstring lists replaced by its placeholder.

    ``hint``: what was said just before ``text`` (the previous turns, or a data-collection field's name
    such as ``"social_security_number"``); it counts as context ("what is the CVV?" then "123") but is
    never changed or returned. Returns the new text and how many numbers of each kind were replaced (kind
    names are the keys of ``PLACEHOLDERS``; a number said in pieces counts once); counts, never values, are
    safe to log. Pure: no I/O, no settings.

    Idempotent: the result is redacted again until nothing changes (each pass removes digits and
    placeholders hold none, so this ends; in practice the second pass finds nothing).
    """
    counts: Counter[str] = Counter()
    hint = hint.replace("_", " ")
    low, high = 0, len(text)  # what the next pass reads: all of it, then only around what was replaced
    for _ in range(MAX_PASSES):
        before = hint if low == 0 else text[max(0, low - HINT_CHARS) : low]
        found = findings(text[low:high], before)
        if not found:
            break
        parts = [text[:low]]
        size = low  # characters in ``parts`` so far
        last = low
        first_placed = last_placed = -1  # where the first placeholder starts and the last one ends
        for start, end, kind in sorted((s + low, e + low, f.kind) for f in found for s, e in f.pieces):
            placeholder = PLACEHOLDERS[kind]
            parts += (text[last:start], placeholder)
            size += start - last
            first_placed = size if first_placed < 0 else first_placed
            size += len(placeholder)
            last_placed = size
            last = end
        parts.append(text[last:])
        counts.update(finding.kind for finding in found)
        text = "".join(parts)
        low, high = _around(text, first_placed, last_placed)
    return text, counts


def _around(text: str, start: int, end: int) -> tuple[int, int]:
    """The stretch the next pass reads: REREAD_CHARS either side of what was replaced, widened to whole turns.
    Only there can a replacement have made a new finding possible (a number cut by a placeholder: "[card
    number] 123-45-6789"); everything else was read in full already."""
    low = max(0, start - REREAD_CHARS)
    high = min(len(text), end + REREAD_CHARS)
    low = text.rfind(TURN_BREAK, 0, low) + 1 if low else 0
    found = text.find(TURN_BREAK, high)
    return low, (len(text) if found < 0 else found)


def redact_turns(turns: Sequence[str]) -> tuple[list[str], Counter[str]]:
    """Each turn of a transcript redacted, with the turns around it as context and as part of one call.

    ``turns``: message texts in call order, whoever spoke: the agent's "what is the CVV?" gives the
    caller's "123" its meaning, and a card read in chunks over several turns is one card. Returns the
    redacted texts in the same order (each turn keeps its words; a number said over several turns leaves
    its placeholder in each turn that said a part of it) and the counts per kind. The turns are read as one
    text with a paragraph separator (U+2029) between them; a turn that itself holds U+2029 makes the call
    be read one turn at a time, with the turns before it as hint.
    """
    if not any(TURN_BREAK in turn for turn in turns):
        joined, counts = redact_text(TURN_BREAK.join(turns))
        redacted = joined.split(TURN_BREAK)
        if len(redacted) == len(turns):
            return redacted, counts
    counts = Counter()
    result: list[str] = []
    before = ""
    for turn in turns:
        text, found = redact_text(turn, hint=before)
        result.append(text)
        counts.update(found)
        before = f"{before} {turn}"[-HINT_CHARS:]
    return result, counts


def redact_value(value: Any, *, hint: str = "") -> tuple[Any, Counter[str]]:
    """A data-collection value (or any JSON-like structure) with every string and integer redacted.

    - ``str``: ``redact_text(value, hint=hint)``.
    - ``int`` (not ``bool``) and whole ``float``: an integer can be a card number; when its digits are
      redacted the result is the placeholder string, else the number unchanged.
    - ``dict``: values redacted with the key added to the hint (``{"ssn": 123456789}`` is an SSN); keys kept.
    - ``list``/``tuple``: each item (returned as a list). Anything else (``None``, ``bool``) unchanged.

    Returns the redacted value and the counts per kind.
    """
    if isinstance(value, str):
        return redact_text(value, hint=hint)
    if isinstance(value, bool) or value is None:
        return value, Counter()
    if isinstance(value, int | float):
        whole = isinstance(value, int) or (value.is_integer() and abs(value) < 1e20)
        if not whole:
            return value, Counter()
        text, counts = redact_text(str(int(value)), hint=hint)
        return (text if counts else value), counts
    counts: Counter[str] = Counter()
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            result[key], found = redact_value(item, hint=f"{hint} {key}".strip())
            counts.update(found)
        return result, counts
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            redacted, found = redact_value(item, hint=hint)
            items.append(redacted)
            counts.update(found)
        return items, counts
    return value, counts


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, never inside a placeholder (cut before it instead)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    opened = cut.rfind("[")
    if opened >= 0 and "]" not in cut[opened:] and any(text.startswith(p, opened) for p in PLACEHOLDERS.values()):
        cut = cut[:opened].rstrip()
    return cut
