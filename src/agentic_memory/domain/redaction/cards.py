"""Payment card numbers: 13-19 digits starting 2-6 (the card networks' first digits: Mastercard 2-series,
Amex/Diners/JCB, Visa, Mastercard/Maestro, Discover/UnionPay) that pass Luhn (``stdnum.luhn``), made of
whole groups of a spoken number (``reading``); and the expiry date or security code said straight after one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from stdnum import imei, luhn

from agentic_memory.domain.redaction import reading
from agentic_memory.domain.redaction.after_keywords import EXPIRY_AT
from agentic_memory.domain.redaction.document import Document
from agentic_memory.domain.redaction.kinds import CARD_EXPIRY, CARD_NUMBER, SECURITY_CODE, Finding, single

CARD_FIRST_DIGITS = "23456"
CARD_LENGTHS = range(13, 20)
# What may stand between a card number and the expiry date or security code said in the same breath.
_RIGHT_AFTER_CARD = re.compile("(?:,? {1,2}|,| ?- ?)")


@functools.lru_cache(maxsize=1024)
def is_card(digits: str) -> bool:
    """13-19 digits starting 2-6 that pass Luhn."""
    return len(digits) in CARD_LENGTHS and digits[0] in CARD_FIRST_DIGITS and luhn.is_valid(digits)


def cards(doc: Document) -> list[Finding]:
    """Card numbers in the spoken numbers of ``doc``, each with what was said straight after it."""
    found = []
    for chain in reading.chains(doc, shortest=CARD_LENGTHS.start):
        for tokens in best_cards(doc, chain):
            found.append(Finding(CARD_NUMBER, reading.pieces(doc, tokens)))
            found.extend(_right_after_card(doc, doc.tokens[tokens[-1]].end))
    return found


def best_cards(doc: Document, sequence: Sequence[int], *, span: int = 0, fewest: int = 1) -> list[list[int]]:
    """The card numbers made of whole consecutive tokens of ``sequence`` (either reading), chosen best first
    and never overlapping: first those whose ends are the ends of a group written in one breath, then those
    in groups of four, then those not starting with a stray one- or two-digit group, then the longest, then
    the first. ``span``: at most this many characters from the first digit to the last (0: no bound);
    ``fewest``: at least this many tokens. Returns each card's tokens, echoes included."""
    candidates = []
    for order, echoes in reading.readings(doc, sequence):
        for i in range(len(order)):
            if doc.tokens[order[i]].digits[0] not in CARD_FIRST_DIGITS:
                continue
            digits = ""
            for j in range(i, len(order)):
                digits += doc.tokens[order[j]].digits
                if len(digits) > CARD_LENGTHS.stop - 1:
                    break
                if span and doc.tokens[order[j]].end - doc.tokens[order[i]].start > span:
                    break
                if j - i + 1 < fewest or not is_card(digits):
                    continue
                window = order[i : j + 1]
                if _is_imei(doc, window, digits):
                    continue
                candidates.append((_score(doc, window), reading.with_echoes(window, echoes)))
    chosen: list[list[int]] = []
    taken: set[int] = set()  # token indices inside a chosen card's extent
    for _, tokens in sorted(candidates, key=lambda candidate: candidate[0], reverse=True):
        extent = range(tokens[0], tokens[-1] + 1)
        if not any(index in taken for index in extent):
            chosen.append(tokens)
            taken.update(extent)
    return sorted(chosen)


def _score(doc: Document, window: list[int]) -> tuple[int, int, int, int, int]:
    tokens = [doc.tokens[index] for index in window]
    runs = doc.runs
    aligned = (runs[doc.run_of[window[0]]][0] == window[0]) + (runs[doc.run_of[window[-1]]][1] == window[-1])
    sizes = [len(token.digits) for token in tokens]
    in_fours = len(sizes) == 1 or all(size == 4 for size in sizes[:-1]) or sizes in ([4, 6, 5], [4, 6, 4])
    clean_start = bool(tokens[0].word) or sizes[0] >= 3
    return aligned, in_fours, clean_start, sum(sizes), -tokens[0].start


def _is_imei(doc: Document, window: list[int], digits: str) -> bool:
    start, end = doc.tokens[window[0]].start, doc.tokens[window[-1]].end
    return len(digits) == 15 and imei.is_valid(digits) and doc.near(("imei",), start, end, 60, 0)


def _right_after_card(doc: Document, card_end: int) -> list[Finding]:
    """ "4111 1111 1111 1111, 12/27" or "... 1111 737": an expiry date, else three or four digits, said
    straight after a card number (only a comma, space or dash between) belong to the card."""
    gap = _RIGHT_AFTER_CARD.match(doc.low, card_end)
    if not gap:
        return []
    expiry = EXPIRY_AT.match(doc.low, gap.end())
    if expiry:
        return [single(expiry.start(), expiry.end(), CARD_EXPIRY)]
    for first, last in doc.tail_after(gap.end(), gap.end() + 1):
        token = doc.tokens[first]
        if len(doc.digits(first, last)) in (3, 4):
            end = doc.tokens[last].end if token.word else token.end
            return [single(token.start, end, SECURITY_CODE)]
    return []
