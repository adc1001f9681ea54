"""National ids: US social security numbers (and other taxpayer ids said as one), Canadian SINs, UK national
insurance numbers.

* ``[social security number]``: nine digits said 3-2-4 with dashes ("123-45-6789", "one two three dash
  four five ...") that ``stdnum.us.ssn`` or ``itin`` accepts, anywhere; any nine digits near "social",
  "SSN", "seguro social" or "tax id" that stdnum accepts as a US taxpayer id (or a Canadian SIN).
* ``[social insurance number]``: the same near "social insurance" or "SIN".
* ``[national insurance number]``: "AB 12 34 56 C" near "national insurance", "NI number" or "NINO" (HMRC
  National Insurance Manual NIM39110's format rules: stdnum has no NINO module, and there is no checksum).

The nine digits are whole groups of one spoken number (``reading``), so they may be split across turns.
"""

from __future__ import annotations

import itertools
import re

from stdnum.ca import sin
from stdnum.us import itin, ssn, tin

from agentic_memory.domain.redaction import number_words as words
from agentic_memory.domain.redaction import reading
from agentic_memory.domain.redaction.document import Document
from agentic_memory.domain.redaction.kinds import (
    NATIONAL_INSURANCE_NUMBER,
    SOCIAL_INSURANCE_NUMBER,
    SOCIAL_SECURITY_NUMBER,
    Finding,
    single,
)

ID_DIGITS = 9
ID_CONTEXT_BEFORE = 80
ID_CONTEXT_AFTER = 40
# NIM39110: first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; BG, GB, KN, NK, NT, TN and ZZ
# are never issued; suffix A-D.
_NINO = re.compile(
    "(?<!\\w)(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?!\\w)",
    re.IGNORECASE,
)


def national_ids(doc: Document) -> list[Finding]:
    """SSNs and SINs: nine digits made of whole groups of a spoken number."""
    found: dict[tuple[int, ...], Finding] = {}
    for chain in reading.chains(doc, shortest=ID_DIGITS):
        start, end = doc.tokens[chain[0]].start, doc.tokens[chain[-1]].end
        named = doc.near(("sin", "ssn"), start, end, ID_CONTEXT_BEFORE, ID_CONTEXT_AFTER)
        if not named and not words.DASH.search(doc.low, start, end):
            continue  # neither named an id nor dashed: no id
        for order, echoes in reading.readings(doc, chain):
            groups = reading.segments(doc, order)
            for first in range(len(groups)):
                size = 0
                for last in range(first, len(groups)):
                    size += sum(len(doc.tokens[index].digits) for index in groups[last])
                    if size >= ID_DIGITS:
                        break
                if size != ID_DIGITS:
                    continue
                window = [index for group in groups[first : last + 1] for index in group]
                kind = _id_kind(doc, window, chain)
                if kind:
                    tokens = reading.with_echoes(window, echoes)
                    found.setdefault(tuple(tokens), Finding(kind, reading.pieces(doc, tokens)))
    return list(found.values())


def _id_kind(doc: Document, window: list[int], chain: list[int]) -> str | None:
    digits = "".join(doc.tokens[index].digits for index in window)
    if _dashed(doc, window, chain) == [3, 2, 4] and (ssn.is_valid(digits) or itin.is_valid(digits)):
        return SOCIAL_SECURITY_NUMBER
    start, end = doc.tokens[window[0]].start, doc.tokens[window[-1]].end
    said_sin = doc.near(("sin",), start, end, ID_CONTEXT_BEFORE, ID_CONTEXT_AFTER)
    said_ssn = doc.near(("ssn",), start, end, ID_CONTEXT_BEFORE, ID_CONTEXT_AFTER)
    if not (said_sin or said_ssn) or _dashed(doc, window, chain) == [5, 4]:  # ZIP+4 near "social"
        return None
    # Said as a national id and valid as one (a US taxpayer id or a Canadian SIN): named after the words.
    if tin.is_valid(digits) or sin.is_valid(digits):
        return SOCIAL_INSURANCE_NUMBER if said_sin else SOCIAL_SECURITY_NUMBER
    return None


def _dashed(doc: Document, window: list[int], chain: list[int]) -> list[int]:
    """The sizes of the dash-separated groups of ``window`` ("123-45-6789", "123 dash 45 dash 6789": [3, 2, 4]),
    or [] when it has no dash or is dashed on to more digits of its chain."""
    position, ending = chain.index(window[0]), chain.index(window[-1])
    before = chain[position - 1] if position else None
    after = chain[ending + 1] if ending + 1 < len(chain) else None
    if (before is not None and _dash_between(doc, before, window[0])) or (
        after is not None and _dash_between(doc, window[-1], after)
    ):
        return []
    sizes = [len(doc.tokens[window[0]].digits)]
    for left, right in itertools.pairwise(window):
        if _dash_between(doc, left, right):
            sizes.append(0)
        sizes[-1] += len(doc.tokens[right].digits)
    return sizes if len(sizes) > 1 else []


def _dash_between(doc: Document, left: int, right: int) -> bool:
    return bool(words.DASH.search(doc.low, doc.tokens[left].end, doc.tokens[right].start))


def ninos(doc: Document) -> list[Finding]:
    """UK national insurance numbers near their name (80 characters after it, 40 before)."""
    found = []
    for keyword_start, keyword_end in doc.spans["nino"]:
        window_end = min(len(doc.cased), keyword_end + ID_CONTEXT_BEFORE)
        for match in _NINO.finditer(doc.cased, max(doc.offset, keyword_start - ID_CONTEXT_AFTER), window_end):
            found.append(single(match.start(), match.end(), NATIONAL_INSURANCE_NUMBER))
    return found
