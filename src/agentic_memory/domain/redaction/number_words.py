"""Digits said as words, and the words that may stand between the groups of one number, in the languages
read here: English, Spanish, French, German, Italian, Portuguese, Dutch and Polish.

All words are written as the ``low`` view reads them (``normalise``): lower case, accents off, so "zéro"
and "zero", "três" and "tres", "pięć" and "piec" are the same word. A word that is a digit in one
language and a filler in another ("um": Portuguese one, English hesitation) is a digit only in a number
that holds another Portuguese digit word (``reading``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DIGIT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "zero": "0",
        "oh": "0",
        "nought": "0",
        "one": "1",
        "two": "2",
        "three": "3",
        "four": "4",
        "five": "5",
        "six": "6",
        "seven": "7",
        "eight": "8",
        "nine": "9",
    },
    "es": {
        "cero": "0",
        "uno": "1",
        "una": "1",
        "dos": "2",
        "tres": "3",
        "cuatro": "4",
        "cinco": "5",
        "seis": "6",
        "siete": "7",
        "ocho": "8",
        "nueve": "9",
    },
    "fr": {
        "zero": "0",
        "un": "1",
        "une": "1",
        "deux": "2",
        "trois": "3",
        "quatre": "4",
        "cinq": "5",
        "six": "6",
        "sept": "7",
        "huit": "8",
        "neuf": "9",
    },
    "de": {
        "null": "0",
        "eins": "1",
        "zwei": "2",
        "zwo": "2",
        "drei": "3",
        "vier": "4",
        "funf": "5",
        "fuenf": "5",
        "sechs": "6",
        "sieben": "7",
        "acht": "8",
        "neun": "9",
    },
    "it": {
        "zero": "0",
        "uno": "1",
        "due": "2",
        "tre": "3",
        "quattro": "4",
        "cinque": "5",
        "sei": "6",
        "sette": "7",
        "otto": "8",
        "nove": "9",
    },
    "pt": {
        "zero": "0",
        "um": "1",
        "uma": "1",
        "dois": "2",
        "duas": "2",
        "tres": "3",
        "quatro": "4",
        "cinco": "5",
        "seis": "6",
        "meia": "6",  # Brazilian Portuguese reads a six as "meia" in numbers said digit by digit
        "sete": "7",
        "oito": "8",
        "nove": "9",
    },
    "nl": {
        "nul": "0",
        "een": "1",
        "twee": "2",
        "drie": "3",
        "vier": "4",
        "vijf": "5",
        "zes": "6",
        "zeven": "7",
        "acht": "8",
        "negen": "9",
    },
    "pl": {
        "zero": "0",
        "jeden": "1",
        "jedna": "1",
        "dwa": "2",
        "dwie": "2",
        "trzy": "3",
        "cztery": "4",
        "piec": "5",
        "szesc": "6",
        "siedem": "7",
        "osiem": "8",
        "dziewiec": "9",
    },
}
LANGUAGES = tuple(DIGIT_WORDS)
# "double five", "triple seven" (English; French says "double" too).
MULTIPLIERS = {"double": 2, "triple": 3}
# Digit words that are also a hesitation in another language: digits only next to that language's digit words.
AMBIGUOUS = {"um": "pt"}

# Hesitations and linking words that may stand between the groups of one number ("4111, um, 1111", "and
# then", "y luego", "und dann"): short, and never a number's name. A bare "and" is not one of them: "orders
# 48213 and 55012" are two numbers.
FILLERS = {
    "en": "um umm uh uhh uhm er erm ah hmm mm mhm then so okay ok yes yeah yep right next sorry|and then",
    "es": "eh em este pues luego despues entonces vale bueno si|y luego|y despues",
    "fr": "euh heu hum puis ensuite alors bon oui ouais|et puis|et ensuite",
    "de": "ah ahm ehm hm dann also ja|und dann",
    "it": "ehm eh poi allora quindi si|e poi",
    "pt": "entao depois ta sim hum|e depois|e entao",
    "nl": "eh ehm dan ja oke|en dan",
    "pl": "yyy eee potem no tak dobrze|i potem",
}
# "123 dash 45 dash 6789", as speech-to-text may write the dash it heard.
DASH_WORDS = "dash hyphen guion tiret strich bindestrich trattino traco hifen streepje myslnik kreska"
SLASH_WORDS = "slash"

# Words that name another kind of number, or a number's own name: a turn holding one is never a mere
# acknowledgement between two chunks of one number, and the backstop never reads a number across one.
BARRIER_WORDS = (
    # English
    "zip postal postcode phone telephone mobile cell extension ext order tracking invoice reference"
    " confirmation booking reservation ticket date birth born birthday age address street apartment apt"
    " suite floor room flight price total amount balance cost dollars euros pounds cents"
    " security cvv cvc csc code pin expire expires expired expiry expiration exp valid social ssn sin insurance account"
    " routing sort iban swift bic imei"
    # Spanish, French, German, Italian, Portuguese, Dutch, Polish
    " codigo telefono celular pedido orden factura referencia fecha nacimiento direccion calle edad"
    " commande facture telephone portable naissance adresse rue"
    " postleitzahl plz telefon handy bestellung rechnung datum geburtsdatum geboren strasse"
    " cap cellulare ordine fattura data nascita indirizzo"
    " cep telefone endereco rua"
    " telefoon bestelling factuur adres straat"
    " kod pocztowy zamowienie faktura urodzenia ulica"
)


def alternation(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, factored as a trie (shared prefixes once), so that
    the engine rejects most starting points at their first letter."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        ends_here = "" in node
        if len(branches) == 1 and not ends_here:
            return branches[0]
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if ends_here else body

    return emit(trie)


def _split(*groups: str) -> set[str]:
    """Words split at spaces; after a "|", phrases split at "|"."""
    found = set()
    for group in groups:
        single, _, phrases = group.partition("|")
        found.update(single.split())
        found.update(phrase for phrase in phrases.split("|") if phrase)
    return found


WORD_VALUES: dict[str, str] = {word: digit for table in DIGIT_WORDS.values() for word, digit in table.items()}
WORD_LANGUAGES: dict[str, frozenset[str]] = {
    word: frozenset(lang for lang, table in DIGIT_WORDS.items() if word in table) for word in WORD_VALUES
}
FILLER_WORDS = _split(*FILLERS.values()) - (set(WORD_VALUES) - set(AMBIGUOUS))
BARRIERS = _split(BARRIER_WORDS)

# A digit word (run on ``low``), ending a word; the caller checks that it starts one ("phone" holds "one"),
# then looks for "double" or "triple" before it (group 1 of MULTIPLIER_BEFORE). A leading \\b would cost the
# engine its fast skip to the next possible first letter.
DIGIT_WORD = re.compile(f"(?:{alternation(WORD_VALUES)})\\b")
MULTIPLIER_BEFORE = re.compile(f"(?<!\\w)({alternation(MULTIPLIERS)})[ -]$")
# What may stand between two groups of one number inside one turn: spaces, commas, stops, slashes, dashes,
# and hesitations or linking words (a bounded stretch: the caller checks its length).
CONNECTOR = re.compile(
    f"(?:[ \\t\\r\\n,.;!?\u2026/-]+|\\b(?:{alternation(FILLER_WORDS | _split(DASH_WORDS, SLASH_WORDS))})\\b)+"
)
DASH = re.compile(f"-|\\b(?:{alternation(_split(DASH_WORDS))})\\b")
BARRIER = re.compile(f"\\b(?:{alternation(BARRIERS)})s?\\b")
