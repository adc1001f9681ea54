"""Numbers that only their name makes personal: security codes, PINs, bank account numbers and card expiry
dates, said right after the words that name them ("the CVV is 737", "What's the security code?" "737").
"""

from __future__ import annotations

import re

from agentic_memory.domain.redaction.document import KEYWORD_GAP_CHARS, Document
from agentic_memory.domain.redaction.kinds import (
    BANK_ACCOUNT,
    CARD_EXPIRY,
    PIN,
    SECURITY_CODE,
    Finding,
    single,
)

CARD_CONTEXT_CHARS = 150

_MONTH = (
    "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    "|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = "(?:20)?[0-9]{2}"
_EXPIRY_VALUE = (
    "(?<![\\w/.])(?:"
    f"(?:0?[1-9]|1[0-2]) ?[/.\\-] ?{_YEAR}"  # 04/27, 4/2027, 04-27
    f"|(?:0[1-9]|1[0-2]){_YEAR}"  # 0427, 042027
    f"|(?:0?[1-9]|1[0-2]) {_YEAR}"  # 04 27
    f"|{_MONTH}\\.?,? +(?:of +)?{_YEAR}"  # april 2027, apr. 27, april of 27
    ")(?![\\w/])"
)
# An expiry value right after its keyword (run on ``low`` from the keyword's end).
_EXPIRY_AFTER = re.compile(f"[^0-9\\[]{{0,{KEYWORD_GAP_CHARS}}}?(?P<value>{_EXPIRY_VALUE})")
EXPIRY_AT = re.compile(_EXPIRY_VALUE)


def card_context(doc: Document, cards: list[Finding], start: int, end: int) -> bool:
    """Card words, or a card number, within CARD_CONTEXT_CHARS of [start, end)."""
    reach = CARD_CONTEXT_CHARS
    if doc.near(("card", "cvv"), start, end, reach, reach):
        return True
    return any(card.start < end + reach and card.end > start - reach for card in cards)


def after_keywords(doc: Document, cards: list[Finding]) -> list[Finding]:
    """Security codes, PINs and bank account numbers: the number said right after the words that name it."""
    found: list[Finding] = []
    for family in ("cvv", "cvv_phrase", "pin", "bank_account", "account"):
        for _, keyword_end in doc.spans[family]:
            for first, last in doc.tail_after(keyword_end, keyword_end + 2 * KEYWORD_GAP_CHARS):
                start, end = doc.tokens[first].start, doc.tokens[last].end
                if start >= doc.offset and doc.follows(keyword_end, start):
                    kind = _named_by(doc, family, doc.digits(first, last), start, end, cards)
                    if kind:
                        found.append(single(start, end, kind))
    return found


def _named_by(doc: Document, family: str, digits: str, start: int, end: int, cards: list[Finding]) -> str | None:
    size = len(digits)
    if family in ("cvv", "cvv_phrase"):
        if size not in (3, 4) or doc.last_four_before(start):
            return None
        if family == "cvv" or card_context(doc, cards, start, end):
            return SECURITY_CODE
        return None
    if family == "pin":
        return PIN if 4 <= size <= 6 else None
    if not 4 <= size <= 17:
        return None
    reach = CARD_CONTEXT_CHARS
    if family == "bank_account" or doc.near(("bank", "bank_account"), start, end, reach, reach):
        return BANK_ACCOUNT
    return None


def expiries(doc: Document, cards: list[Finding]) -> list[Finding]:
    """Card expiry dates said after "expires", "valid thru" ..., near card words or a card number."""
    found = []
    for _, keyword_end in doc.spans["expiry"]:
        match = _EXPIRY_AFTER.match(doc.low, keyword_end)
        if match and match.start("value") >= doc.offset:
            start, end = match.span("value")
            if card_context(doc, cards, start, end):
                found.append(single(start, end, CARD_EXPIRY))
    return found
