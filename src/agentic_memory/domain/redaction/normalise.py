"""Two views of a text that keep every character where it was, so that what is found in a view is replaced
in the text itself.

* ``cased``: every Unicode decimal digit as its ASCII digit (Arabic-Indic ``٤``, Eastern Arabic-Indic
  ``۴``, Devanagari ``४``, full-width ``\uff14`` ... all read ``4``: ``unicodedata.decimal``, the Unicode
  Character Database's Numeric_Type=Decimal), compatibility forms folded when they stay one character
  (full-width letters and punctuation: NFKC), every space and invisible format character as a space,
  every dash as ``-``, and the Arabic, ideographic and Devanagari commas and stops as ``,`` and ``.``.
  Case is kept (``SIN``, ``NI`` and IBANs written in capitals are read from it).
* ``low``: ``cased`` in lower case with accents taken off (NFD without its combining marks, when that
  leaves one character), so "zéro", "três", "fünf", "pięć" read as speech-to-text may or may not write them.

Other numeric characters (superscripts, circled digits, fractions) are not decimal digits and stay.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Punctuation that separates the groups of a number in other scripts, read as its ASCII counterpart.
_PUNCTUATION = {"\u060c": ",", "\u3001": ",", "\uff64": ",", "\u3002": ".", "\u0964": ".", "\u06d4": "."}
TURN_BREAK = "\u2029"  # the paragraph separator between turns: kept as it is


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> tuple[str, str]:
    """(cased, low) forms of one non-ASCII character, each exactly one character."""
    if char == TURN_BREAK:
        return char, char
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit), str(digit)
    if char in _PUNCTUATION:
        return _PUNCTUATION[char], _PUNCTUATION[char]
    category = unicodedata.category(char)
    if category in ("Zs", "Cf"):
        return " ", " "
    if category == "Pd":
        return "-", "-"
    cased = char
    if category not in ("No", "Nl"):  # "²", "①", "Ⅳ": not decimal digits, kept as they are
        compatible = unicodedata.normalize("NFKC", char)
        if len(compatible) == 1 and not compatible.isdecimal():
            cased = compatible
    bare = "".join(c for c in unicodedata.normalize("NFD", cased) if unicodedata.category(c) != "Mn")
    low = (bare if len(bare) == 1 else cased).lower()
    return cased, (low if len(low) == 1 else cased)


_WIDE = re.compile("[^\x00-\x7f\u2029]")


def fold(text: str) -> tuple[str, str]:
    """``(cased, low)`` views of ``text`` (module docstring), each as long as ``text``."""
    if not _WIDE.search(text):
        return text, text.lower()
    # Only the characters outside ASCII are looked at (a substitution per character, not a table over all).
    cased = _WIDE.sub(lambda found: _fold(found.group())[0], text)
    low = _WIDE.sub(lambda found: _fold(found.group())[1], text).lower()
    if len(low) != len(text):  # never with the forms above; kept as a guard on positions
        low = "".join(char.lower()[:1] for char in _WIDE.sub(lambda found: _fold(found.group())[1], text))
    return cased, low
