"""The caller profile end to end: the worker keeps it in DynamoDB (moto's server), client_data greets from it.

client_data's read is a signed httpx request and the worker's writes go through boto3: both reach the
same local DynamoDB server (``profile_table`` fixture), so what one writes the other reads.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from agentic_memory.config import get_settings
from agentic_memory.domain.job import Job
from agentic_memory.stores import aws_clients as aws
from agentic_memory.stores import mem0 as memory
from agentic_memory.stores import profile_reader
from agentic_memory.stores import profile_table as profile_store
from client_data.handler import lambda_handler as client_data_handler
from post_call.handler import lambda_handler as post_call_handler
from tests.support import CALLER, WORKSPACE_KEY, LambdaContext, body_of, http_event, load_event

OUR_NUMBER = "+18005551234"  # events/post_call_job.json's agent_number
T0 = 1_795_253_400  # events/post_call_job.json's start


def job_event(conversation: str = "conv_first", started: int = T0, **changes: Any) -> dict[str, Any]:
    event = load_event("post_call_job.json")
    event.update(conversation_id=conversation, start_time_unix_secs=started, **changes)
    return event


def run(event: dict[str, Any]) -> dict[str, Any]:
    return post_call_handler(event, LambdaContext())


def greet(caller_id: str = CALLER, **fields: Any) -> tuple[dict[str, str], dict[str, str]]:
    body = {"caller_id": caller_id, "agent_id": "agent_7101k0example", "called_number": OUR_NUMBER, **fields}
    response = client_data_handler(
        http_event("/client-data", body, {"x-workspace-key": WORKSPACE_KEY}), LambdaContext()
    )
    assert response["statusCode"] == 200
    return body_of(response)["dynamic_variables"], response["headers"]


def item(table: str, pk: str = CALLER, sk: str = "shared") -> dict[str, Any] | None:
    return (
        aws.client("dynamodb")
        .get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
        .get("Item")
    )


def doc(table: str, pk: str = CALLER, sk: str = "shared") -> dict[str, Any]:
    found = item(table, pk, sk)
    assert found is not None
    return json.loads(found["doc"]["S"])


def mem0_memory_requests(server) -> list[Any]:
    return [r for r in server.requests if "/memories" in r.path]


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port that accepts connections and never answers: Mem0 hanging."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def point_mem0_at(monkeypatch: pytest.MonkeyPatch, url: str, budget: float = 1.0) -> None:
    monkeypatch.setenv("MEM0_HOST", url)
    monkeypatch.setenv("MEM0_INTERACTIVE_TIMEOUT", str(budget))
    get_settings.cache_clear()
    memory.reset_clients()


# --------------------------------------------------------------------------- the worker keeps it


def test_the_worker_writes_the_profile_after_the_memories(mem0_server, profile_table):
    # Given a finished call, When the worker runs its job
    assert run(job_event())["status"] == "written"
    # Then the caller's profile holds the call
    kept = doc(profile_table)
    assert kept["name"] == "Maria Lopez"
    assert kept["calls"] == 1
    assert kept["last"]["conversation_id"] == "conv_first"
    assert kept["last"]["summary"].startswith("Maria Lopez called about her order")
    assert kept["last"]["outcome"] == "success"
    assert kept["facts"]["delivery_preference"]["value"] == "weekday mornings"
    assert kept["first_seen"] == kept["last_seen"] == T0
    raw = item(profile_table)
    assert raw["kind"]["S"] == "profile"
    assert int(raw["last_started"]["N"]) == T0
    assert "expires_at" not in raw  # no retention configured: kept


def test_a_repeated_job_changes_nothing(mem0_server, profile_table):
    run(job_event())
    before = item(profile_table)
    # When the same job runs again (a Lambda retry, a replay from the dead-letter queue)
    run(job_event())
    # Then the item is exactly as it was: not counted twice, not even rewritten
    assert item(profile_table) == before
    assert doc(profile_table)["calls"] == 1


def test_an_older_call_arriving_after_a_newer_one_leaves_the_newer_one_last(mem0_server, profile_table):
    # Given the newer call's job ran first, When the older call's job arrives late
    run(job_event("conv_newer", T0 + 3600, summary="The newer call.", caller_name=None))
    run(job_event("conv_older", T0, summary="The older call.", caller_name="Mary Older"))
    # Then the newer call is the last call; the older one is counted and gave the only name
    kept = doc(profile_table)
    assert kept["last"]["conversation_id"] == "conv_newer"
    assert kept["last"]["summary"] == "The newer call."
    assert kept["calls"] == 2
    assert kept["name"] == "Mary Older"
    assert kept["first_seen"] == T0
    # and a greeting says so
    dynamic, _ = greet()
    assert dynamic["last_call_summary"] == "The newer call."


def test_concurrent_jobs_for_one_caller_lose_nothing(profile_table):
    # Given eight calls of one caller, When their profile updates run at the same moment
    jobs = [
        Job.model_validate(
            job_event(f"conv_{i}", T0 + i * 60, summary=f"Call {i}.", caller_name=f"Name {'ABCDEFGH'[i]}")
        )
        for i in range(8)
    ]
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def update(one: Job) -> None:
        barrier.wait()
        try:
            profile_store.update(one)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=update, args=(one,)) for one in reversed(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every call is counted once and the newest is the last call, whatever order they landed in
    assert errors == []
    kept = doc(profile_table)
    assert kept["calls"] == 8
    assert kept["last"]["summary"] == "Call 7."
    assert kept["name"] == "Name H"
    assert sorted(c for _, c in json.loads(item(profile_table)["calls_seen"]["S"])) == [f"conv_{i}" for i in range(8)]


def test_the_profile_takes_the_callers_recent_mem0_facts_read_at_the_start_of_a_job(mem0_server, profile_table):
    # Given a first call whose collected field went to Mem0 as a fact
    run(job_event("conv_1", T0))
    # When the next call's job runs
    run(job_event("conv_2", T0 + 3600, data_collection={}))
    # Then the profile holds the facts that Mem0 had when that job started, without summaries or names
    mem0 = doc(profile_table)["mem0"]
    assert "Delivery preference: weekday mornings" in mem0["facts"]
    summary = load_event("post_call_job.json")["summary"]
    assert summary not in mem0["facts"]
    assert "Caller's name is Maria Lopez." not in mem0["facts"]
    assert mem0["name"] == "Maria Lopez"


def test_a_mem0_failure_reading_for_the_profile_never_fails_the_jobs_writes(mem0_server, profile_table, monkeypatch):
    # Given Mem0 failing the profile's read (and only it)
    def broken(self, *args, **kwargs):
        raise RuntimeError("Mem0 read failed")

    monkeypatch.setattr(memory.MemoryStore, "recent", broken)
    # When the job runs, Then its memories are written and the profile too, without a Mem0 part
    assert run(job_event())["status"] == "written"
    kept = doc(profile_table)
    assert kept["name"] == "Maria Lopez"
    assert kept["mem0"] is None


def test_a_dynamodb_failure_writing_the_profile_fails_the_job_so_lambda_retries(
    mem0_server, profile_table, monkeypatch
):
    # Given DynamoDB refusing the profile's write (the worker's own-line check reads the same table first,
    # so the failure is put where the profile is written: its PutItem)
    from botocore.exceptions import ClientError

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == profile_table:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}}, "PutItem")

    client = aws.client("dynamodb")
    client.meta.events.register("before-parameter-build.dynamodb.PutItem", refuse)
    try:
        with pytest.raises(Exception, match=r"ResourceNotFound|non-existent|not found"):
            run(job_event())
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.PutItem", refuse)
    # and the retry, once DynamoDB is back, writes the profile without writing the memories again
    mem0_server.clear_requests()
    assert run(job_event())["status"] == "duplicate"
    assert not [r for r in mem0_server.requests if r.path.startswith("/v3/memories/add")]
    assert doc(profile_table)["calls"] == 1


def test_retention_expires_the_profile_and_an_expired_one_is_not_used(mem0_server, profile_table):
    # Given a call whose memories expire in 30 days (MEMORY_RETENTION_DAYS, set on the job at the webhook)
    expires = date.today() + timedelta(days=30)
    run(job_event(expires_on=expires.isoformat()))
    assert int(item(profile_table)["expires_at"]["N"]) == int(
        datetime(expires.year, expires.month, expires.day, tzinfo=UTC).timestamp()
    )
    # When the expiry has passed but DynamoDB has not removed the item yet
    past = int(time.time()) - 60
    aws.client("dynamodb").update_item(
        TableName=profile_table,
        Key={"pk": {"S": CALLER}, "sk": {"S": "shared"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(past)}},
    )
    # Then client_data does not use it
    _, headers = greet()
    assert headers["x-memory-source"] == "mem0"


# --------------------------------------------------------------------------- client_data greets from it


def test_a_returning_caller_is_greeted_from_the_profile_without_asking_mem0(mem0_server, profile_table):
    run(job_event())
    mem0_server.clear_requests()
    # When the caller calls again
    dynamic, headers = greet()
    # Then the greeting comes from the profile, and Mem0 was not asked
    assert headers["x-memory-source"] == "profile"
    assert mem0_memory_requests(mem0_server) == []
    assert dynamic["returning_caller"] == "yes"
    assert dynamic["caller_name"] == "Maria Lopez"
    assert dynamic["greeting"].startswith("Welcome back, Maria Lopez")
    assert dynamic["last_call_summary"].startswith("Maria Lopez called about her order")
    assert "Delivery preference: weekday mornings" in dynamic["memory_context"]


@pytest.mark.parametrize("mem0", ["down", "hanging"])
def test_mem0_down_or_hanging_a_returning_caller_is_still_greeted_by_name(
    mem0_server, profile_table, monkeypatch, hanging_port, mem0
):
    run(job_event())
    # Given Mem0 refusing connections, or accepting them and never answering
    if mem0 == "down":
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
    else:
        port = hanging_port
    point_mem0_at(monkeypatch, f"http://127.0.0.1:{port}", budget=1.0)
    # When the caller calls
    started = time.perf_counter()
    dynamic, headers = greet()
    elapsed = time.perf_counter() - started
    # Then they are greeted by name with the last call's summary, without waiting for Mem0's budget
    assert headers["x-memory-source"] == "profile"
    assert dynamic["greeting"].startswith("Welcome back, Maria Lopez")
    assert dynamic["last_call_summary"].startswith("Maria Lopez called about her order")
    assert elapsed < 0.5


def test_without_a_profile_the_mem0_path_serves_as_before(mem0_server, profile_table):
    # Given memories from before the profile existed, and no profile
    mem0_server.store.add(
        [{"role": "user", "content": "Caller's name is Ana Ruiz."}, {"role": "user", "content": "Owns a red bike"}],
        user_id=CALLER,
        metadata={"kind": "fact", "caller_name": "Ana Ruiz"},
        infer=False,
    )
    # When the caller calls, Then Mem0 answers the greeting
    dynamic, headers = greet()
    assert headers["x-memory-source"] == "mem0"
    assert dynamic["caller_name"] == "Ana Ruiz"
    assert "Owns a red bike" in dynamic["memory_context"]
    assert mem0_memory_requests(mem0_server)


def test_a_new_caller_is_new_on_either_path(mem0_server, profile_table):
    dynamic, headers = greet("+15550009999")
    assert dynamic["returning_caller"] == "no"
    assert headers["x-memory-source"] == "mem0"


def test_dynamodb_failing_falls_back_to_mem0_and_never_fails_the_call(mem0_server, profile_table, monkeypatch):
    mem0_server.store.add(
        [{"role": "user", "content": "Owns a red bike"}], user_id=CALLER, metadata={"kind": "fact"}, infer=False
    )
    # Given the profile table gone (any DynamoDB error)
    monkeypatch.setenv("PROFILE_TABLE", "no-such-table")
    get_settings.cache_clear()
    profile_reader.reset()
    # When the caller calls, Then Mem0 answers and the call goes on
    dynamic, headers = greet()
    assert headers["x-memory-source"] == "mem0"
    assert dynamic["returning_caller"] == "yes"
    assert "Owns a red bike" in dynamic["memory_context"]


def test_dynamodb_unreachable_falls_back_to_mem0(mem0_server, profile_table, monkeypatch, hanging_port):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{hanging_port}")
    get_settings.cache_clear()
    profile_reader.reset()
    started = time.perf_counter()
    dynamic, headers = greet()
    assert headers["x-memory-source"] == "mem0"
    assert dynamic["returning_caller"] == "no"
    assert time.perf_counter() - started < get_settings().interactive_timeout + 0.5


def test_without_credentials_in_the_environment_the_profile_is_read_with_boto3(
    mem0_server, profile_table, monkeypatch, tmp_path
):
    # Given a runtime that puts no credentials in the environment (SnapStart serves them from a container
    # endpoint; here boto3 finds them in a file)
    run(job_event())
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    get_settings.cache_clear()
    profile_reader.reset()
    aws.reset_clients()
    # When the caller calls, Then the greeting still comes from the profile
    dynamic, headers = greet()
    assert isinstance(profile_reader._reader, profile_reader._Boto3Reader)
    assert headers["x-memory-source"] == "profile"
    assert dynamic["caller_name"] == "Maria Lopez"


def test_an_outbound_call_from_our_number_greets_the_person_dialled(mem0_server, profile_table):
    # Given the customer's profile, and a finished outbound call from OUR_NUMBER (AGENT_PHONE_NUMBERS unset)
    run(job_event())
    run(job_event("conv_outbound", T0 + 60, direction="outbound"))
    # Then OUR_NUMBER is marked in the marks' own key space, and nothing was written at its caller key
    mark = item(profile_table, pk="own-lines", sk=OUR_NUMBER)
    assert mark["kind"] == {"S": "own_line"}
    assert int(mark["outbound_until"]["N"]) > time.time()
    assert item(profile_table, pk=OUR_NUMBER) is None
    # When we call the customer: ElevenLabs sends our number as caller_id and theirs as called_number
    dynamic, headers = greet(OUR_NUMBER, called_number=CALLER, call_sid="CA0123")
    # Then the customer is the caller, greeted from their profile
    assert headers["x-memory-source"] == "profile"
    assert dynamic["caller_id"] == CALLER
    assert dynamic["caller_name"] == "Maria Lopez"


def test_agent_scope_keeps_profiles_apart(mem0_server, profile_table, monkeypatch):
    monkeypatch.setenv("MEMORY_SCOPE", "agent")
    get_settings.cache_clear()
    # Given one caller's calls with two agents
    run(job_event("conv_a", T0, agent_id="agent_a", app_id="agent_a", summary="Talked to agent A."))
    run(job_event("conv_b", T0 + 60, agent_id="agent_b", app_id="agent_b", summary="Talked to agent B."))
    # When the caller calls each agent, Then each greets from its own profile
    dynamic_a, source_a = greet(agent_id="agent_a")
    dynamic_b, source_b = greet(agent_id="agent_b")
    assert source_a["x-memory-source"] == source_b["x-memory-source"] == "profile"
    assert dynamic_a["last_call_summary"] == "Talked to agent A."
    assert dynamic_b["last_call_summary"] == "Talked to agent B."
    assert doc(profile_table, sk="agent#agent_a")["calls"] == 1
    # and a third agent has no profile of them
    _, source_c = greet(agent_id="agent_c")
    assert source_c["x-memory-source"] == "mem0"


# --------------------------------------------------------------------------- forget and export


def test_export_and_forget_cover_every_scope_of_the_caller_and_nobody_else(mem0_server, profile_table):
    run(job_event("conv_shared", T0))
    profile_store.update(Job.model_validate(job_event("conv_agent", T0 + 60, app_id="agent_x")))
    run(job_event("conv_other", T0, caller_id="+15550001111"))
    # When the caller's profile is exported
    exported = profile_store.export(CALLER)
    assert {entry["scope"] for entry in exported} == {"shared", "agent#agent_x"}
    shared = next(entry for entry in exported if entry["scope"] == "shared")
    assert shared["kind"] == "profile"
    assert shared["profile"]["name"] == "Maria Lopez"
    assert shared["calls_counted"] == [[T0, "conv_shared"]]
    json.dumps(exported)  # plain JSON
    # and forgotten
    assert profile_store.forget(CALLER) == 2
    # Then nothing of theirs is left, the other caller's profile is, and the greeting knows them no more
    assert profile_store.export(CALLER) == []
    assert item(profile_table, pk="+15550001111") is not None
    _, headers = greet()
    assert headers["x-memory-source"] == "mem0"


def test_forget_and_export_refuse_what_is_no_identity(profile_table):
    for bad in ("*", "", "web:*"):
        with pytest.raises(ValueError, match="not a caller identity"):
            profile_store.forget(bad)
        with pytest.raises(ValueError, match="not a caller identity"):
            profile_store.export(bad)


def test_without_a_profile_table_nothing_is_read_or_written(mem0_server, monkeypatch):
    monkeypatch.delenv("PROFILE_TABLE", raising=False)
    get_settings.cache_clear()
    assert run(job_event())["status"] == "written"
    assert profile_store.export(CALLER) is None
    _, headers = greet()
    assert headers["x-memory-source"] == "mem0"


def test_the_table_the_fixture_makes_is_the_templates(profile_table, moto_server):
    # The fixture's key schema is the template's (tests/infra/test_profile_table.py checks the template side).
    described = boto3.client("dynamodb", endpoint_url=moto_server).describe_table(TableName=profile_table)["Table"]
    assert described["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
