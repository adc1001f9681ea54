"""The caller profile's rules (agentic_memory.domain.profile): merging calls, what the greeting gets; and the
profile reader's signed request (agentic_memory.stores.profile_reader).

The merge is a pure function, so its promises are checked here directly: whatever order calls arrive
in, and however often one is repeated, the profile ends the same, holding the newest call.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import reduce

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_memory.domain import profile
from agentic_memory.domain.job import Job
from agentic_memory.domain.memory_labels import KIND_SUMMARY
from agentic_memory.domain.memory_writes import plan_writes, verbatim_memories
from agentic_memory.domain.remembered import MAX_FACTS, MemoryRecord
from agentic_memory.stores import profile_reader, profile_table
from tests.support import CALLER

T0 = 1_800_000_000  # 2027-01-15


def job(conversation: str = "conv_a", started: int | None = T0, **fields) -> Job:
    values = {
        "conversation_id": conversation,
        "caller_id": CALLER,
        "start_time_unix_secs": started,
        "summary": f"Summary of {conversation}.",
        "title": f"Title of {conversation}",
        "call_successful": "success",
    }
    return Job(**(values | fields))


def fold(jobs, start=None, mem0=None):
    def step(current, one):
        merged = profile.merge(current, one, mem0)
        return current if merged is None else merged

    return reduce(step, jobs, start)


# --------------------------------------------------------------------------- merge


def test_a_first_call_makes_a_profile_holding_it():
    # Given no profile, When a call is merged
    stored = profile.merge(None, job(caller_name="Maria Lopez", data_collection={"delivery_day": "Tuesday"}))
    # Then it is the last call, counted once, with its name and collected field
    doc = stored.doc
    assert doc["calls"] == 1
    assert doc["last"]["conversation_id"] == "conv_a"
    assert doc["last"]["summary"] == "Summary of conv_a."
    assert doc["last"]["date"] == "2027-01-15"
    assert doc["last"]["outcome"] == "success"
    assert doc["name"] == "Maria Lopez"
    assert doc["facts"]["delivery_day"]["value"] == "Tuesday"
    assert doc["first_seen"] == doc["last_seen"] == T0
    assert stored.seen == [[T0, "conv_a"]]


def test_a_repeated_call_changes_nothing():
    stored = profile.merge(None, job(caller_name="Maria"))
    assert profile.merge(stored, job(caller_name="Maria")) is None
    # even when a fresher Mem0 read comes with the repeat
    fresh = profile.Mem0Snapshot(("Likes tea",), "", 4, read_at=T0 + 999)
    assert profile.merge(stored, job(caller_name="Maria"), fresh) is None


def test_an_older_call_arriving_late_is_counted_but_does_not_replace_the_last_call():
    newer = profile.merge(None, job("conv_new", T0 + 100))
    merged = profile.merge(newer, job("conv_old", T0))
    assert merged.doc["calls"] == 2
    assert merged.doc["last"]["conversation_id"] == "conv_new"
    assert merged.doc["first_seen"] == T0
    assert merged.doc["last_seen"] == T0 + 100


def test_a_newer_call_without_a_name_never_clears_it_and_a_newer_name_wins():
    named = profile.merge(None, job("conv_1", T0, caller_name="Maria"))
    nameless = profile.merge(named, job("conv_2", T0 + 10))
    assert nameless.doc["name"] == "Maria"
    renamed = profile.merge(nameless, job("conv_3", T0 + 20, caller_name="Maria Lopez"))
    assert renamed.doc["name"] == "Maria Lopez"
    # an older call's name arriving late does not win
    late = profile.merge(renamed, job("conv_0", T0 - 10, caller_name="Mary"))
    assert late.doc["name"] == "Maria Lopez"


@pytest.mark.parametrize("raw", ["Unknown", "N/A", "{{system__caller_id}}", "Maria <b>", "1234"])
def test_no_name_is_taken_from_what_is_no_name(raw):
    stored = profile.merge(None, job(caller_name=raw))
    assert stored.doc["name"] == ""


def test_collected_fields_keep_the_newest_value_and_stay_bounded():
    many = {f"field_{i:02d}": f"value {i}" for i in range(profile.MAX_COLLECTED_FACTS + 5)}
    first = profile.merge(None, job("conv_1", T0, data_collection=many))
    assert len(first.doc["facts"]) == profile.MAX_COLLECTED_FACTS
    newer = profile.merge(first, job("conv_2", T0 + 10, data_collection={"field_00": "changed", "fresh": "yes"}))
    assert newer.doc["facts"]["field_00"]["value"] == "changed"
    assert newer.doc["facts"]["fresh"]["value"] == "yes"
    assert len(newer.doc["facts"]) == profile.MAX_COLLECTED_FACTS
    older = profile.merge(newer, job("conv_0", T0 - 10, data_collection={"field_00": "stale"}))
    assert older.doc["facts"]["field_00"]["value"] == "changed"


def test_the_freshest_mem0_read_wins_whatever_call_brought_it():
    early = profile.Mem0Snapshot(("Likes tea",), "", 3, read_at=100.0)
    late = profile.Mem0Snapshot(("Likes coffee",), "", 5, read_at=200.0)
    newer = job("conv_new", T0 + 10)
    stored = profile.merge(None, newer, late, verbatim=verbatim_memories(plan_writes(newer)))
    # an older call's job that read Mem0 earlier does not replace the fresher read
    older = job("conv_old", T0)
    merged = profile.merge(stored, older, early, verbatim=verbatim_memories(plan_writes(older)))
    assert merged.doc["mem0"]["facts"] == ["Likes coffee"]
    assert merged.doc["mem0"]["total"] == 5 + 1  # the read's count, plus the summary the newer call wrote


def test_expiry_is_the_newest_calls():
    stored = profile.merge(None, job("conv_new", T0 + 10, expires_on=date(2027, 4, 15)))
    older = profile.merge(stored, job("conv_old", T0, expires_on=date(2027, 4, 1)))
    assert older.doc["expires_at"] == int(datetime(2027, 4, 15, tzinfo=UTC).timestamp())
    kept = profile.merge(None, job())
    assert kept.doc["expires_at"] is None


def test_calls_counted_are_bounded_and_the_oldest_beyond_the_window_is_not_counted_twice():
    jobs = [job(f"conv_{i:04d}", T0 + i) for i in range(profile.MAX_COUNTED_CALLS + 3)]
    stored = fold(jobs)
    assert stored.doc["calls"] == profile.MAX_COUNTED_CALLS + 3
    assert len(stored.seen) == profile.MAX_COUNTED_CALLS
    # the first call, long forgotten by the window, comes again (a replay): not counted again
    assert profile.merge(stored, jobs[0]) is None


calls = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # start, few values: equal starts happen
        st.sampled_from(["", "Maria", "Ana", "Unknown"]),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", "z"]), max_size=2),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(calls, st.randoms(use_true_random=False), st.integers(min_value=0, max_value=3))
def test_any_order_and_any_repeats_give_the_same_profile_holding_the_newest_call(spec, rnd, repeats):
    # Given distinct calls of one caller, When their jobs arrive in any order, some of them repeated
    jobs = [
        job(f"conv_{i}", T0 + start, caller_name=name or None, data_collection=fields)
        for i, (start, name, fields) in enumerate(spec)
    ]
    arrival = jobs + [rnd.choice(jobs) for _ in range(repeats)]
    rnd.shuffle(arrival)
    # Then the profile is the one the calls make in order, the newest call is the last one, each counted once
    assert fold(arrival) == fold(sorted(jobs, key=lambda j: (j.started, j.conversation_id)))
    doc = fold(arrival).doc
    newest = max(jobs, key=lambda j: (j.started, j.conversation_id))
    assert doc["last"]["conversation_id"] == newest.conversation_id
    assert doc["calls"] == len(jobs)
    named = [j for j in jobs if j.caller_name and j.caller_name != "Unknown"]
    expected = max(named, key=lambda j: (j.started, j.conversation_id)).caller_name if named else ""
    assert doc["name"] == expected


# --------------------------------------------------------------------------- what the greeting gets


def test_remembered_gives_the_name_last_call_and_facts():
    call = job(caller_name="Maria Lopez", data_collection={"delivery_day": "Tuesday"})
    stored = profile.merge(
        None,
        call,
        profile.Mem0Snapshot(("Allergic to latex", "Delivery day: Tuesday"), "", 7, read_at=1.0),
        verbatim=verbatim_memories(plan_writes(call)),
    )
    found = profile.remembered(stored.doc)
    assert found.returning
    assert found.name == "Maria Lopez"
    # the 7 memories Mem0 had when the job started, plus what the call wrote verbatim: its summary and
    # two fact sentences (the name, the collected field)
    assert found.count == 7 + 3
    assert found.last_summary == "Summary of conv_a."
    assert found.last_date == "2027-01-15"
    # the collected field; Mem0's extracted facts are left to the retrieve tool (they may be superseded)
    assert found.facts == ["Delivery day: Tuesday"]


def test_remembered_falls_back_to_mem0s_name_and_to_the_title_and_stays_bounded():
    # Given a call with ten collected fields and no summary, and Mem0 knowing a name and ten facts
    stored = profile.merge(
        None,
        job(summary=None, title="Vase order", data_collection={f"field_{i}": f"value {i}" for i in range(10)}),
        profile.Mem0Snapshot(tuple(f"Fact {i}" for i in range(10)), "Sam", 0, read_at=1.0),
    )
    found = profile.remembered(stored.doc)
    assert found.name == "Sam"
    assert found.last_summary == "Vase order"
    assert found.count == 1  # one call, whatever Mem0 counted
    # Then the facts are the collected fields, bounded; Mem0's extracted facts are left to the retrieve tool
    assert len(found.facts) == MAX_FACTS
    assert all(fact.startswith("Field ") for fact in found.facts)


def test_snapshot_keeps_recent_facts_without_summaries_or_names():
    records = [
        MemoryRecord("Summary of a call.", {"kind": KIND_SUMMARY}, "2027-01-15T10:00:00Z", "1"),
        MemoryRecord("Caller's name is Maria Lopez.", {"kind": "fact", "caller_name": "Maria Lopez"}, "", "2"),
        MemoryRecord("Allergic to latex", {}, "2027-01-15T09:00:00Z", "3"),
        MemoryRecord("allergic  to   latex", {}, "2027-01-14T09:00:00Z", "4"),
        *[MemoryRecord(f"Fact {i} " + "x" * 400, {}, "2027-01-01", str(10 + i)) for i in range(20)],
    ]
    snap = profile.snapshot(23, records, read_at=5.0)
    assert snap.name == "Maria Lopez"
    assert snap.total == 24
    assert snap.facts[0] == "Allergic to latex"
    assert len(snap.facts) == profile.MAX_MEM0_FACTS
    assert all(len(fact) <= profile.MAX_MEM0_FACT_CHARS for fact in snap.facts)
    assert not any("Summary" in fact or "name is" in fact for fact in snap.facts)


def test_scopes_are_kept_apart_by_the_sort_key():
    assert profile_table.scope_key(None) == "shared"
    assert profile_table.scope_key("agent_1") == "agent#agent_1"
    assert profile_table.scope_key("agent_1") != profile_table.scope_key("agent_2")


# --------------------------------------------------------------------------- the signer


def test_the_signed_get_item_is_the_signature_botocore_computes(monkeypatch):
    # Given the reader's signer (httpx-auth AWS4Auth) and botocore's own SigV4, same credentials and time
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from httpx_auth import AWS4Auth

    auth = AWS4Auth(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1", "dynamodb", security_token="tok"
    )
    body = json.dumps({"TableName": "profiles", "Key": {"pk": {"S": CALLER}, "sk": {"S": "shared"}}}).encode()
    request = httpx.Request(
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        content=body,
        headers={"Content-Type": profile_reader.CONTENT_TYPE, "X-Amz-Target": profile_reader.TARGET_PREFIX + "GetItem"},
    )
    # When httpx-auth signs the request
    signed = next(auth.auth_flow(request))
    header = signed.headers["Authorization"]
    names = header.split("SignedHeaders=")[1].split(",")[0].split(";")
    stamp = signed.headers["x-amz-date"]
    # and botocore signs the same headers at the same time
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: datetime.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    theirs = AWSRequest("POST", "https://dynamodb.eu-west-1.amazonaws.com/", data=body)
    for name in names:
        if name != "x-amz-date":
            theirs.headers[name] = signed.headers[name]
    SigV4Auth(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok"), "dynamodb", "eu-west-1"
    ).add_auth(theirs)
    # Then both produce the same signature over the same signed headers, token and target included
    assert {"host", "content-type", "x-amz-target", "x-amz-security-token", "x-amz-date"} <= set(names)
    assert header.replace(", ", ",") == theirs.headers["Authorization"].replace(", ", ",")


def test_reader_endpoints_follow_the_region_and_the_local_override():
    from agentic_memory.config import Settings, load_settings

    base = load_settings()
    fields = {name: getattr(base, name) for name in Settings.__dataclass_fields__}
    for region, endpoint, expected in [
        ("eu-west-1", None, "https://dynamodb.eu-west-1.amazonaws.com/"),
        ("cn-north-1", None, "https://dynamodb.cn-north-1.amazonaws.com.cn/"),
        ("us-east-1", "http://127.0.0.1:5000", "http://127.0.0.1:5000/"),
    ]:
        reader = profile_reader._SignedReader(
            Settings(
                **fields | {"aws_region": region, "dynamodb_endpoint": endpoint, "aws_credentials": ("a", "b", None)}
            )
        )
        assert reader.url == expected
        reader.close()


# --------------------------------------------------------------------------- the caller brief's parts


def brief_job(conversation: str, day: int, **fields) -> Job:
    """A call ``day`` days after T0 with the brief's data-collection items in ``fields``."""
    collected = {key: value for key, value in fields.items() if key in ("follow_up", "preferences", "appointment")}
    rest = {key: value for key, value in fields.items() if key not in collected}
    return job(conversation, T0 + day * 86400, data_collection=collected, **rest)


def test_a_follow_up_stays_open_until_a_later_call_settles_it():
    # Given a call that left a follow-up, and a later call that did not settle it
    promised = fold([brief_job("conv_a", 0, follow_up="Email the revised quote by Friday"), brief_job("conv_b", 2)])
    found = profile.remembered(promised.doc)
    # Then it is open, dated from the call that left it
    assert (found.follow_up, found.follow_up_date) == ("Email the revised quote by Friday", "2027-01-15")
    # When a later call says it is done, Then it is closed
    settled = fold([brief_job("conv_c", 5, follow_up_done=True)], promised)
    assert profile.remembered(settled.doc).follow_up == ""


def test_a_newer_follow_up_replaces_the_older_and_a_call_can_settle_one_and_leave_another():
    calls = [
        brief_job("conv_a", 0, follow_up="Call back about the invoice"),
        brief_job("conv_b", 1, follow_up="Post the corrected invoice", follow_up_done=True),
    ]
    found = profile.remembered(fold(calls).doc)
    assert (found.follow_up, found.follow_up_date) == ("Post the corrected invoice", "2027-01-16")


def test_placeholder_follow_ups_leave_nothing_open():
    for said in ("none", "N/A", "No follow-up", "nothing", "  "):
        assert profile.remembered(fold([brief_job("conv_a", 0, follow_up=said)]).doc).follow_up == ""


def test_preferences_keep_the_newest_value_of_each_topic():
    calls = [
        brief_job("conv_a", 0, preferences="contact: text message; visit time: mornings"),
        brief_job("conv_b", 3, preferences="Contact: email"),
    ]
    found = profile.remembered(fold(calls).doc)
    assert found.facts == ["Contact: email", "visit time: mornings"]


def test_the_brief_knows_the_relationship_and_the_last_three_calls_newest_first():
    calls = [brief_job(f"conv_{day:02d}", day, title=f"Call {day}") for day in range(8)]
    found = profile.remembered(fold(calls).doc)
    assert (found.calls, found.first_date, found.last_date) == (8, "2027-01-15", "2027-01-22")
    assert [(past.date, past.gist) for past in found.recent] == [
        ("2027-01-22", "Call 7"),
        ("2027-01-21", "Call 6"),
        ("2027-01-20", "Call 5"),
    ]
    assert len(fold(calls).doc["recent"]) == profile.MAX_RECENT_CALLS


def test_a_subagent_conversation_is_part_of_its_call_and_never_counted_again():
    parent = brief_job("conv_parent", 0, title="Billing question", caller_name="Noah Fischer")
    # (a subagent's conversation starts after the one that handed the caller to it)
    known = job(
        "conv_child",
        T0 + 120,
        subagent=True,
        parent_conversation_id="conv_parent",
        data_collection={"follow_up": "Email Noah"},
    )
    unknown = job("conv_other", T0 + 300, subagent=True, data_collection={"preferences": "contact: email"})
    for order in ([parent, known, unknown], [unknown, known, parent], [known, parent, unknown]):
        doc = fold(order).doc
        # one phone call: counted once, shown once, as its parent conversation gave it
        assert doc["calls"] == 1
        assert [entry["call"] for entry in doc["recent"]] == ["conv_parent"]
        assert doc["recent"][0]["gist"] == "Billing question"
        assert doc["last"]["conversation_id"] == "conv_parent"
        # what the subagents collected still counts
        found = profile.remembered(doc)
        assert found.follow_up == "Email Noah"
        assert found.facts == ["contact: email"]


def test_a_profile_written_before_the_brief_still_gives_its_last_call():
    # Given a document of the earlier shape (no recent, follow_up, settled or prefs)
    doc = fold([job("conv_a", T0, title="Vase order")]).doc
    legacy = {key: value for key, value in doc.items() if key not in ("recent", "follow_up", "settled", "prefs")}
    found = profile.remembered(legacy)
    assert [(past.date, past.gist) for past in found.recent] == [("2027-01-15", "Vase order")]
    assert found.calls == 1


def test_removing_a_call_brings_back_what_it_replaced():
    # Given two calls, the second of which an answering machine took (its "data" came from a greeting)
    first = brief_job(
        "conv_a", 0, caller_name="Priya Raman", preferences="dentist: Dr. Ortiz", follow_up="Text Priya the time"
    )
    machine = brief_job(
        "conv_b", 7, caller_name="Devendra Raman", preferences="dentist: any", follow_up_done=True, title="Greeting"
    )
    both = fold([first, machine])
    # When the machine's call is removed
    left = profile.without_call(both, "conv_b")
    # Then the profile is as if it never happened
    found = profile.remembered(left.doc)
    assert found == profile.remembered(fold([first]).doc)
    assert (found.name, found.calls, found.follow_up) == ("Priya Raman", 1, "Text Priya the time")
    assert found.facts == ["dentist: Dr. Ortiz"]
    assert left.seen == [[T0, "conv_a"]]
    # and removing it again, or a call the profile never held, changes nothing
    assert profile.without_call(left, "conv_b") is None
    assert profile.without_call(left, "conv_never") is None
    assert profile.without_call(None, "conv_b") is None


brief_calls = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),
        st.sampled_from(["", "Call back Friday", "Send the quote", "none"]),
        st.booleans(),
        st.sampled_from(["", "contact: email", "contact: phone; time: mornings", "time: evenings"]),
        st.sampled_from(["", "Maria", "Ana"]),
    ),
    min_size=1,
    max_size=5,
)


def brief_jobs(spec) -> list[Job]:
    return [
        brief_job(
            f"conv_{i}",
            start,
            follow_up=follow_up,
            follow_up_done=done,
            preferences=prefs,
            caller_name=name or None,
            title=f"Call {i}",
        )
        for i, (start, follow_up, done, prefs, name) in enumerate(spec)
    ]


@settings(max_examples=150, deadline=None)
@given(brief_calls, st.randoms(use_true_random=False), st.integers(min_value=0, max_value=3))
def test_the_brief_does_not_depend_on_the_order_calls_arrive_in(spec, rnd, repeats):
    # Given calls with follow-ups, settlements and preferences, arriving in any order, some repeated
    jobs = brief_jobs(spec)
    arrival = jobs + [rnd.choice(jobs) for _ in range(repeats)]
    rnd.shuffle(arrival)
    in_order = fold(sorted(jobs, key=lambda j: (j.started, j.conversation_id)))
    # Then the profile is the one the calls make in order
    assert fold(arrival) == in_order
    # And the open follow-up is the newest one left, unless a call at or after it settled one
    place = lambda j: (j.started, j.conversation_id)  # noqa: E731
    left = [j for j in jobs if j.data_collection.get("follow_up") not in ("", "none")]
    newest = max(left, key=place) if left else None
    closed = newest is not None and any(j.follow_up_done and place(j) > place(newest) for j in jobs)
    expected = "" if newest is None or closed else newest.data_collection["follow_up"]
    assert profile.remembered(in_order.doc).follow_up == expected


@settings(max_examples=150, deadline=None)
@given(brief_calls, st.data())
def test_removing_a_call_gives_the_brief_the_other_calls_make(spec, data):
    # Given up to five calls (all within the recent window), When one of them is removed
    jobs = brief_jobs(spec)
    gone = data.draw(st.sampled_from(jobs))
    left = profile.without_call(fold(jobs), gone.conversation_id)
    others = [j for j in jobs if j is not gone]
    # Then the brief is the one the other calls make (or nothing is left)
    if others:
        assert profile.remembered(left.doc) == profile.remembered(fold(others).doc)
    else:
        assert left.doc["calls"] == 0
        assert profile.remembered(left.doc).recent == ()
