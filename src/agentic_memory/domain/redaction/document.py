"""One text to redact, read once: its views (``normalise``), the words that name numbers (keywords, by
family), the turns it is made of, and its number tokens, each a group of digits or a digit word, joined
into tight runs (one number as written in one breath: "4111 1111 1111 1111", "987-65-4321").

Positions are in ``original``: the hint (what was said before, context only), " | ", then the text.
Nothing before ``offset`` is ever replaced.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import NamedTuple

from agentic_memory.domain.redaction import number_words as words
from agentic_memory.domain.redaction.normalise import TURN_BREAK, fold

HINT_CHARS = 300  # how much of what was said before counts as context
KEYWORD_GAP_CHARS = 40

# Between the groups of one number written in one breath: one or two spaces, ", ", or a dash.
TIGHT = re.compile("(?: {1,2}|, | ?- ?)")

# Numbers that are never a card, an id or an account, so never a part of one: times, dates, amounts
# (thousands separators, decimals, a currency before or after), percentages; never right after or before a
# group of digits and a space, comma or dash ("... 0000 0000 8/0000" is a number's end, "0/2000 0000 ..." a
# number's start). One pass over ``low`` reads
# them and the groups of digits (``digits``) that are not part of them, nor of a code or a word ("gb82",
# "A320", "4G", "1st"), nor a country code ("+44"). Each branch starts with its first character and looks
# behind only then, so the engine skips to the next digit or currency sign at C speed.
_CURRENCY_WORDS = "dollars?|bucks|cents?|euros?|pounds?|pesos?|reais|reales|francs?|zlotys?|zl|usd|eur|gbp"
_NUMBERS = re.compile(
    "[0-9](?<![0-9][0-9])(?<![0-9][ ,-][0-9])(?<![0-9], [0-9])(?<![0-9]  [0-9])(?<![0-9] -[0-9])"
    "(?<![0-9]- [0-9])(?<![0-9] - [0-9])(?:"
    "[0-9]?:[0-9]{2}(?::[0-9]{2})?"  # 10:30, 9:30:15
    "|[0-9]?[/.-][0-9]{1,2}[/.-][0-9]{2,4}"  # 27/04/2026, 04-27-2026, 27.04.26
    "|[0-9]{3}-[0-9]{1,2}-[0-9]{1,2}"  # 2026-04-27
    "|[0-9]?/[0-9]{2}(?:[0-9]{2})?"  # 04/27, 4/2027: a date or an expiry
    "|[0-9]{0,2}(?:,[0-9]{3})+(?:\\.[0-9]+)?"  # 1,234,567.89
    "|[0-9]{0,2}(?:\\.[0-9]{3})+(?:,[0-9]+)?"  # 1.234.567,89
    "|[0-9]*[.,][0-9]{1,2}(?![0-9])"  # 12.50, 3,5
    "|[0-9]*(?:[.,][0-9]+)? ?%"  # 15 %
    f"|[0-9]*(?:[.,][0-9]+)? ?(?:{_CURRENCY_WORDS})\\b"  # 4111 dollars
    ")(?![0-9])(?! {1,2}[0-9]|, [0-9]| ?- ?[0-9])"  # nor right before one
    "|[$\u20ac\u00a3\u00a5\u20b9\u20a9\u20aa\u20ba\u20b1] ?[0-9]+(?:[.,][0-9]+)*"  # $1,234.56, € 12
    "|(?P<digits>[0-9](?<![\\w+][0-9])[0-9]*)(?!\\w)"
    "|(?P<glued>[0-9]+)"  # glued to letters ("gb82": an IBAN may start there) or after "+": no token
)

# Words that give a number its meaning, in two steps for speed: a cheap scan for where one may start,
# factored by first letter, then the exact phrase at that place. Run on ``low``. A "[" before a word means
# one of our placeholders, which never counts, except "[card number]": a card number was there.
_KEYWORD_START = re.compile(
    "(?<![\\[\\w])(?:c(?:vv|vc|vn|sc|ard|redit|hecking|hequing|urrent)|s(?:ecurity|ocial|sn|\\.s\\.n|avings|ort"
    "|eguro)|v(?:erification|isa|alid)|exp|good|pin|a(?:ccount|mex|merican)|bank|routing|i(?:ban|tin|mei)|wire"
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
    "|(?P<ssn>social(?! media| worker| club| network| event)|ssn|s\\.s\\.n\\.|seguro social"
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
FAMILIES = ("cvv", "cvv_phrase", "expiry", "pin", "bank_account", "account", "bank", "sin", "ssn", "nino", "imei")
FAMILIES += ("card",)

# Between a keyword and its number: no digits and none of our placeholders (so "CVV 123 and 456" stays
# "CVV [security code] and 456" however often it is redacted).
_GAP = re.compile(f"[^0-9\\[]{{0,{KEYWORD_GAP_CHARS}}}")
# "the card ending in 1111 has security code 123": the last four digits are neither secret nor the code.
_GAP_WITH_LAST_FOUR = re.compile("[^0-9\\[]*(?:ending|last (?:four|4))[^0-9\\[]{0,20}[0-9]{4}[^0-9\\[]*")
_LAST_FOUR_BEFORE = re.compile("(?:ending|last (?:four|4)(?: digits)?)[^0-9]{0,12}$")
WITHIN_TURN_GAP_CHARS = 40  # the longest stretch of separators and fillers inside one number


class Token(NamedTuple):
    """A group of digits ("4111") or a digit word ("four", "double five": "55") in the text."""

    start: int
    end: int
    digits: str
    word: str = ""  # the digit word as ``low`` reads it; "" for digits


class Document:
    """One text (and its hint) read for numbers. ``tokens`` are in order; ``runs`` are tight runs as
    ``(first, last)`` token indices, and ``run_of[i]`` is the run of token ``i``."""

    def __init__(self, text: str, hint: str = "") -> None:
        hint = hint[-HINT_CHARS:]
        # " | " keeps a number in the hint from running on into the text, but not a keyword from its number.
        self.original = f"{hint} | {text}" if hint else text
        self.offset = len(hint) + 3 if hint else 0
        self.cased, self.low = fold(self.original)
        self.breaks = [match.start() for match in re.finditer(TURN_BREAK, self.original)]
        self.glued: list[int] = []  # where groups of digits glued to what is before them start ("gb82")
        self._scan_keywords()
        self.tokens = self._read_tokens()
        self.starts = [token.start for token in self.tokens]
        self.runs, self.run_of = self._tight_runs()
        self.chains: list[list[int]] | None = None  # spoken numbers, read once (``reading.chains``)

    # ------------------------------------------------------------------------------------------ keywords

    def _scan_keywords(self) -> None:
        scanned = self.low
        if "[" in scanned:
            scanned = _MASKED_PLACEHOLDER.sub(lambda found: "[" + "#" * (len(found.group()) - 2) + "]", scanned)
        spans: dict[str, list[tuple[int, int]]] = {family: [] for family in FAMILIES}
        covered = 0  # keywords never overlap: "master card" is one, not also "card"
        for start in _KEYWORD_START.finditer(scanned):
            if start.start() < covered:
                continue
            match = _KEYWORD.match(scanned, start.start())
            if match and match.lastgroup:
                spans[match.lastgroup].append(match.span())
                covered = match.end()
        for word, family in _CAPITAL_KEYWORDS:
            at = self.cased.find(word)
            while at >= 0:
                end = at + len(word)
                if not word_char(self.cased, at - 1) and not word_char(self.cased, end):
                    spans[family].append((at, end))
                at = self.cased.find(word, end)
        for family in ("sin", "nino"):
            spans[family].sort()
        self.spans = spans
        self._keyword_starts = {family: [start for start, _ in found] for family, found in spans.items()}

    def near(self, families: Sequence[str], start: int, end: int, before: int, after: int) -> bool:
        """A keyword of ``families`` overlaps [start - before, end + after)."""
        for family in families:
            spans = self.spans[family]
            index = bisect.bisect_left(self._keyword_starts[family], end + after)
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

    # ------------------------------------------------------------------------------------------ tokens

    def _read_tokens(self) -> list[Token]:
        low, offset = self.low, self.offset
        tokens = []
        for match in _NUMBERS.finditer(low, offset):
            if match.lastgroup == "digits":
                tokens.append(Token(*match.span(), match.group()))
            elif match.lastgroup == "glued":
                self.glued.append(match.start())
        spoken = []
        for match in words.DIGIT_WORD.finditer(low, offset):
            start, word = match.start(), match.group()
            if word_char(low, start - 1):  # "phone", "someone": not the word "one"
                continue
            times = 1
            multiplier = words.MULTIPLIER_BEFORE.search(low, max(offset, start - 8), start)
            if multiplier:
                start, times = multiplier.start(), words.MULTIPLIERS[multiplier.group(1)]
            spoken.append(Token(start, match.end(), words.WORD_VALUES[word] * times, word))
        return self._with_words(tokens, spoken) if spoken else tokens

    def _with_words(self, numerals: list[Token], spoken: list[Token]) -> list[Token]:
        """The digit words said as part of a number: next to another token in the same turn (only separators
        or fillers between), or multiplied ("double five"); "one of them", "the next four?" are words. An
        ambiguous word ("um") counts only next to a digit word of the language it is a digit in. Only the
        groups of digits near a digit word are looked at: the others are kept whatever the words do."""
        starts = [token.start for token in numerals]
        near: set[Token] = set()
        for word in spoken:
            first = bisect.bisect_left(starts, word.start - WITHIN_TURN_GAP_CHARS - 20)
            last = bisect.bisect_right(starts, word.end + WITHIN_TURN_GAP_CHARS)
            near.update(numerals[first:last])
        every = sorted([*near, *spoken])
        groups: list[list[Token]] = []
        for index, token in enumerate(every):
            if index and self.joined(every[index - 1], token):
                groups[-1].append(token)
            else:
                groups.append([token])
        kept = list(numerals)
        for group in groups:
            languages = {lang for token in group if token.word not in words.AMBIGUOUS for lang in _languages(token)}
            members = [t for t in group if t.word not in words.AMBIGUOUS or words.AMBIGUOUS[t.word] in languages]
            if len(members) > 1:
                kept.extend(token for token in members if token.word)
            else:
                kept.extend(token for token in members if token.word and len(token.digits) > 1)
        return sorted(kept)

    def joined(self, left: Token, right: Token) -> bool:
        """Only separators and fillers (at most WITHIN_TURN_GAP_CHARS) between two tokens of one turn."""
        gap_start, gap_end = left.end, right.start
        if not 0 < gap_end - gap_start <= WITHIN_TURN_GAP_CHARS:
            return False
        gap = self.low[gap_start:gap_end]
        return TURN_BREAK not in gap and bool(words.CONNECTOR.fullmatch(gap))

    def breaks_between(self, start: int, end: int) -> bool:
        """A turn ends somewhere in [start, end)."""
        index = bisect.bisect_left(self.breaks, start)
        return index < len(self.breaks) and self.breaks[index] < end

    def _tight_runs(self) -> tuple[list[tuple[int, int]], list[int]]:
        runs: list[tuple[int, int]] = []
        run_of = []
        first = 0
        for index, token in enumerate(self.tokens):
            if index and not self._tight(self.tokens[index - 1].end, token.start):
                runs.append((first, index - 1))
                first = index
            run_of.append(len(runs))
        if self.tokens:
            runs.append((first, len(self.tokens) - 1))
        return runs, run_of

    def _tight(self, start: int, end: int) -> bool:
        return 0 < end - start <= 3 and bool(TIGHT.fullmatch(self.low, start, end))

    def tail_after(self, position: int, limit: int) -> list[tuple[int, int]]:
        """The tight runs (at most two) whose tokens start in [position, limit), each from its first token
        at or after ``position`` to the end of its run: ``(first, last)`` token indices."""
        found = []
        index = bisect.bisect_left(self.starts, position)
        while index < len(self.tokens) and self.tokens[index].start < limit and len(found) < 2:
            last = self.runs[self.run_of[index]][1]
            found.append((index, last))
            index = last + 1
        return found

    def digits(self, first: int, last: int, most: int = 20) -> str:
        """The digits of tokens ``first`` to ``last``; past ``most`` digits, only as many as make it longer."""
        digits = ""
        for index in range(first, last + 1):
            digits += self.tokens[index].digits
            if len(digits) > most:
                break
        return digits

    def turn_of(self, position: int) -> int:
        """The index of the turn holding ``position`` (0 for a text that is no transcript)."""
        return bisect.bisect_right(self.breaks, position)


def _languages(token: Token) -> frozenset[str]:
    return words.WORD_LANGUAGES.get(token.word, frozenset())


def word_char(text: str, index: int) -> bool:
    """``text[index]`` exists and is a letter, digit or underscore."""
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")
