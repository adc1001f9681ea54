"""Numbers that must never be stored, replaced by a typed placeholder before a job leaves the webhook handler.

What is replaced (``REDACT_PII``, on by default; the caller of this module checks the setting):

=============================  ===============================  ==========================================
placeholder                    what                             when
=============================  ===============================  ==========================================
``[card number]``              payment card number              13-19 digits starting 2-6 (the card
                                                                networks' first digits), Luhn-valid;
                                                                run together, spaced, dashed, with ", "
                                                                between groups, or spoken digit by digit
                                                                ("four one one one ...", "double five")
``[security code]``            card security code               3-4 digits after "CVV"/"CVC"/"CSC"/"card
                                                                code", or after "security code",
                                                                "verification code", "digits on the
                                                                back" near card words; or said straight
                                                                after a card number ("4111 ... 1111, 737")
``[card expiry]``              card expiry date                 "04/27", "0427", "4/2027", "April 2027"
                                                                after "expires"/"expiry"/"valid thru"
                                                                near card words, or straight after a card
``[social security number]``   US SSN (and ITIN, EIN ... when   "123-45-6789" that stdnum accepts as an
                               said as one)                     SSN or ITIN, anywhere; any 9 digits that
                                                                stdnum accepts as a US taxpayer id (or a
                                                                Canadian SIN) near "social", "SSN" or
                                                                "tax id"
``[social insurance number]``  Canadian SIN                     the same, near "social insurance"/"SIN"
``[national insurance          UK NINO                          "AB 12 34 56 C" near "national insurance",
number]``                                                       "NI number" or "NINO"
``[bank account]``             IBAN; bank account number        IBAN: stdnum-valid (country length and
                                                                format, mod-97), grouped or not; account:
                                                                4-17 digits after "bank/checking/savings
                                                                account", or after "account number" near
                                                                bank words (routing, sort code, IBAN ...)
``[pin]``                      PIN                              4-6 digits after "PIN"
=============================  ===============================  ==========================================

"Near" means within about 150 characters (card words), 80 before or 40 after (ids); "after" means the
keyword ends at most 40 characters before the number, with no other digits between. A caller often
answers a question the agent asked ("What's the CVV?" "737"): ``redact_turns`` reads a transcript as one
text so that a keyword reaches into the next turn, and ``redact_text(..., hint=...)`` takes the words
said before a text (or a data-collection field's name) as context that is never changed or returned.

What stays, on purpose: phone numbers ("+1 415 555 0123": a number after ``+`` or starting with 0 is
never a card; national numbers are too short), order and tracking numbers that fail the checksums or
start with 0, 1, 7, 8 or 9 (FedEx and USPS tracking numbers start with 7 and 9), dates ("04/27/2026",
"April 27" without expiry and card words), amounts ("$1,234.56", "4111 dollars"), times, ZIP codes
(also ZIP+4 near "social"), the last four digits of a card ("ending in 1111"), "987-65-4321" without
"social" (the SSA's advertising range, which stdnum rejects as an SSN), and an IMEI said as one (15
Luhn-valid digits near "IMEI").

Known gaps, so nobody relies on more: numbers spoken in tens and hundreds ("forty-one eleven"), an
expiry date in words ("April twenty-seven"), digits in scripts other than ASCII, a card broken up by
other words ("4111, um, 1111 ..."), cards inside numbers of more than 120 digits; and an order number
that happens to look like a card (13-19 digits, first digit 2-6, Luhn-valid: one in ten such numbers)
is replaced. Redaction works on the text it is given; what Mem0 later infers from that text cannot
bring back a number that was never sent.

Why python-stdnum (2.2): one small, pure-Python package without dependencies that validates every kind
here (``stdnum.luhn``, ``stdnum.iban`` with its country registry, ``stdnum.us.ssn``/``itin``/``tin``,
``stdnum.ca.sin``, ``stdnum.imei``). schwifty checks IBANs (and BICs) in more depth than needed here,
with bank registries, but nothing else, and brings pycountry and rstr (schwifty alone is about 5 MB
unpacked): stdnum would still be needed for cards and national ids. stdnum has no UK NINO module, so the
NINO format rules (HMRC National Insurance Manual NIM39110: restricted prefix letters, six digits, suffix
A-D; there is no checksum) are the one check written here.

Speed: the regular expressions are compiled once, scan the text a few times in C, and checksums run
only on candidates. A 120 KB transcript takes about 5 ms of CPU (10 ms when every line holds numbers);
when something was redacted, a second pass confirms that nothing is left, doubling that (redaction is
idempotent by construction).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from stdnum import iban, imei, luhn, numdb
from stdnum.ca import sin
from stdnum.us import itin, ssn, tin

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
_PRIORITY = {kind: rank for rank, kind in enumerate(PLACEHOLDERS)}

CARD_FIRST_DIGITS = "23456"  # Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard/Maestro, Discover/UnionPay
CARD_LENGTHS = range(13, 20)
HINT_CHARS = 300  # how much of what was said before counts as context
_TURN_BREAK = "\u2029"  # between turns in redact_turns: not a separator of numbers, nor a word character
CARD_CONTEXT_CHARS = 150
ID_CONTEXT_BEFORE = 80
ID_CONTEXT_AFTER = 40
KEYWORD_GAP_CHARS = 40
MAX_PASSES = 8

_SPACE = "[ \u00a0]"
_DASH = "[-\u2010\u2011\u2012\u2013]"
# Between the groups of one written or spoken number: one or two spaces, ", ", or a dash.
_SEP = f"(?:{_SPACE}{{1,2}}|,{_SPACE}|{_SPACE}?{_DASH}{_SPACE}?)"
_DIGIT_RUN = re.compile(f"[0-9]+(?:{_SEP}[0-9]+)*")
_NOT_DIGITS = str.maketrans("", "", " \u00a0,-\u2010\u2011\u2012\u2013")
_FIRST_GROUP = re.compile(f"[0-9]+{_SEP}")
_GROUP = re.compile("[0-9]+")
_WORD_DIGITS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# Factored by first letter: the regular expression engine tries this at every word start.
_WORD = "(?:z(?:ero)|o(?:h|ne)|t(?:wo|hree)|f(?:our|ive)|s(?:ix|even)|eight|nine)"
_REPEAT = f"(?:double|triple)(?:{_SPACE}|-)"
_WORD_TOKEN = f"(?:{_REPEAT})?{_WORD}\\b"
# Digit words in a row (run on lower-case text): any number of them after a keyword; five or more (at least
# nine digits, with "double" and "triple") anywhere, for card numbers and national ids. The patterns start
# with the digit word itself, which lets the engine skip ahead fast; code checks the word boundary before
# it and takes in a "double" or "triple" there.
_WORD_RUN = re.compile(f"{_WORD}\\b(?:{_SEP}{_WORD_TOKEN})*")
_LONG_WORD_RUN = re.compile(f"{_WORD}\\b(?:{_SEP}{_WORD_TOKEN}){{4,}}")
_REPEAT_BEFORE = re.compile(f"(?<!\\w){_REPEAT}$")
# Every finding holds a digit or a digit word: a text with neither is returned at once.
_ANY_DIGIT = re.compile("[0-9]")
_ANY_DIGIT_WORD = re.compile(f"(?<!\\w){_WORD}\\b")
SHORTEST_ID = 9  # digits in the shortest number found without a keyword before it (SSN, SIN)
LONGEST_SEARCHED_RUN = 120  # digits; cards are looked for inside longer numbers only up to this length
_WORD_TOKEN_PARTS = re.compile(f"(?:(double|triple)(?:{_SPACE}|-))?({_WORD})")
_DASHED_SSN = re.compile(f"[0-9]{{3}}{_DASH}[0-9]{{2}}{_DASH}[0-9]{{4}}")
_ZIP_PLUS_FOUR = re.compile(f"[0-9]{{5}}{_DASH}[0-9]{{4}}")

_MONTH = (
    "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    "|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = "(?:20)?[0-9]{2}"
_EXPIRY_VALUE = (
    "(?<![\\w/.])(?:"
    f"(?:0?[1-9]|1[0-2]){_SPACE}?[/.\\-]{_SPACE}?{_YEAR}"  # 04/27, 4/2027, 04-27
    f"|(?:0[1-9]|1[0-2]){_YEAR}"  # 0427, 042027
    f"|(?:0?[1-9]|1[0-2]){_SPACE}{_YEAR}"  # 04 27
    f"|{_MONTH}\\.?,?{_SPACE}+(?:of{_SPACE}+)?{_YEAR}"  # april 2027, apr. 27, april of 27
    ")(?![\\w/])"
)
# An expiry value right after its keyword (run on lower-case text from the keyword's end).
_EXPIRY_AFTER = re.compile(f"[^0-9\\[]{{0,{KEYWORD_GAP_CHARS}}}?(?P<value>{_EXPIRY_VALUE})")
# What may stand between a card number and the expiry date or security code said in the same breath.
_RIGHT_AFTER_CARD = re.compile(f"(?:,?{_SPACE}{{1,2}}|,|{_SPACE}?{_DASH}{_SPACE}?)")
_EXPIRY_AT = re.compile(_EXPIRY_VALUE)
# From two letters before a digit run: country, check digits, then 11 to 30 letters and digits, maybe grouped.
_IBAN_CANDIDATE = re.compile(f"[A-Z]{{2}}[0-9]{{2}}(?:{_SPACE}?[A-Z0-9]){{11,30}}", re.IGNORECASE)
_BBAN_PART = re.compile("([0-9]+)!")
# NIM39110: first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; BG, GB, KN, NK, NT, TN and ZZ
# are never issued; suffix A-D.
_NINO = re.compile(
    "(?<!\\w)(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    f"{_SPACE}?[0-9]{{2}}{_SPACE}?[0-9]{{2}}{_SPACE}?[0-9]{{2}}{_SPACE}?[A-D](?!\\w)",
    re.IGNORECASE,
)

# Words that give a number its meaning, in two steps for speed: a cheap scan for where one may start,
# factored by first letter, then the exact phrase at that place. Run on lower-case text. A "[" before a
# word means one of our placeholders, which never counts, except "[card number]": a card number was there.
_KEYWORD_START = re.compile(
    "(?<![\\[\\w])(?:c(?:vv|vc|vn|sc|ard|redit|hecking|hequing|urrent)|s(?:ecurity|ocial|sn|\\.s\\.n|avings|ort)"
    "|v(?:erification|isa|alid)|exp|good|pin|a(?:ccount|mex|merican)|bank|routing|i(?:ban|tin|mei)|wire"
    "|d(?:irect|ebit|iscover|igits)|t(?:ax|hree)|n(?:ational|umbers?)|master|\\[card number\\]|[34][ -]digit"
    "|four|code)"
)
_KEYWORD = re.compile(
    "(?P<cvv>cvv2?|cvc2?|cvn|csc|card (?:security|verification) (?:code|number|value)|card code)\\b"
    "|(?P<cvv_phrase>security (?:code|number)|verification (?:code|number|value)"
    "|(?:code|digits|numbers?) on the back|(?:three|3|four|4)[ -]digit code)\\b"
    "|(?P<expiry>expir(?:es|ed|y|ation|ing|e)?\\b|exp\\b\\.?|valid (?:thru|through|until|till)\\b"
    "|good (?:thru|through|until)\\b)"
    "|(?P<pin>pin(?: number| code)?)\\b"
    "|(?P<bank_account>(?:bank|checking|chequing|savings|current) account(?: (?:number|no\\b\\.?|num\\b|#))?)"
    "|(?P<account>account (?:number|no\\b\\.?|num\\b|#))"
    "|(?P<bank>bank|routing|sort code|iban|wire transfer|direct deposit)\\b"
    "|(?P<sin>social insurance|s\\.i\\.n\\.)"
    "|(?P<ssn>social(?! media| worker| club| network| event)|ssn|s\\.s\\.n\\."
    "|tax(?:payer)?[ -]?(?:id|identification)|itin)\\b"
    "|(?P<nino>national insurance)\\b"
    "|(?P<imei>imei)\\b"
    "|(?P<card>\\[card number\\]|credit|debit|visa|master ?card|amex|american express|discover|card(?:s|holder)?\\b)"
)
# Our own placeholders: their words ("[card expiry]", "[social security number]") are not keywords, so they
# are masked before the keyword scan; "[card number]" stays, as card context.
_MASKED_PLACEHOLDER = re.compile(
    "\\[(?:security code|card expiry|social security number|social insurance number|national insurance number"
    "|bank account|pin)\\]"
)
# Abbreviations that are only meant in capitals ("sin" and "ni" are words).
_CAPITAL_KEYWORDS = (("SIN", "sin"), ("NINO", "nino"), ("NI", "nino"))
_FAMILIES = ("cvv", "cvv_phrase", "expiry", "pin", "bank_account", "account", "bank", "sin", "ssn", "nino", "imei")
_FAMILIES += ("card",)

# Between a keyword and its number: no digits and none of our placeholders (so "CVV 123 and 456" stays
# "CVV [security code] and 456" however often it is redacted).
_GAP = re.compile(f"[^0-9\\[]{{0,{KEYWORD_GAP_CHARS}}}")
# "the card ending in 1111 has security code 123": the last four digits are neither secret nor the code.
_GAP_WITH_LAST_FOUR = re.compile("[^0-9\\[]*(?:ending|last (?:four|4))[^0-9\\[]{0,20}[0-9]{4}[^0-9\\[]*")
_LAST_FOUR_BEFORE = re.compile("(?:ending|last (?:four|4)(?: digits)?)[^0-9]{0,12}$")

Span = tuple[int, int, str]


class _Run(NamedTuple):
    """A number of three digits or more, written or spoken digit by digit; positions in the joined text."""

    start: int
    end: int
    digits: str
    words: bool  # spoken as digit words


def _lower(text: str) -> str:
    """Lower case with every character where it was (str.lower turns "İ" into two characters)."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(char.lower()[:1] for char in text)


class _Text:
    """One text to redact, with the words said before it (the hint) in front, and its keywords by family.

    All positions are in ``joined`` (hint, then " | ", then the text): findings before ``offset`` are in
    the hint and are never replaced.
    """

    def __init__(self, text: str, hint: str) -> None:
        hint = hint[-HINT_CHARS:]
        # " | " keeps a number in the hint from running on into the text, but not a keyword from its number.
        self.joined = f"{hint} | {text}" if hint else text
        self.offset = len(hint) + 3 if hint else 0
        self.low = _lower(self.joined)
        scanned = self.low
        if "[" in scanned:
            scanned = _MASKED_PLACEHOLDER.sub(lambda found: "[" + "#" * (len(found.group()) - 2) + "]", scanned)
        spans: dict[str, list[tuple[int, int]]] = {family: [] for family in _FAMILIES}
        covered = 0  # keywords never overlap: "master card" is one, not also "card"
        for start in _KEYWORD_START.finditer(scanned):
            if start.start() < covered:
                continue
            match = _KEYWORD.match(scanned, start.start())
            if match and match.lastgroup:
                spans[match.lastgroup].append(match.span())
                covered = match.end()
        for word, family in _CAPITAL_KEYWORDS:
            at = self.joined.find(word)
            while at >= 0:
                end = at + len(word)
                if not _word_char(self.joined, at - 1) and not _word_char(self.joined, end):
                    spans[family].append((at, end))
                at = self.joined.find(word, end)
        for family in ("sin", "nino"):
            spans[family].sort()
        self.spans = spans
        self.starts = {family: [start for start, _ in found] for family, found in spans.items()}

    def near(self, families: Sequence[str], start: int, end: int, before: int, after: int) -> bool:
        """A keyword of ``families`` overlaps [start - before, end + after)."""
        for family in families:
            spans = self.spans[family]
            index = bisect.bisect_left(self.starts[family], end + after)
            # In order and not overlapping: of the keywords starting before the window's end, the last one
            # reaches furthest right.
            if index and spans[index - 1][1] > start - before:
                return True
        return False

    def follows(self, keyword_end: int, start: int) -> bool:
        """The number at ``start`` comes right after a keyword ending at ``keyword_end``: at most
        KEYWORD_GAP_CHARS between, no digits or placeholders (but a card's last four digits may be)."""
        gap = self.low[keyword_end:start]
        return bool(_GAP.fullmatch(gap) or _GAP_WITH_LAST_FOUR.fullmatch(gap))

    def last_four_before(self, start: int) -> bool:
        return bool(_LAST_FOUR_BEFORE.search(self.low, max(0, start - 40), start))


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _long_runs(doc: _Text) -> tuple[list[_Run], list[Span]]:
    """Every number of SHORTEST_ID digits or more in the text, and the IBANs met on the way."""
    joined = doc.joined
    runs = []
    ibans: list[Span] = []
    for match in _DIGIT_RUN.finditer(joined, doc.offset):
        start = match.start()
        if start > doc.offset and joined[start - 1].isalpha():
            ibans.extend(_iban_at(doc, start - 2))
        if match.end() - start >= SHORTEST_ID:
            run = _digit_run(doc, match)
            if run and len(run.digits) >= SHORTEST_ID:
                runs.append(run)
    runs.extend(_word_runs_in(doc, _LONG_WORD_RUN, doc.offset, len(doc.low)))
    return runs, ibans


def _word_runs_in(doc: _Text, pattern: re.Pattern[str], start: int, end: int, most: int = 0) -> list[_Run]:
    """Runs of digit words that start in [start, end) (at most ``most`` when given), each whole."""
    runs: list[_Run] = []
    low = doc.low
    match = pattern.search(low, start, end)
    while match:
        at = match.start()
        if _word_char(low, at - 1):  # "someone": not the word "one"; try again at the next word
            match = pattern.search(low, at + 1, end)
            continue
        match = pattern.match(low, at)  # past ``end``: the whole run
        if not match:
            break
        runs.extend(_word_runs(doc, match))
        if most and len(runs) >= most:
            break
        match = pattern.search(low, match.end(), end)
    return runs


def _runs_after(doc: _Text, position: int) -> list[_Run]:
    """The numbers (at most two) that start within twice KEYWORD_GAP_CHARS after ``position``."""
    runs = []
    limit = position + 2 * KEYWORD_GAP_CHARS
    digits_at = position
    for _ in range(2):
        match = _DIGIT_RUN.search(doc.joined, digits_at, limit)
        if not match:
            break
        run = _digit_run(doc, _DIGIT_RUN.match(doc.joined, match.start()))  # the whole run, past the limit
        if run:
            runs.append(run)
        digits_at = match.end()
    return runs + _word_runs_in(doc, _WORD_RUN, position, limit, most=2)


def _digit_run(doc: _Text, match: re.Match[str] | None) -> _Run | None:
    if not match:
        return None
    joined = doc.joined
    start, end = match.span()
    if start and (joined[start - 1] == "+" or _word_char(joined, start - 1)):
        # "+" starts a phone number, letters a code or an IBAN: the first group does not start a number of ours.
        first = _FIRST_GROUP.match(joined, start, end)
        if not first:
            return None
        start = first.end()
    raw = joined[start:end]
    return _Run(start, end, raw if raw.isdigit() else raw.translate(_NOT_DIGITS), words=False)


def _word_runs(doc: _Text, match: re.Match[str]) -> list[_Run]:
    start, end = match.span()
    repeat = _REPEAT_BEFORE.search(doc.low, max(doc.offset, start - 8), start)
    if repeat:
        start = repeat.start()
    tokens = list(_WORD_TOKEN_PARTS.finditer(doc.low, start, end))
    digits = "".join(_word_digits(token) for token in tokens)
    runs = [_Run(start, end, digits, words=True)]
    # "Oh, four one one one ...": a leading "oh" is as likely an exclamation as a zero.
    if tokens[0].group(2) == "oh" and len(tokens) > 1:
        runs.append(_Run(tokens[1].start(), end, digits[1:], words=True))
    return runs


def _word_digits(token: re.Match[str]) -> str:
    times = {"double": 2, "triple": 3}.get(token.group(1) or "", 1)
    return _WORD_DIGITS[token.group(2)] * times


def _iban_at(doc: _Text, start: int) -> list[Span]:
    joined = doc.joined
    if start < doc.offset or _word_char(joined, start - 1):
        return []
    match = _IBAN_CANDIDATE.match(joined, start)
    if not match:
        return []
    raw = match.group()
    # Where each letter or digit is, so that the longest valid IBAN maps back to the text.
    positions = [index for index, char in enumerate(raw) if char.isalnum()]
    compact = "".join(raw[index] for index in positions).upper()
    length = _iban_length(compact[:2])
    if length and length <= len(compact) and iban.is_valid(compact[:length]):
        return [(start, start + positions[length - 1] + 1, BANK_ACCOUNT)]
    return []


@functools.lru_cache(maxsize=128)
def _iban_length(country: str) -> int:
    """How long ``country``'s IBANs are, from stdnum's IBAN registry data (0: no IBAN for that code)."""
    structure = numdb.get("iban").info(country)[0][1].get("bban")
    return 4 + sum(int(count) for count in _BBAN_PART.findall(structure)) if structure else 0


def _cards(doc: _Text, runs: list[_Run]) -> list[Span]:
    """Card numbers, each with the expiry date or security code said right after it."""
    found = []
    for run in runs:
        size = len(run.digits)
        if size < CARD_LENGTHS.start:
            continue
        if size < CARD_LENGTHS.stop and _is_card(run.digits):
            if not _is_imei(doc, run):
                found.append((run.start, run.end, CARD_NUMBER))
        elif size >= CARD_LENGTHS.stop and not run.words:
            if size <= LONGEST_SEARCHED_RUN:
                found.extend(_cards_in_long_run(doc, run))
        else:
            found.extend(_card_with_extra_digits(doc, run))
    for _, card_end, _ in list(found):
        found.extend(_right_after_card(doc, card_end))
    return found


def _is_card(digits: str) -> bool:
    return len(digits) in CARD_LENGTHS and digits[0] in CARD_FIRST_DIGITS and luhn.is_valid(digits)


def _is_imei(doc: _Text, run: _Run) -> bool:
    return len(run.digits) == 15 and imei.is_valid(run.digits) and doc.near(("imei",), run.start, run.end, 60, 0)


def _groups(doc: _Text, run: _Run) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each group of a written number, or each word of a spoken one."""
    if run.words:
        return [(m.start(), m.end(), _word_digits(m)) for m in _WORD_TOKEN_PARTS.finditer(doc.low, run.start, run.end)]
    return [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(doc.joined, run.start, run.end)]


def _card_with_extra_digits(doc: _Text, run: _Run) -> list[Span]:
    """A card with up to four more digits said in the same breath before or after it ("4111 1111 1111 1111
    123", "2, 4111 ..."): the card's own groups, when the whole number is not a card itself."""
    groups = _groups(doc, run)
    size = len(run.digits)
    for first, last in _edge_windows(groups, size):
        digits = "".join(group[2] for group in groups[first : last + 1])
        if _is_card(digits):
            return [(groups[first][0], groups[last][1], CARD_NUMBER)]
    return []


def _edge_windows(groups: list[tuple[int, int, str]], size: int) -> list[tuple[int, int]]:
    """Group windows that leave at most four digits at one end: prefixes first, longest first."""
    windows = []
    dropped = 0
    for last in range(len(groups) - 1, 0, -1):
        dropped += len(groups[last][2])
        if dropped > 4:
            break
        windows.append((0, last - 1))
    dropped = 0
    for first in range(1, len(groups)):
        dropped += len(groups[first - 1][2])
        if dropped > 4:
            break
        windows.append((first, len(groups) - 1))
    return windows


def _cards_in_long_run(doc: _Text, run: _Run) -> list[Span]:
    """Cards inside a number longer than any card ("on 415 555 0123 4111 1111 1111 1111"): from left to right,
    the longest card made of whole groups."""
    groups = _groups(doc, run)
    found = []
    i = 0
    while i < len(groups):
        best = None
        digits = ""
        for j in range(i, len(groups)):
            digits += groups[j][2]
            if len(digits) >= CARD_LENGTHS.stop:
                break
            if _is_card(digits):
                best = j
        if best is None:
            i += 1
        else:
            found.append((groups[i][0], groups[best][1], CARD_NUMBER))
            i = best + 1
    return found


def _right_after_card(doc: _Text, card_end: int) -> list[Span]:
    """ "4111 1111 1111 1111, 12/27" or "... 1111 737": an expiry date, else three or four digits, said
    straight after a card number (only a comma, space or dash between) belong to the card."""
    gap = _RIGHT_AFTER_CARD.match(doc.low, card_end)
    if not gap:
        return []
    expiry = _EXPIRY_AT.match(doc.low, gap.end())
    if expiry:
        return [(expiry.start(), expiry.end(), CARD_EXPIRY)]
    for run in _runs_after(doc, gap.end()):
        if run.start == gap.end() and len(run.digits) in (3, 4):
            end = run.end if run.words else gap.end() + len(_GROUP.match(doc.joined, gap.end()).group())
            return [(run.start, end, SECURITY_CODE)]
    return []


def _national_ids(doc: _Text, runs: list[_Run]) -> list[Span]:
    found: list[Span] = []
    for run in runs:
        if len(run.digits) != 9:
            continue
        digits = run.digits
        raw = doc.joined[run.start : run.end]
        if not run.words and _DASHED_SSN.fullmatch(raw) and (ssn.is_valid(digits) or itin.is_valid(digits)):
            found.append((run.start, run.end, SOCIAL_SECURITY_NUMBER))
            continue
        said_sin = doc.near(("sin",), run.start, run.end, ID_CONTEXT_BEFORE, ID_CONTEXT_AFTER)
        said_ssn = doc.near(("ssn",), run.start, run.end, ID_CONTEXT_BEFORE, ID_CONTEXT_AFTER)
        if not (said_sin or said_ssn):
            continue
        if not run.words and _ZIP_PLUS_FOUR.fullmatch(raw):
            continue
        # Said as a national id and valid as one (a US taxpayer id or a Canadian SIN): named after the words.
        if tin.is_valid(digits) or sin.is_valid(digits):
            found.append((run.start, run.end, SOCIAL_INSURANCE_NUMBER if said_sin else SOCIAL_SECURITY_NUMBER))
    return found


def _ninos(doc: _Text) -> list[Span]:
    found = []
    for keyword_start, keyword_end in doc.spans["nino"]:
        window_end = min(len(doc.joined), keyword_end + ID_CONTEXT_BEFORE)
        for match in _NINO.finditer(doc.joined, max(doc.offset, keyword_start - ID_CONTEXT_AFTER), window_end):
            found.append((match.start(), match.end(), NATIONAL_INSURANCE_NUMBER))
    return found


def _card_context(doc: _Text, cards: list[Span], start: int, end: int) -> bool:
    reach = CARD_CONTEXT_CHARS
    if doc.near(("card", "cvv"), start, end, reach, reach):
        return True
    return any(card_start < end + reach and card_end > start - reach for card_start, card_end, _ in cards)


def _after_keywords(doc: _Text, cards: list[Span]) -> list[Span]:
    """Security codes, PINs and bank account numbers: the number said right after the words that name it."""
    found: list[Span] = []
    for family in ("cvv", "cvv_phrase", "pin", "bank_account", "account"):
        for _, keyword_end in doc.spans[family]:
            for run in _runs_after(doc, keyword_end):
                if run.start >= doc.offset and doc.follows(keyword_end, run.start):
                    kind = _named_by(doc, family, run, cards)
                    if kind:
                        found.append((run.start, run.end, kind))
    return found


def _named_by(doc: _Text, family: str, run: _Run, cards: list[Span]) -> str | None:
    size = len(run.digits)
    if family in ("cvv", "cvv_phrase"):
        if size not in (3, 4) or doc.last_four_before(run.start):
            return None
        if family == "cvv" or _card_context(doc, cards, run.start, run.end):
            return SECURITY_CODE
        return None
    if family == "pin":
        return PIN if 4 <= size <= 6 else None
    if not 4 <= size <= 17:
        return None
    reach = CARD_CONTEXT_CHARS
    if family == "bank_account" or doc.near(("bank", "bank_account"), run.start, run.end, reach, reach):
        return BANK_ACCOUNT
    return None


def _expiries(doc: _Text, cards: list[Span]) -> list[Span]:
    found = []
    for _, keyword_end in doc.spans["expiry"]:
        match = _EXPIRY_AFTER.match(doc.low, keyword_end)
        if match and match.start("value") >= doc.offset:
            start, end = match.span("value")
            if _card_context(doc, cards, start, end):
                found.append((start, end, CARD_EXPIRY))
    return found


def _findings(text: str, hint: str) -> list[Span]:
    """Non-overlapping (start, end, kind) in ``text``, in order; where findings overlap, the higher-priority
    kind wins."""
    doc = _Text(text, hint)
    runs, candidates = _long_runs(doc)
    cards = _cards(doc, runs)
    candidates += _ninos(doc) + cards + _national_ids(doc, runs)
    candidates += _after_keywords(doc, cards) + _expiries(doc, cards)
    chosen: list[Span] = []  # kept in order of position, never overlapping
    for start, end, kind in sorted(candidates, key=lambda found: (_PRIORITY[found[2]], found[0], -found[1])):
        index = bisect.bisect_left(chosen, (start,))
        clear_before = index == 0 or chosen[index - 1][1] <= start
        clear_after = index == len(chosen) or chosen[index][0] >= end
        if start >= doc.offset and clear_before and clear_after:
            chosen.insert(index, (start, end, kind))
    return [(start - doc.offset, end - doc.offset, kind) for start, end, kind in chosen]


def redact_text(text: str, *, hint: str = "") -> tuple[str, Counter[str]]:
    """``text`` with every number listed in the module docstring replaced by its placeholder.

    ``hint``: what was said just before ``text`` (the previous turns, or a data-collection field's name
    such as ``"social_security_number"``); it counts as context ("what is the CVV?" then "123") but is
    never changed or returned. Returns the new text and how many of each kind were replaced (kind names
    are the keys of ``PLACEHOLDERS``); counts, never values, are safe to log. Pure: no I/O, no settings.

    Idempotent: the result is redacted again until nothing changes (each pass removes digits and
    placeholders hold none, so this ends; in practice the second pass finds nothing).
    """
    counts: Counter[str] = Counter()
    if not _ANY_DIGIT.search(text) and not _ANY_DIGIT_WORD.search(_lower(text)):
        return text, counts
    hint = hint.replace("_", " ")
    for _ in range(MAX_PASSES):
        findings = _findings(text, hint)
        if not findings:
            break
        parts = []
        last = 0
        for start, end, kind in findings:
            parts.append(text[last:start])
            parts.append(PLACEHOLDERS[kind])
            counts[kind] += 1
            last = end
        parts.append(text[last:])
        text = "".join(parts)
    return text, counts


def redact_turns(turns: Sequence[str]) -> tuple[list[str], Counter[str]]:
    """Each turn of a transcript redacted, with the turns around it as context.

    ``turns``: message texts in call order, whoever spoke: the agent's "what is the CVV?" gives the
    caller's "123" its meaning. Returns the redacted texts in the same order and the counts per kind.
    The turns are redacted as one text with a paragraph separator (U+2029) between them, which no number
    or keyword crosses but a keyword's reach does; one pass over the call, not one per turn.
    """
    if not any(_TURN_BREAK in turn for turn in turns):
        joined, counts = redact_text(_TURN_BREAK.join(turns))
        redacted = joined.split(_TURN_BREAK)
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
