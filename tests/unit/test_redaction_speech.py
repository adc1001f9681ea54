"""Redaction of numbers as callers say them to a voice agent (issue 20, item 1): across turns, with the
separators and fillers speech-to-text writes, in other scripts' digits and other languages' digit words;
and the numbers that must keep passing (phone numbers, order numbers, dates, times, amounts, addresses).

Each case of ``SAID`` is a whole call's turns and what may be stored of them: the number's placeholder in
every turn that said a part of it, every other word kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest
from stdnum import iban, luhn
from stdnum.us import ssn

from agentic_memory.domain.redaction import redact_text, redact_turns

CARD = "[card number]"
SSN = "[social security number]"
BANK = "[bank account]"
VISA = "4539 1488 0343 6467"  # a Visa test number
AMEX = "3782 822463 10005"
IBAN_GB = "GB82 WEST 1234 5698 7654 32"
IBAN_DE = "DE89 3704 0044 0532 0130 00"
SOCIAL = "536-90-4399"


def test_the_numbers_used_below_are_what_they_stand_for():
    # Given the numbers the cases read out, Then each passes its checksum (else a case would prove nothing)
    for card in (VISA, AMEX):
        assert luhn.is_valid(card.replace(" ", ""))
    for account in (IBAN_GB, IBAN_DE):
        assert iban.is_valid(account.replace(" ", ""))
    assert ssn.is_valid(SOCIAL.replace("-", ""))


def scripted(digits: str, zero: int) -> str:
    """``digits`` written with the digits of another script (``zero``: the code point of its zero)."""
    return "".join(chr(zero + int(char)) if char.isdigit() else char for char in digits)


# (kind of input, turns as said, turns as stored). Turns alternate caller / agent as written.
SAID = [
    # A card read in chunks across turns, the agent acknowledging each.
    (
        "card in chunks across turns",
        ["4539", "Mm-hmm.", "1488", "Okay.", "0343", "Got it, go on.", "6467"],
        [CARD, "Mm-hmm.", CARD, "Okay.", CARD, "Got it, go on.", CARD],
    ),
    ("two caller turns in a row", ["My card is 4539 1488", "0343 6467"], [f"My card is {CARD}", CARD]),
    (
        "the agent reads a chunk back",
        ["4539", "4539, yes.", "1488", "1488.", "0343 6467", "Thank you."],
        [CARD, f"{CARD}, yes.", CARD, f"{CARD}.", CARD, "Thank you."],
    ),
    (
        "the agent reads every chunk back, all-ones test card",
        ["4111", "4111", "1111", "1111", "1111", "1111", "1111", "1111"],
        [CARD] * 8,
    ),
    # Separators and fillers that speech-to-text writes.
    ("stops between groups", ["It's 4539. 1488. 0343. 6467. Thanks."], [f"It's {CARD}. Thanks."]),
    ("slashes between groups", ["4539/1488/0343/6467"], [CARD]),
    ("fillers between groups", ["4539 1488 and then 0343 6467"], [CARD]),
    ("hesitations between groups", ["4539, um, 1488, uh, 0343... 6467"], [CARD]),
    (
        "fillers across turns",
        ["4539 1488, okay?", "Mm-hmm.", "And then 0343 6467."],
        [f"{CARD}, okay?", "Mm-hmm.", f"And then {CARD}."],
    ),
    # Digits in other scripts (typed on WhatsApp or web chat).
    ("Arabic-Indic digits", [f"رقم البطاقة {scripted(VISA, 0x0660)}"], [f"رقم البطاقة {CARD}"]),
    ("Eastern Arabic-Indic digits", [scripted(VISA, 0x06F0)], [CARD]),
    ("Devanagari digits", [f"कार्ड {scripted(VISA, 0x0966)}"], [f"कार्ड {CARD}"]),
    ("full-width digits", [scripted(VISA, 0xFF10).replace(" ", "\u3000")], [CARD]),
    ("mixed scripts across turns", [scripted("4539 1488", 0x0660), "Mm-hmm.", "0343 6467"], [CARD, "Mm-hmm.", CARD]),
    # Digit words in the agent's other languages (accents as speech-to-text may or may not write them).
    (
        "French digit words",
        ["quatre cinq trois neuf un quatre huit huit zéro trois quatre trois six quatre six sept"],
        [CARD],
    ),
    (
        "Spanish digit words",
        ["cuatro cinco tres nueve, uno cuatro ocho ocho, cero tres cuatro tres, seis cuatro seis siete"],
        [CARD],
    ),
    (
        "German digit words with zwo",
        ["vier fünf drei neun eins vier acht acht null drei vier drei sechs vier sechs sieben"],
        [CARD],
    ),
    (
        "Italian digit words",
        ["quattro cinque tre nove uno quattro otto otto zero tre quattro tre sei quattro sei sette"],
        [CARD],
    ),
    (
        "Portuguese digit words with um and meia",
        ["quatro cinco três nove um quatro oito oito zero três quatro três meia quatro meia sete"],
        [CARD],
    ),
    (
        "Dutch digit words",
        ["vier vijf drie negen een vier acht acht nul drie vier drie zes vier zes zeven"],
        [CARD],
    ),
    (
        "Polish digit words",
        ["cztery pięć trzy dziewięć jeden cztery osiem osiem zero trzy cztery trzy sześć cztery sześć siedem"],
        [CARD],
    ),
    ("English double", ["five five five five double five five five five five five five four four four four"], [CARD]),
    ("digit words across turns", ["cuatro cinco tres nueve", "Vale.", "1488 0343 6467"], [CARD, "Vale.", CARD]),
    # National ids and bank accounts split across turns, said with "dash", written with dashes.
    (
        "SSN split across turns",
        ["And your social security number?", "536", "Mm-hmm.", "90", "4399"],
        ["And your social security number?", SSN, "Mm-hmm.", SSN, SSN],
    ),
    ("SSN said with dash", ["five three six dash nine zero dash four three nine nine"], [SSN]),
    ("SSN with dash words and digits", ["it's 536 dash 90 dash 4399"], [f"it's {SSN}"]),
    (
        "IBAN split across turns",
        ["The IBAN is GB82 WEST", "Mm-hmm.", "1234 5698 7654 32"],
        [f"The IBAN is {BANK}", "Mm-hmm.", BANK],
    ),
    ("IBAN written with dashes", ["GB82-WEST-1234-5698-7654-32"], [BANK]),
    ("IBAN in lower case with fillers", ["de89 3704, um, 0044 0532 0130 00"], [BANK]),
    # The backstop: groups broken up by words no rule lets through, within its window.
    (
        "card broken up by the agent's questions (backstop)",
        ["4539", "Got it, and the next four digits please?", "1488", "Thank you. And the next ones?", "0343 6467"],
        [CARD, "Got it, and the next four digits please?", CARD, "Thank you. And the next ones?", CARD],
    ),
    (
        "IBAN broken up by a question (backstop)",
        ["DE89 3704 0044", "Sorry, could you repeat the rest of it?", "0532 0130 00"],
        [BANK, "Sorry, could you repeat the rest of it?", BANK],
    ),
]


@pytest.mark.parametrize(("turns", "stored"), [case[1:] for case in SAID], ids=[case[0] for case in SAID])
def test_a_number_said_as_people_say_it_is_replaced_where_it_was_said(turns, stored):
    # Given a call's turns in which a card, SSN or IBAN is said, When the transcript is redacted
    redacted, counts = redact_turns(turns)
    # Then each turn keeps its words, with the number's placeholder where a part of it was said, counted once
    assert redacted == stored
    assert sum(counts.values()) == 1
    # And no run of three or more digits of any script, nor a digit word run, is left
    assert [turn for turn in redacted if re.search(r"\d{3}", turn)] == []


def test_a_card_in_a_summary_split_by_words_is_replaced():
    # Given a call summary where the card's groups are split by words
    summary = "The caller paid with card 4539 1488, then 0343 and finally 6467, and asked for a receipt."
    # When it is redacted
    text, counts = redact_text(summary)
    # Then the card is gone and the sentence around it stays
    assert text == f"The caller paid with card {CARD}, and asked for a receipt."
    assert counts == Counter(card_number=1)


def test_every_unicode_decimal_digit_reads_as_its_value():
    # Given the card written in each script that has decimal digits (every zero Unicode lists)
    zeros = [code for code in range(0x110000) if unicodedata.decimal(chr(code), None) == 0]
    assert len(zeros) > 50  # Unicode 15 has more than sixty
    for zero in zeros:
        said = scripted(VISA, zero)
        # When it is redacted, Then it is the card
        assert redact_text(said) == (CARD, Counter(card_number=1)), hex(zero)


# Numbers that must keep passing, alone or said over several turns: they are not cards, ids or accounts.
KEPT_CALLS = [
    ["Call me back at +1 415 555 0123 or (415) 555-0199 after 5:30 pm."],
    ["What's your order number?", "48213.", "And your zip code?", "94107.", "And a phone number?", "415 555 0123."],
    ["My order is 4811 2230", "Got it. When was it delivered?", "On 04/27/2026 at 10:30, it was $1,234.56."],
    ["I live at 1600 Amphitheatre Parkway, Mountain View, CA 94043, apartment 12."],
    ["My date of birth is 12/03/1985 and my member number is 778 2201."],
    ["Orders 48213 and 55012 and 66120 were late."],
    ["Mi pedido es el 4821, lo recibí el 3 de mayo a las 10:30, costó 1.234,56 euros."],
    ["Appelez-moi au 06 12 34 56 78, mon code postal est 75011."],
    ["Meine Bestellnummer ist 4711, Postleitzahl 10115, Telefon 030 1234567."],
    ["Il mio ordine è il 5521, consegnato il 12.03.2026 alle 14:30."],
    ["I have two kids and one dog, and we need four chairs and a table for six."],
    ["It was the twenty-seventh of April, around nine or ten."],
    ["Room 4111, floor 11, building 1111, gate 1111."],
    ["My flight is on the 14th, seat 4C, confirmation 7HX22P, 2 bags."],
    ["The total was 4,111,111,111,111,111 dollars, or $ 4111.11 each."],
    ["la dirección es calle 45 número 1111, código postal 28013"],
    ["My card ends in 1111.", "Thanks.", "And the order was 4539 1488."],
    ["um, my number is, uh, 415 555 0123, and, um, the other one is 415 555 0199"],
]


@pytest.mark.parametrize("turns", KEPT_CALLS, ids=[turns[0][:40] for turns in KEPT_CALLS])
def test_numbers_that_are_not_personal_keep_passing(turns):
    assert redact_turns(turns) == (turns, Counter())


# ---------------------------------------------------------------------------------------------- the job's cuts


def job_with(**analysis_changes):
    import json

    from agentic_memory.config import load_settings
    from agentic_memory.domain.conversation import TranscriptionData
    from agentic_memory.domain.job import build_job
    from tests.support import load_event

    data = json.loads(load_event("post_call.json")["body"])["data"]
    data["analysis"].update(analysis_changes)
    return build_job(
        TranscriptionData.model_validate(data),
        caller_id="+16129782029",
        event_timestamp=1795253495,
        settings=load_settings(),
    )


def test_a_collected_value_is_cut_only_after_it_is_redacted():
    # Given a data-collection value whose card crosses the 500-character cut
    from agentic_memory.domain.job import MAX_FIELD_CHARS

    value = "notes " * 78 + "the caller read card 4539 1488 0343 6467 twice"
    assert value.index("4539") < MAX_FIELD_CHARS < value.index("6467")
    collected = {"notes": {"data_collection_id": "notes", "value": value, "rationale": "x"}}
    # When the job is built
    job = job_with(data_collection_results=collected)
    # Then the kept value holds no part of the card, and is within the bound
    kept = job.data_collection["notes"]
    assert not re.search(r"[0-9]", kept)
    assert len(kept) <= MAX_FIELD_CHARS
    assert job.redacted == {"card_number": 1}


def test_a_summary_is_cut_only_after_it_is_redacted():
    # Given a summary whose card crosses the 4,000-character cut
    from agentic_memory.domain.job import MAX_SUMMARY_CHARS

    summary = "The caller talked at length. " * 137 + "He paid with 4539 1488 0343 6467."
    assert summary.index("4539") < MAX_SUMMARY_CHARS < summary.index("6467")
    job = job_with(transcript_summary=summary)
    assert job.summary is not None
    assert not re.search(r"[0-9]", job.summary)
    assert len(job.summary) <= MAX_SUMMARY_CHARS


# ---------------------------------------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

digits = st.integers


@st.composite
def everyday_turns(draw: st.DrawFn) -> list[str]:
    """A call's turns holding only numbers that are no one's secret, each said as callers say them: phone
    numbers, order numbers, ZIP codes, dates, times, amounts, addresses, counts, between acknowledgements."""
    said = [
        lambda: f"My order number is {draw(digits(10_000, 999_999))}.",
        lambda: f"The zip code is {draw(digits(10_000, 99_999))}.",
        lambda: f"Call me at {draw(digits(200, 999))} {draw(digits(200, 999))} {draw(digits(1000, 9999))}.",
        lambda: f"Call me at +44 {draw(digits(7000, 7999))} {draw(digits(100_000, 999_999))}.",
        lambda: (
            f"It was delivered on {draw(digits(1, 12)):02}/{draw(digits(1, 28)):02}/2026 at {draw(digits(1, 12))}:30."
        ),
        lambda: f"It came to ${draw(digits(1, 9))},{draw(digits(100, 999))}.{draw(digits(10, 99))}.",
        lambda: f"I live at {draw(digits(1, 9999))} Elm Street, apartment {draw(digits(1, 99))}.",
        lambda: f"We need {draw(digits(2, 12))} chairs for the {draw(digits(1, 31))}th.",
        lambda: "Mm-hmm.",
        lambda: "Okay.",
        lambda: "Thanks, anything else?",
    ]
    return [said[draw(st.integers(0, len(said) - 1))]() for _ in range(draw(st.integers(1, 12)))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(everyday_turns())
def test_everyday_numbers_over_a_whole_call_are_never_redacted(turns):
    # Given a call of everyday numbers, in any order, When it is redacted, Then nothing is replaced
    assert redact_turns(turns) == (turns, Counter())


@st.composite
def cards_read_aloud(draw: st.DrawFn) -> tuple[list[str], str]:
    """A card number (first digit 2-6, Luhn-valid) read in chunks the way callers read one to a voice agent:
    chunks of two to six digits, separators and hesitations between them, chunks spread over caller turns
    with the agent's acknowledgements between, in ASCII, Arabic-Indic or full-width digits. Returns the
    turns and the card's digits."""
    body = draw(st.sampled_from("23456")) + draw(st.text("0123456789", min_size=14, max_size=14))
    card = body + luhn.calc_check_digit(body)
    size = draw(st.sampled_from([2, 3, 4, 4, 4, 5, 6]))
    chunks = [card[i : i + size] for i in range(0, len(card), size)]
    zero = draw(st.sampled_from([0x30, 0x0660, 0xFF10]))
    between = [" ", ", ", ". ", ", um, ", " and then ", " okay "] + (["/", "-"] if size == 4 else [])
    turns: list[str] = []
    current = ""
    for chunk in chunks:
        current = (current + draw(st.sampled_from(between)) if current else "") + scripted(chunk, zero)
        if draw(st.booleans()):  # the caller pauses: the turn ends, the agent acknowledges or not
            turns.append(current)
            current = ""
            if draw(st.booleans()):
                turns.append(draw(st.sampled_from(["Mm-hmm.", "Okay.", "Got it.", "Yes, go on.", "Uh-huh."])))
    if current:
        turns.append(current)
    return turns, card


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cards_read_aloud())
def test_a_card_read_aloud_in_chunks_leaves_no_digit_in_any_turn(said):
    turns, card = said
    # Given a card read in chunks over turns (the calls hold nothing but the card and acknowledgements)
    assert luhn.is_valid(card)
    # When the transcript is redacted, Then no digit of any script is left, and one card is counted
    redacted, counts = redact_turns(turns)
    assert [turn for turn in redacted if re.search(r"\d", turn)] == [], (turns, redacted)
    assert counts == Counter(card_number=1)
