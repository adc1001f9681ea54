"""Numbers as callers say them, end to end (issue 20, item 1): whole calls played through the signed post-call
webhook, the self-invoked job (what the dead-letter queue would keep), the worker, the Mem0 stand-in, the
DynamoDB caller profile, then the next call's client_data and retrieve. For each kind of spoken number, no
run of the number's digits survives anywhere; for the negative table, the numbers that are not personal are
still there.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest

from agentic_memory.domain.job import MAX_FIELD_CHARS
from agentic_memory.stores import aws_clients
from client_data.handler import lambda_handler as client_data
from post_call.handler import lambda_handler as post_call
from retrieve.handler import lambda_handler as retrieve
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, post_call_body, signed_headers

KEY = {"x-workspace-key": WORKSPACE_KEY}
OUR_NUMBER = "+18005551234"  # the sample payload's agent_number
VISA = ["4539", "1488", "0343", "6467"]  # a Visa test number, as it is read in four chunks


def scripted(text: str, zero: int) -> str:
    return "".join(chr(zero + int(char)) if char.isdigit() else char for char in text)


def agent(message: str) -> dict[str, Any]:
    return {"role": "agent", "message": message}


def caller(message: str) -> dict[str, Any]:
    return {"role": "user", "message": message}


OPENING = [agent("Hello! How can I help you today?"), caller("I'd like to pay my bill, my name is Maria Lopez.")]
CARD_ASKED = [*OPENING, agent("Sure. What's the card number?")]

# name -> (the call's turns, what else the payload says (analysis), the number's groups as said, its words)
CALLS: dict[str, tuple[list[dict[str, Any]], dict[str, Any], list[str], list[str]]] = {
    "card in chunks, agent acknowledging": (
        [*CARD_ASKED, caller("4539"), agent("Mm-hmm."), caller("1488"), agent("Okay."), caller("0343 6467")],
        {},
        VISA,
        [],
    ),
    "two caller turns in a row": ([*CARD_ASKED, caller("It's 4539 1488"), caller("0343 6467")], {}, VISA, []),
    "agent reads each chunk back": (
        [*CARD_ASKED, caller("4539"), agent("4539."), caller("1488"), agent("1488, yes."), caller("0343 6467")],
        {},
        VISA,
        [],
    ),
    "stops between groups": ([*CARD_ASKED, caller("4539. 1488. 0343. 6467.")], {}, VISA, []),
    "slashes between groups": ([*CARD_ASKED, caller("4539/1488/0343/6467")], {}, VISA, []),
    "fillers between groups": ([*CARD_ASKED, caller("4539 1488, um, and then 0343 6467")], {}, VISA, []),
    "Arabic-Indic digits (WhatsApp)": ([*CARD_ASKED, caller(scripted("4539 1488 0343 6467", 0x0660))], {}, VISA, []),
    "Eastern Arabic-Indic digits": ([*CARD_ASKED, caller(scripted("4539 1488 0343 6467", 0x06F0))], {}, VISA, []),
    "full-width digits": ([*CARD_ASKED, caller(scripted("4539 1488 0343 6467", 0xFF10))], {}, VISA, []),
    "Devanagari digits": ([*CARD_ASKED, caller(scripted("4539 1488 0343 6467", 0x0966))], {}, VISA, []),
    "French digit words": (
        [
            *CARD_ASKED,
            caller("quatre cinq trois neuf, un quatre huit huit, zéro trois quatre trois, six quatre six sept"),
        ],
        {},
        VISA,
        ["quatre cinq trois", "zéro trois quatre", "six quatre six"],
    ),
    "Spanish digit words across turns": (
        [
            *CARD_ASKED,
            caller("cuatro cinco tres nueve uno cuatro ocho ocho"),
            agent("Vale."),
            caller("cero tres cuatro tres seis cuatro seis siete"),
        ],
        {},
        VISA,
        ["cuatro cinco tres", "cero tres cuatro", "seis cuatro seis"],
    ),
    "German digit words": (
        [*CARD_ASKED, caller("vier fünf drei neun eins vier acht acht null drei vier drei sechs vier sechs sieben")],
        {},
        VISA,
        ["vier fünf drei", "null drei vier", "sechs vier sechs"],
    ),
    "card broken up by questions (backstop)": (
        [
            *CARD_ASKED,
            caller("4539"),
            agent("Got it, and the next four digits please?"),
            caller("1488"),
            agent("Thank you. And the last eight?"),
            caller("0343 6467"),
        ],
        {},
        VISA,
        [],
    ),
    "SSN split across turns": (
        [*OPENING, agent("And your social security number?"), caller("536"), agent("Mm-hmm."), caller("90 4399")],
        {},
        ["536", "90", "4399"],
        [],
    ),
    "SSN said with dash": (
        [
            *OPENING,
            agent("And your social security number?"),
            caller("five three six dash nine zero dash four three nine nine"),
        ],
        {},
        ["536", "4399"],
        ["five three six", "four three nine"],
    ),
    "IBAN split across turns": (
        [
            *OPENING,
            agent("Which account?"),
            caller("The IBAN is GB82 WEST 1234"),
            agent("Mm-hmm."),
            caller("5698 7654 32"),
        ],
        {},
        ["5698", "7654"],  # its "1234" is also in our own number, +18005551234
        ["gb82", "west 1234"],
    ),
    "IBAN written with dashes": (
        [*OPENING, agent("Which account?"), caller("GB82-WEST-1234-5698-7654-32")],
        {},
        ["5698", "7654"],
        ["gb82", "west-1234"],
    ),
    "card in the summary split by words": (
        [*OPENING, agent("Thanks, I have taken the payment.")],
        {"transcript_summary": "Maria paid with card 4539 1488, then 0343 and finally 6467, and asked for a receipt."},
        VISA,
        [],
    ),
    "card crossing the data-collection cut": (
        [*OPENING, agent("Thanks, I have taken the payment.")],
        {
            "data_collection_results": {
                "notes": {
                    "data_collection_id": "notes",
                    "value": "notes " * 78 + "the caller read card 4539 1488 0343 6467 twice",
                },
            }
        },
        VISA,
        [],
    ),
}


def fold_digits(text: str) -> str:
    return "".join(
        str(unicodedata.decimal(char)) if unicodedata.decimal(char, None) is not None else char for char in text
    )


# Ids and times the stores add (Mem0's record ids, created_at): their digits are no one's number.
GENERATED = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?"
)


def leaks(text: str, groups: list[str], phrases: list[str]) -> list[str]:
    """The groups of the number (and the phrases of its words) that ``text`` still holds as a run of digits."""
    runs = re.findall(r"[0-9]+", GENERATED.sub(" ", fold_digits(text)))
    number = "".join(groups)
    long_groups = [group for group in groups if len(group) >= 4]
    found = [run for run in runs if len(run) >= 4 and (run in number or any(group in run for group in long_groups))]
    found += [group for group in groups if len(group) < 4 and group in runs]
    lowered = unicodedata.normalize("NFC", text.lower())
    return found + [phrase for phrase in phrases if phrase in lowered]


def play(
    transcript: list[dict[str, Any]], analysis: dict[str, Any], lambda_invocations: list, mem0_server, name: str
) -> dict:
    """One whole call: the webhook, the queued job run by the worker, Mem0's extraction; returns the job."""
    full = {
        "call_successful": "success",
        "transcript_summary": "Maria Lopez called to pay her bill.",
        "call_summary_title": "Bill payment",
        "data_collection_results": {"caller_name": {"data_collection_id": "caller_name", "value": "Maria Lopez"}},
        **analysis,
    }
    conversation_id = "conv_" + "".join(char for char in name if char.isalpha())  # no digits of its own
    body = post_call_body(transcript=transcript, analysis=full, conversation_id=conversation_id)
    answer = post_call(http_event("/post-call", body, signed_headers(body)), LambdaContext())
    assert body_of(answer)["status"] == "accepted"
    job = lambda_invocations[-1][2]
    assert post_call(job, LambdaContext())["status"] == "written"
    assert mem0_server.wait_idle()
    return job


def everything_kept(job: dict, mem0_server, profile_table: str) -> dict[str, str]:
    """Every place the call's words can be read from afterwards, as text."""
    _, records = mem0_server.store.get_all({"user_id": CALLER}, page_size=200, show_expired=True)
    assert records  # the call was remembered: there is something to look at
    items = aws_clients.client("dynamodb").scan(TableName=profile_table)["Items"]
    assert items  # and the caller has a profile
    event = http_event("/client-data", {"caller_id": CALLER, "called_number": OUR_NUMBER, "call_sid": "CA9"}, KEY)
    dynamic = body_of(client_data(event, LambdaContext()))["dynamic_variables"]
    assert dynamic["returning_caller"] == "yes"
    answers = [
        body_of(retrieve(http_event("/retrieve", {"query": query, "caller_id": CALLER}, KEY), LambdaContext()))
        for query in ("card number", "social security number", "bank account IBAN", "payment notes")
    ]
    return {
        "job (and dead-letter queue)": json.dumps(job, ensure_ascii=False),
        "Mem0 requests": json.dumps([r.body for r in mem0_server.requests], ensure_ascii=False),
        "Mem0 records": json.dumps(records, ensure_ascii=False),
        "profile": json.dumps(items, ensure_ascii=False),
        "client_data": json.dumps(dynamic, ensure_ascii=False),
        "retrieve": json.dumps(answers, ensure_ascii=False),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CALLS))
def test_no_run_of_a_spoken_number_survives_anywhere(name, mem0_server, profile_table, lambda_invocations):
    transcript, analysis, groups, phrases = CALLS[name]
    # Given a payload that holds the number as this kind of caller says it (else the case proves nothing)
    sent = json.dumps({"transcript": transcript, "analysis": analysis}, ensure_ascii=False)
    assert leaks(sent, groups, phrases)
    for result in analysis.get("data_collection_results", {}).values():  # a value whose card crosses the cut
        assert result["value"].index("4539") < MAX_FIELD_CHARS < result["value"].index("6467")
    # When the whole call is played and the caller calls again
    job = play(transcript, analysis, lambda_invocations, mem0_server, name)
    kept = everything_kept(job, mem0_server, profile_table)
    # Then no group of the number is anywhere, and the job says what kind was redacted
    assert {where: leaks(text, groups, phrases) for where, text in kept.items()} == {key: [] for key in kept}
    assert sum(job["redacted"].values()) >= 1
    # And the call is still remembered with its placeholders
    assert "[" in kept["job (and dead-letter queue)"]


# Numbers that must pass end to end: (the call, the numbers that must still be in the job and in Mem0).
KEPT_CALLS = {
    "phone numbers": (
        [
            *OPENING,
            agent("Best number to reach you?"),
            caller("Call me at 415 555 0123 or (415) 555-0199 after 5:30 pm."),
        ],
        ["415 555 0123", "555-0199", "5:30"],
    ),
    "order and zip across turns": (
        [*OPENING, agent("Your order number?"), caller("48213."), agent("And your zip code?"), caller("94107.")],
        ["48213", "94107"],
    ),
    "date, time and amount": (
        [*OPENING, agent("When was it?"), caller("On 04/27/2026 at 10:30, it was $1,234.56.")],
        ["04/27/2026", "10:30", "$1,234.56"],
    ),
    "address": (
        [
            *OPENING,
            agent("Delivery address?"),
            caller("1600 Amphitheatre Parkway, Mountain View, CA 94043, apartment 12."),
        ],
        ["1600 Amphitheatre Parkway", "94043"],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(KEPT_CALLS))
def test_numbers_that_are_not_personal_pass_end_to_end(name, mem0_server, profile_table, lambda_invocations):
    transcript, numbers = KEPT_CALLS[name]
    # When a call holding only such numbers is played
    job = play(transcript, {}, lambda_invocations, mem0_server, name)
    # Then nothing was redacted, and the numbers reach the job and Mem0 as said
    assert job["redacted"] == {}
    sent_to_mem0 = json.dumps([r.body for r in mem0_server.requests], ensure_ascii=False)
    for number in numbers:
        assert number in json.dumps(job, ensure_ascii=False)
        assert number in sent_to_mem0
