"""IBANs, read as they are written and said: "GB82 WEST 1234 5698 7654 32", "GB82-WEST-1234-...", in
lower case, with hesitations between groups, split across turns ("DE89 3704" / "Mm-hmm." / "0044 ...").

An IBAN starts with two letters that are a country with IBANs (followed by its digits, or by a space or
dash and its digits when the letters are capitals); then letters and digits are read, skipping
separators, fillers and acknowledgement turns (``reading``), up to the country's IBAN length (SWIFT's
IBAN registry, as python-stdnum ships it); stdnum checks the format and the mod-97 check digits. Bank
account numbers said after their name are in ``after_keywords``.
"""

from __future__ import annotations

import functools
import re

from stdnum import iban, numdb

from agentic_memory.domain.redaction import number_words as words
from agentic_memory.domain.redaction import reading
from agentic_memory.domain.redaction.document import Document, Token, word_char
from agentic_memory.domain.redaction.kinds import BANK_ACCOUNT, Finding
from agentic_memory.domain.redaction.normalise import TURN_BREAK

IBAN_REACH_CHARS = 120  # an IBAN said within this many characters from its first letter
_BBAN_PART = re.compile("([0-9]+)!([nac])")
_UNIT = re.compile("[a-z0-9]+")
_GROUP_GAP = re.compile("[ \\t,./-]{1,3}")


@functools.lru_cache(maxsize=256)
def iban_shape(country: str) -> tuple[int, bool]:
    """(length, BBAN all digits) of ``country``'s IBANs, from stdnum's registry data; (0, False): none."""
    structure = numdb.get("iban").info(country)[0][1].get("bban")
    if not structure:
        return 0, False
    parts = _BBAN_PART.findall(structure)
    return 4 + sum(int(count) for count, _ in parts), all(kind == "n" for _, kind in parts)


def starts(doc: Document) -> list[tuple[int, int]]:
    """(position, IBAN length) where an IBAN may start: two letters that begin a word, followed by digits,
    or by a space or dash and digits when the letters are capitals ("GB 82 ...")."""
    low, cased = doc.low, doc.cased
    found = []
    candidates = [(at - 2, at) for at in doc.glued]
    candidates += [(t.start - 3, t.start) for t in doc.tokens if t.start > 2 and cased[t.start - 2].isupper()]
    for at, digits_at in candidates:
        if at < doc.offset or word_char(low, at - 1):
            continue
        letters = low[at : at + 2]
        if not letters.isascii() or not letters.isalpha():
            continue
        if digits_at - at == 3 and (low[at + 2] not in " -" or not cased[at : at + 2].isupper()):
            continue
        length, _ = iban_shape(letters.upper())
        if length:
            found.append((at, length))
    return sorted(found)


def ibans(doc: Document) -> list[Finding]:
    """IBANs read across separators, fillers and acknowledgement turns."""
    found = []
    spoken = {token.start: token for token in doc.tokens if token.word}
    for start, length in starts(doc):
        finding = _read(doc, start, length, spoken)
        if finding:
            found.append(finding)
    return found


def _read(doc: Document, start: int, length: int, spoken: dict[int, Token]) -> Finding | None:
    low = doc.low
    chars: list[str] = []
    units: list[tuple[int, int]] = []
    said = False  # the last unit was a digit word
    position = start
    while len(chars) < length:
        unit = _UNIT.search(low, position)
        if not unit or unit.start() - start > IBAN_REACH_CHARS:
            return None
        if units and not _gap_ok(low[position : unit.start()]):
            return None
        text = unit.group()
        position = unit.end()
        token = spoken.get(unit.start())
        said = token is not None
        if token is not None:  # a digit word ("eight", "double five": to the end of the token)
            text, position = token.digits, token.end
            units.append((token.start, token.end))
            chars.extend(text)
            continue
        if units and text in words.FILLER_WORDS:
            continue
        chars.extend(text.upper())
        units.append(unit.span())
    compact = "".join(chars[:length])
    if not iban.is_valid(compact):
        return None
    if not said:  # the IBAN may end inside a group written on without a space: replace it up to its end
        unit_start, unit_end = units[-1]
        units[-1] = (unit_start, unit_end - (len(chars) - length))
    return Finding(BANK_ACCOUNT, per_turn(doc, units))


def _gap_ok(gap: str) -> bool:
    if TURN_BREAK not in gap:
        return bool(_GROUP_GAP.fullmatch(gap))
    tail, *middle, head = gap.split(TURN_BREAK)
    if len(middle) > reading.ACK_MAX_TURNS:
        return False
    edges = all(not edge or _GROUP_GAP.fullmatch(edge) or words.CONNECTOR.fullmatch(edge) for edge in (tail, head))
    return edges and all(reading.is_acknowledgement(turn) for turn in middle)


def per_turn(doc: Document, spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``spans`` (in order) as one piece per turn, from the first span's start to the last one's end there."""
    pieces: dict[int, list[int]] = {}
    for start, end in spans:
        turn = doc.turn_of(start)
        if turn in pieces:
            pieces[turn][1] = end
        else:
            pieces[turn] = [start, end]
    return tuple((start, end) for start, end in pieces.values())
