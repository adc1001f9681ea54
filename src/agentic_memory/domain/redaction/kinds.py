"""The kinds of number that are never stored, their placeholders, and what a detector reports.

A finding is one number (one card, one SSN, ...) and the places it was said: ``pieces``, each a
``(start, end)`` inside one turn. A card read in four chunks across four caller turns is one finding of
four pieces; each piece becomes the kind's placeholder in its own turn, and the finding counts once.
"""

from __future__ import annotations

from typing import NamedTuple

CARD_NUMBER = "card_number"
SECURITY_CODE = "security_code"
CARD_EXPIRY = "card_expiry"
SOCIAL_SECURITY_NUMBER = "social_security_number"
SOCIAL_INSURANCE_NUMBER = "social_insurance_number"
NATIONAL_INSURANCE_NUMBER = "national_insurance_number"
BANK_ACCOUNT = "bank_account"
PIN = "pin"

# Order is priority: where two findings overlap, the earlier kind wins.
PLACEHOLDERS: dict[str, str] = {
    BANK_ACCOUNT: "[bank account]",
    NATIONAL_INSURANCE_NUMBER: "[national insurance number]",
    CARD_NUMBER: "[card number]",
    SOCIAL_SECURITY_NUMBER: "[social security number]",
    SOCIAL_INSURANCE_NUMBER: "[social insurance number]",
    SECURITY_CODE: "[security code]",
    PIN: "[pin]",
    CARD_EXPIRY: "[card expiry]",
}
PRIORITY = {kind: rank for rank, kind in enumerate(PLACEHOLDERS)}

Piece = tuple[int, int]


class Finding(NamedTuple):
    """One number to replace: its kind and where it was said (pieces in order, never overlapping)."""

    kind: str
    pieces: tuple[Piece, ...]

    @property
    def start(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]


def single(start: int, end: int, kind: str) -> Finding:
    """A finding said in one stretch of text."""
    return Finding(kind, ((start, end),))
