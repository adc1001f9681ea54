"""The own-line rule (issue 20, DESIGN.md section 5): which numbers are ours, what evidence marks one, how a
mark expires and what an inbound call from a marked number does. Pure: no store."""

from __future__ import annotations

from agentic_memory.domain import own_lines
from agentic_memory.domain.own_lines import DAY, FLAGGED_DAYS, MARK_DAYS, Mark, OwnLines

NOW = 1_800_000_000
LINE_A = "+15550100001"  # marked from an outbound call
LINE_B = "+15550100002"  # configured
LISTED = "+15550100003"  # on the workspace's phone-number list
CUSTOMER = "+16129782029"


def lines(*marks: Mark, now: int = NOW) -> OwnLines:
    return OwnLines.of({LINE_B}, marks, now=now)


def outbound_mark(number: str = LINE_A, *, until: int = NOW + 10 * DAY, flagged_at: int | None = None) -> Mark:
    return Mark(number, outbound_until=until, flagged_at=flagged_at)


class TestWhoIsOurs:
    def test_configured_and_live_marks_are_ours_expired_marks_and_customers_are_not(self):
        known = lines(outbound_mark(), Mark(LISTED, listed_until=NOW + DAY), outbound_mark("+15550100009", until=NOW))
        assert known.is_ours(LINE_A)
        assert known.is_ours(LINE_B)
        assert known.is_ours(LISTED)
        assert not known.is_ours("+15550100009")  # its evidence ran out at NOW
        assert not known.is_ours(CUSTOMER)
        assert not known.is_ours(None)

    def test_the_customer_is_the_calling_party_unless_it_is_ours(self):
        known = lines(outbound_mark())
        assert known.customer(CUSTOMER, LINE_A) == (CUSTOMER, "inbound")
        assert known.customer(LINE_A, CUSTOMER) == (CUSTOMER, "outbound")  # marked, not configured
        assert known.customer(LINE_B, CUSTOMER) == (CUSTOMER, "outbound")
        assert known.customer(LINE_A, LINE_B) == (None, "none")  # a staff call between two lines
        assert known.customer(None, LINE_A) == (None, "none")  # withheld: never our number instead

    def test_vouched_means_configured_or_listed(self):
        known = lines(outbound_mark(), Mark(LISTED, listed_until=NOW + DAY))
        assert known.vouched(LINE_B)
        assert known.vouched(LISTED)
        assert not known.vouched(LINE_A)


class TestAfterACall:
    def test_an_outbound_call_marks_its_agent_number(self):
        verdict = own_lines.after_call(
            direction="outbound", agent_number=LINE_A, external_number=CUSTOMER, lines=lines()
        )
        assert verdict.store
        assert verdict.marks == (Mark(LINE_A, outbound_until=NOW + MARK_DAYS * DAY),)

    def test_an_inbound_calls_agent_number_is_no_evidence(self):
        # a misrouted SIP call can put a customer's number there
        verdict = own_lines.after_call(
            direction="inbound", agent_number=CUSTOMER, external_number="+16125550147", lines=lines()
        )
        assert verdict == own_lines.Verdict(True)

    def test_a_configured_number_is_never_marked(self):
        verdict = own_lines.after_call(
            direction="outbound", agent_number=LINE_B, external_number=CUSTOMER, lines=lines()
        )
        assert verdict == own_lines.Verdict(True)

    def test_an_inbound_call_from_a_marked_number_is_not_stored_and_flags_the_mark(self):
        mark = outbound_mark(until=NOW + 20 * DAY)
        verdict = own_lines.after_call(
            direction="inbound", agent_number=LINE_B, external_number=LINE_A, lines=lines(mark)
        )
        assert not verdict.store
        assert verdict.flagged == (LINE_A,)
        [flagged] = verdict.marks
        assert flagged.flagged_at == NOW
        assert flagged.outbound_until == NOW + FLAGGED_DAYS * DAY  # cut from 20 days to 7

    def test_a_flag_never_lengthens_a_mark_and_keeps_its_first_date(self):
        mark = outbound_mark(until=NOW + 2 * DAY, flagged_at=NOW - DAY)
        verdict = own_lines.after_call(
            direction="inbound", agent_number=None, external_number=LINE_A, lines=lines(mark)
        )
        assert verdict.marks == (Mark(LINE_A, outbound_until=NOW + 2 * DAY, flagged_at=NOW - DAY),)

    def test_a_new_outbound_call_renews_a_flagged_mark(self):
        mark = outbound_mark(until=NOW + DAY, flagged_at=NOW - DAY)
        verdict = own_lines.after_call(
            direction="outbound", agent_number=LINE_A, external_number=CUSTOMER, lines=lines(mark)
        )
        assert verdict.marks == (Mark(LINE_A, outbound_until=NOW + MARK_DAYS * DAY),)

    def test_an_inbound_call_from_a_vouched_line_is_a_staff_call_and_flags_nothing(self):
        listed = Mark(LISTED, listed_until=NOW + DAY, outbound_until=NOW + DAY)
        for caller in (LINE_B, LISTED):
            verdict = own_lines.after_call(
                direction="inbound", agent_number=LINE_A, external_number=caller, lines=lines(listed)
            )
            assert verdict == own_lines.Verdict(False)

    def test_an_outbound_call_to_one_of_our_lines_stores_nothing_under_either(self):
        verdict = own_lines.after_call(direction="outbound", agent_number=LINE_A, external_number=LINE_B, lines=lines())
        assert not verdict.store
        assert [mark.number for mark in verdict.marks] == [LINE_A]
        assert verdict.flagged == ()

    def test_a_mark_keeps_its_listed_evidence_when_an_outbound_call_renews_it(self):
        mark = Mark(LINE_A, listed_until=NOW + 5 * DAY)
        [renewed] = own_lines.after_call(
            direction="outbound", agent_number=LINE_A, external_number=CUSTOMER, lines=lines(mark)
        ).marks
        assert renewed.listed_until == NOW + 5 * DAY
        assert renewed.expires_at == NOW + MARK_DAYS * DAY


class TestThePhoneNumberList:
    def test_listed_numbers_are_marked_and_renewed_at_most_daily(self):
        fresh = Mark(LISTED, listed_until=NOW + MARK_DAYS * DAY - 3600)
        refresh = own_lines.after_listing([LISTED, "+15550100004", LINE_B], [fresh], {LINE_B}, now=NOW)
        # the configured one is not marked, the fresh mark is not written again
        assert refresh.marks == (Mark("+15550100004", listed_until=NOW + MARK_DAYS * DAY),)
        old = Mark(LISTED, listed_until=NOW + 10 * DAY)
        assert own_lines.after_listing([LISTED], [old], set(), now=NOW).marks == (
            Mark(LISTED, listed_until=NOW + MARK_DAYS * DAY),
        )

    def test_a_flagged_mark_the_list_does_not_hold_is_cleared_an_unflagged_one_kept(self):
        flagged_mark = outbound_mark(flagged_at=NOW - DAY)
        kept = outbound_mark("+15550100005")
        refresh = own_lines.after_listing([], [flagged_mark, kept], set(), now=NOW)
        assert refresh.cleared == (LINE_A,)
        assert refresh.marks == ()

    def test_a_number_that_left_the_list_loses_its_listed_evidence(self):
        both = Mark(LINE_A, listed_until=NOW + DAY, outbound_until=NOW + DAY)
        only_listed = Mark(LISTED, listed_until=NOW + DAY)
        refresh = own_lines.after_listing([], [both, only_listed], set(), now=NOW)
        assert refresh.marks == (Mark(LINE_A, outbound_until=NOW + DAY),)
        assert refresh.cleared == (LISTED,)


def test_the_marks_partition_is_the_one_the_end_to_end_tests_read():
    from agentic_memory.stores import line_marks

    assert line_marks.MARKS_PK == "own-lines"  # tests/integration/test_own_lines.py and template.yaml's IAM
    assert line_marks.key(LINE_A) == {"pk": {"S": "own-lines"}, "sk": {"S": LINE_A}}
