"""The backstop: a card or IBAN whose groups are broken up by words that no rule of ``reading`` lets through
("4111" / agent "Got it, and the next four digits please?" / "1111" ...).

The groups of digits are read with everything else between them removed, within a bounded window, across
turns: at most ``GAP_CHARS`` between two groups and ``SPAN_CHARS`` from a card's first digit to its last
(an IBAN's digits within ``SPAN_CHARS`` of its country code). Any run of whole groups that is a card (13-19
digits, first digit 2-6, Luhn) or completes an all-digit IBAN (mod-97) is replaced.

What the window never reads across, to keep phone numbers, dates, amounts, order numbers and addresses
apart from each other: a word that names another number (``number_words.BARRIER_WORDS``: "zip", "order",
"phone", "date", "security code" ...), a number that is not part of one (times, dates, amounts: ``document``),
digits said as words, and a phone number written as one (3-3-4 or 3-4 groups, or 10-11 digits from 0).
"""

from __future__ import annotations

import bisect
import re

from stdnum import iban

from agentic_memory.domain.redaction import bank_accounts, cards, reading
from agentic_memory.domain.redaction import number_words as words
from agentic_memory.domain.redaction.document import Document
from agentic_memory.domain.redaction.kinds import BANK_ACCOUNT, CARD_NUMBER, Finding

GAP_CHARS = 80
SPAN_CHARS = 240
_DIGIT = re.compile("[0-9]")


def backstop(doc: Document, found_before: list[Finding]) -> list[Finding]:
    """Cards and IBANs found when only the groups of digits are read, among the groups that no finding of the
    other rules (``found_before``) holds: those are read apart, as a placeholder would be."""
    phone = _phone_numbers(doc)
    held = _held(doc, found_before)
    found = []
    sequence: list[int] = []
    size = 0
    for index, token in enumerate(doc.tokens):
        usable = not token.word and index not in phone and index not in held
        if usable and sequence and _reads_across(doc, sequence[-1], index):
            sequence.append(index)
            size += len(token.digits)
            continue
        if size >= cards.CARD_LENGTHS.start:
            found.extend(_cards(doc, sequence))
        sequence, size = ([index], len(token.digits)) if usable else ([], 0)
    if size >= cards.CARD_LENGTHS.start:
        found.extend(_cards(doc, sequence))
    return found + _ibans(doc)


def _held(doc: Document, findings: list[Finding]) -> set[int]:
    """The tokens inside the pieces of ``findings``."""
    held: set[int] = set()
    for finding in findings:
        for start, end in finding.pieces:
            first = bisect.bisect_left(doc.starts, start)
            last = bisect.bisect_left(doc.starts, end)
            held.update(range(first, last))
    return held


def _cards(doc: Document, sequence: list[int]) -> list[Finding]:
    chosen = cards.best_cards(doc, sequence, span=SPAN_CHARS, fewest=2)
    return [Finding(CARD_NUMBER, reading.pieces(doc, tokens)) for tokens in chosen]


def _reads_across(doc: Document, left: int, right: int) -> bool:
    """Nothing between tokens ``left`` and ``right`` (indices) that the window never reads across."""
    if right != left + 1:
        return False
    start, end = doc.tokens[left].end, doc.tokens[right].start
    if end - start > GAP_CHARS:
        return False
    if "[" in doc.low[start:end]:  # one of our placeholders: what was around it is said apart
        return False
    return not _DIGIT.search(doc.cased, start, end) and not words.BARRIER.search(doc.low, start, end)


def _phone_numbers(doc: Document) -> set[int]:
    """Tokens of tight runs written as a phone number: 3-3-4 or 3-4 groups, or 10-11 digits starting 0."""
    found: set[int] = set()
    for first, last in doc.runs:
        if first == last:
            continue
        tokens = doc.tokens[first : last + 1]
        if any(token.word for token in tokens):
            continue
        sizes = [len(token.digits) for token in tokens]
        digits = "".join(token.digits for token in tokens)
        if sizes in ([3, 3, 4], [3, 4]) or (digits[0] == "0" and len(digits) in (10, 11)):
            found.update(range(first, last + 1))
    return found


def _ibans(doc: Document) -> list[Finding]:
    """All-digit IBANs (DE, ES, PL, PT, BE ...) whose groups are broken up by words. The country code and check
    digits say enough that a group shaped like a phone number ("0532 0130 00") is read too."""
    found = []
    for start, length in bank_accounts.starts(doc):
        country = doc.low[start : start + 2].upper()
        _, digits_only = bank_accounts.iban_shape(country)
        if not digits_only:
            continue
        head = re.match("[a-z]{2}[ -]?([0-9]*)", doc.low[start:])
        chars = country + (head.group(1) if head else "")
        head_end = start + (head.end() if head else 2)
        spans = [(start, head_end)]
        last_end = head_end
        index = bisect.bisect_left(doc.starts, head_end)
        while len(chars) < length and index < len(doc.tokens):
            token = doc.tokens[index]
            gap_ok = token.start - last_end <= GAP_CHARS and token.end - start <= SPAN_CHARS
            between = doc.low[last_end : token.start]
            stop = _DIGIT.search(between) or "[" in between or words.BARRIER.search(between)
            if token.word or not gap_ok or stop:
                break
            chars += token.digits
            spans.append((token.start, token.end))
            last_end = token.end
            index += 1
        if len(chars) == length and iban.is_valid(chars):
            found.append(Finding(BANK_ACCOUNT, bank_accounts.per_turn(doc, spans)))
    return found
