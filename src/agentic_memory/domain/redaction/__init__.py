"""Numbers that must never be stored, replaced by a typed placeholder before a job leaves the webhook handler.

What is replaced (``REDACT_PII``, on by default; the caller of this package checks the setting):

=============================  ==========================================================================
placeholder                    what, and when
=============================  ==========================================================================
``[card number]``              13-19 digits starting 2-6, Luhn-valid (``cards``), made of whole groups of
                               one spoken number (``reading``), or found by the backstop (``backstop``)
``[security code]``            3-4 digits after "CVV"/"CVC"/"card code", or "security code" near card
                               words, or said straight after a card ("4111 ... 1111, 737")
``[card expiry]``              "04/27", "0427", "April 2027" after "expires"/"valid thru" near card words,
                               or straight after a card
``[social security number]``   nine digits said 3-2-4 with dashes (or the word "dash") that stdnum accepts
                               as an SSN or ITIN, anywhere; nine digits near "social"/"SSN"/"seguro social"
                               that stdnum accepts as a US taxpayer id (``national_ids``)
``[social insurance number]``  the same near "social insurance"/"SIN"
``[national insurance          UK NINO near "national insurance", "NI number", "NINO"
number]``
``[bank account]``             IBAN (country length and format, mod-97), written or said in groups, with
                               dashes, across turns (``bank_accounts``); 4-17 digits after "bank account"
                               or "account number" near bank words (``after_keywords``)
``[pin]``                      4-6 digits after "PIN"
=============================  ==========================================================================

How numbers are read, as callers say them to a voice agent and speech-to-text writes them:

* every Unicode decimal digit as its ASCII digit (Arabic-Indic, Eastern Arabic-Indic, Devanagari,
  full-width, ...), accents and full-width forms folded (``normalise``);
* digits said as words in English, Spanish, French, German, Italian, Portuguese, Dutch and Polish, with
  "double"/"triple" (``number_words``);
* groups joined by spaces, commas, stops, slashes, dashes, the word "dash", and fillers ("um", "and then",
  "okay", "y luego", "und dann" ...), and across turns: two caller turns in a row, a chunk per turn with
  the agent's "Mm-hmm." between, the agent reading a chunk back (``reading``);
* a backstop that reads only the groups of digits within a bounded window, across turns, and replaces any
  card (Luhn) or all-digit IBAN (mod-97) they make (``backstop``).

A number said over several turns is replaced in each turn that holds a part of it; the words around it stay.

What stays, on purpose: phone numbers ("+1 415 555 0123": a number after ``+`` is never a card's start),
order and tracking numbers that fail the checksums or start with 0, 1, 7, 8 or 9, dates, times, amounts
("$1,234.56", "4111 dollars"), percentages, ZIP codes (also ZIP+4 near "social"), the last four digits of
a card said on their own ("ending in 1111"), "987-65-4321" without "social" (the SSA's advertising range,
which stdnum rejects as an SSN), and an IMEI said as one (15 Luhn-valid digits near "IMEI").

Known gaps, so nobody relies on more: numbers said in tens and hundreds ("forty-one eleven", "quarante et
un"), an expiry date in words, keywords (CVV, PIN, expiry, social) in languages other than English (except
"seguro social"), a number whose groups are separated by a longer stretch than the backstop's window or by a
word naming another number; an IBAN whose letters are spelled out one by one; national ids other than the
US, Canadian and UK ones; and an order number that happens to look like a card (13-19 digits, first digit
2-6, Luhn-valid: one in ten such numbers), or order numbers read in one breath that together do, is replaced.
Redaction works on the text it is given; what Mem0 later infers from that text cannot bring back a number
that was never sent.

Why python-stdnum (2.2): one small, pure-Python package without dependencies that validates every kind here
(``stdnum.luhn``, ``stdnum.iban`` with SWIFT's IBAN registry, ``stdnum.us.ssn``/``itin``/``tin``,
``stdnum.ca.sin``, ``stdnum.imei``). Digit values come from the standard library's Unicode data
(``unicodedata.decimal``). text2num (alpha2digit) reads compound number words in several of these languages
but rewrites the text (positions are lost, so nothing could be replaced where it was said) and needs the
language of each call; the ten digit words per language are data, kept in ``number_words``.

The modules: ``kinds`` (placeholders, findings), ``normalise`` (digits and letters folded, positions kept),
``number_words`` (digit words, fillers, barrier words per language), ``document`` (one text: keywords, tokens,
tight runs), ``reading`` (spoken numbers across separators and turns), ``cards``, ``national_ids``,
``bank_accounts``, ``after_keywords`` (numbers named by the words before them), ``backstop``, and ``engine``
(choosing and replacing; the functions below).
"""

from __future__ import annotations

from agentic_memory.domain.redaction.engine import redact_text, redact_turns, redact_value, shorten
from agentic_memory.domain.redaction.kinds import (
    BANK_ACCOUNT,
    CARD_EXPIRY,
    CARD_NUMBER,
    NATIONAL_INSURANCE_NUMBER,
    PIN,
    PLACEHOLDERS,
    SECURITY_CODE,
    SOCIAL_INSURANCE_NUMBER,
    SOCIAL_SECURITY_NUMBER,
)

__all__ = [
    "BANK_ACCOUNT",
    "CARD_EXPIRY",
    "CARD_NUMBER",
    "NATIONAL_INSURANCE_NUMBER",
    "PIN",
    "PLACEHOLDERS",
    "SECURITY_CODE",
    "SOCIAL_INSURANCE_NUMBER",
    "SOCIAL_SECURITY_NUMBER",
    "redact_text",
    "redact_turns",
    "redact_value",
    "shorten",
]
