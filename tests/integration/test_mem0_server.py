"""The local Mem0 stand-in, driven by the real mem0ai MemoryClient so the wire format stays honest."""

import os
import tempfile

# mem0 creates $MEM0_DIR and starts telemetry when imported, so both are settled before the import.
os.environ["MEM0_DIR"] = tempfile.mkdtemp(prefix="mem0-test-")
os.environ["MEM0_TELEMETRY"] = "false"

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mem0 import MemoryClient, exceptions

from devserver.mem0_server import Mem0Server, Mem0Store, running_mem0_server

REPO = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Token test-key"}


@pytest.fixture
def server():
    with running_mem0_server() as srv:
        yield srv


@pytest.fixture
def make_client(server):
    """MemoryClient factory with real timeouts; the constructor pings, so build it before setting faults."""
    opened = []

    def make(*, api_key="test-key", timeout=5.0, target=None):
        http = httpx.Client(timeout=timeout)
        opened.append(http)
        return MemoryClient(api_key=api_key, host=(target or server).url, client=http)

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def client(make_client):
    return make_client()


def remember(client, user_id, *texts, **kwargs):
    """Store each text as its own verbatim memory, one add per text (so creation order is known)."""
    for text in texts:
        client.add([{"role": "user", "content": text}], user_id=user_id, infer=False, **kwargs)


# --------------------------------------------------------------------------- happy paths


def test_constructor_pings_and_gets_org_and_project(server, client):
    assert (client.org_id, client.project_id) == ("local-org", "local-project")
    assert server.knobs.count("GET", "/v1/ping/") == 1


def test_add_verbatim_then_get_all_newest_first_with_metadata(server, client):
    for n, text in enumerate(["first note", "second note", "third note"], start=1):
        answer = client.add([{"role": "user", "content": text}], user_id="alice", infer=False, metadata={"n": n})
        assert [(r["event"], r["memory"]) for r in answer["results"]] == [("ADD", text)]

    page = client.get_all(filters={"user_id": "alice"})

    assert page["count"] == 3
    assert [r["memory"] for r in page["results"]] == ["third note", "second note", "first note"]
    assert [r["metadata"] for r in page["results"]] == [{"n": 3}, {"n": 2}, {"n": 1}]
    assert all(r["user_id"] == "alice" and r["created_at"] and r["updated_at"] for r in page["results"])
    body = next(r.body for r in server.requests if r.path == "/v3/memories/add/")
    assert (body["user_id"], body["infer"], body["messages"][0]["role"]) == ("alice", False, "user")


def test_add_infer_keeps_user_facts_and_dedupes_per_user(client):
    messages = [
        {"role": "user", "content": "Hi. My name is Alice. I am allergic to peanuts. Thank you so much!"},
        {"role": "assistant", "content": "Noted, I will remember that you are allergic to peanuts."},
    ]
    first = client.add(messages, user_id="alice")
    again = client.add([{"role": "user", "content": "my name is ALICE"}], user_id="alice")
    other = client.add([{"role": "user", "content": "My name is Alice."}], user_id="bob")

    assert [r["memory"] for r in first["results"]] == ["My name is Alice.", "I am allergic to peanuts."]
    assert again["results"] == []
    assert [r["memory"] for r in other["results"]] == ["My name is Alice."]
    assert client.get_all(filters={"user_id": "alice"})["count"] == 2


def test_search_ranks_relevant_first_and_never_leaks_other_users(client):
    remember(
        client,
        "alice",
        "I live in Berlin with my partner.",
        "My dog is called Rex and he loves the park.",
        "I prefer morning appointments on Mondays.",
    )
    remember(client, "bob", "My dog is called Bella.", "Dog dog dog called called.")

    results = client.search("What is my dog called?", filters={"user_id": "alice"})["results"]

    assert "Rex" in results[0]["memory"]
    assert {r["user_id"] for r in results} == {"alice"}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0
    assert all(0 < s <= 1 for s in scores)
    assert set(results[0]) >= {"id", "memory", "metadata", "score", "created_at", "updated_at", "categories"}


def test_search_honours_top_k_threshold_and_v2_filters(client):
    remember(client, "carol", *(f"coffee order number {n} was a flat white" for n in range(6)))
    remember(client, "carol", "coffee")

    assert len(client.search("coffee", filters={"user_id": "carol"})["results"]) == 7
    assert len(client.search("coffee", filters={"user_id": "carol"}, top_k=2)["results"]) == 2
    strict = client.search("coffee", filters={"AND": [{"user_id": "carol"}]}, threshold=1.0)["results"]
    assert [r["memory"] for r in strict] == ["coffee"]
    assert client.search("tea", filters={"user_id": "carol"})["results"] == []


def test_get_all_pages(client):
    remember(client, "dave", *(f"fact number {n}" for n in range(5)))

    first = client.get_all(filters={"user_id": "dave"}, page=1, page_size=2)
    last = client.get_all(filters={"AND": [{"user_id": "dave"}]}, page=3, page_size=2)

    assert (first["count"], len(first["results"]), first["previous"]) == (5, 2, None)
    assert "page=2" in first["next"]
    assert (len(last["results"]), last["next"]) == (1, None)
    assert last["results"][0]["memory"] == "fact number 0"


def test_get_and_delete_one_memory(client):
    added = client.add("I moved to Lisbon last spring.", user_id="erin", infer=False)["results"][0]

    assert client.get(added["id"])["memory"] == "I moved to Lisbon last spring."
    assert client.delete(added["id"]) == {"message": "Memory deleted successfully!"}
    with pytest.raises(exceptions.MemoryNotFoundError):
        client.get(added["id"])


def test_delete_all_wipes_only_that_user(server, client):
    remember(client, "alice", "alice likes jazz", "alice likes tea")
    remember(client, "bob", "bob likes jazz")

    assert client.delete_all(user_id="alice") == {"message": "Memories deleted successfully!"}

    assert client.get_all(filters={"user_id": "alice"})["count"] == 0
    assert [r["memory"] for r in client.get_all(filters={"user_id": "bob"})["results"]] == ["bob likes jazz"]
    assert any(r.method == "DELETE" and r.path == "/v1/memories/?user_id=alice" for r in server.requests)


def test_concurrent_adds_are_all_stored(server, client):
    def add(n):
        return client.add(f"caller note {n}", user_id="frank", infer=False)["results"][0]["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(add, range(40)))

    assert len(set(ids)) == 40
    assert client.get_all(filters={"user_id": "frank"})["count"] == 40
    assert server.store.count({"user_id": "frank"}) == 40


def test_file_store_persists_with_its_index(tmp_path):
    db = tmp_path / "nested" / "mem0.sqlite3"
    store = Mem0Store(db)
    store.add([{"role": "user", "content": "I keep bees in the garden."}], user_id="gina", infer=False)
    store.close()

    reopened = Mem0Store(db)
    try:
        assert [r["memory"] for r in reopened.search("bees", {"user_id": "gina"})] == ["I keep bees in the garden."]
        assert reopened.delete_all(user_id="gina") == 1
        assert reopened.search("bees", {"user_id": "gina"}) == []
    finally:
        reopened.close()


# --------------------------------------------------------------------------- bad requests


def test_bad_requests_are_mem0_validation_errors(server, client):
    with pytest.raises(exceptions.ValidationError):
        client.search("x", filters={"user_id": {"in": ["alice", "bob"]}})
    with pytest.raises(exceptions.ValidationError):
        client.search("x", filters={"OR": [{"user_id": "alice"}, {"user_id": "bob"}]})
    with pytest.raises(exceptions.ValidationError):
        client.get_all()
    with pytest.raises(exceptions.ValidationError):
        client.add([{"content": "no role"}], user_id="alice")
    remember(client, "alice", "still here")
    with pytest.raises(exceptions.ValidationError):
        client.delete_all()  # no entity: refused rather than wiping everything
    assert server.store.count() == 1


def test_raw_protocol_errors(server):
    with httpx.Client(base_url=server.url, timeout=5) as http:
        assert http.get("/v1/ping/").status_code == 401
        bad_json = http.post("/v3/memories/search/", content=b"{nope", headers=AUTH)
        assert bad_json.status_code == 400
        assert "Malformed JSON" in bad_json.json()["detail"]
        missing = http.get("/v2/nothing/", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "Not found: GET /v2/nothing/"
        not_a_list = http.post("/v3/memories/add/", json={"messages": "hi", "user_id": "a"}, headers=AUTH)
        assert not_a_list.status_code == 400
        no_entity = http.post("/v3/memories/add/", json={"messages": [{"role": "user", "content": "x"}]}, headers=AUTH)
        assert no_entity.status_code == 400


def test_body_limit_is_413():
    with Mem0Server(max_body_bytes=1000) as srv, httpx.Client(base_url=srv.url, timeout=5) as http:
        big = {"messages": [{"role": "user", "content": "x" * 3000}], "user_id": "a"}
        assert http.post("/v3/memories/add/", json=big, headers=AUTH).status_code == 413
        assert http.get("/v1/ping/", headers=AUTH).status_code == 200  # the connection survives


def test_wrong_api_key():
    with running_mem0_server(api_key="right-key") as srv, httpx.Client(timeout=5) as http:
        # The constructor's ping turns the 401 into a plain ValueError.
        with pytest.raises(ValueError, match="Invalid API key"):
            MemoryClient(api_key="wrong-key", host=srv.url, client=http)
        client = MemoryClient(api_key="right-key", host=srv.url, client=http)
        srv.api_key = "rotated-key"  # later calls raise mem0's own AuthenticationError
        with pytest.raises(exceptions.AuthenticationError) as caught:
            client.get_all(filters={"user_id": "alice"})
        assert caught.value.debug_info["status_code"] == 401


# --------------------------------------------------------------------------- faults


def test_rate_limit_carries_retry_after(server, client):
    server.knobs.update(fail_status=429, retry_after=7)

    with pytest.raises(exceptions.RateLimitError) as caught:
        client.search("anything", filters={"user_id": "alice"})

    assert caught.value.debug_info["retry_after"] == 7
    assert caught.value.debug_info["status_code"] == 429


@pytest.mark.parametrize(("status", "error"), [(503, exceptions.NetworkError), (500, exceptions.MemoryError)])
def test_server_errors(server, client, status, error):
    server.knobs.fail_status = status

    with pytest.raises(error) as caught:
        client.add("I like sailing on weekends.", user_id="alice")

    assert isinstance(caught.value, exceptions.MemoryError)
    assert server.store.count() == 0


def test_fail_times_recovers(server, client):
    server.knobs.update(fail_status=503, fail_times=1)

    with pytest.raises(exceptions.NetworkError):
        client.add("I like sailing on weekends.", user_id="alice")
    client.add("I like sailing on weekends.", user_id="alice")

    assert server.knobs.count("POST", "/v3/memories/add/") == 2
    assert server.knobs.fail_status is None
    assert server.store.count() == 1


def test_delay_beyond_read_timeout_is_a_quick_network_error(server, make_client):
    client = make_client(timeout=httpx.Timeout(5.0, read=0.1))
    server.knobs.delay_seconds = 0.3

    started = time.monotonic()
    with pytest.raises(exceptions.NetworkError) as caught:
        client.search("anything", filters={"user_id": "alice"})

    assert time.monotonic() - started < 0.29
    assert caught.value.debug_info["error_type"] == "timeout"


def test_hang_times_out_and_close_wakes_the_handler(make_client):
    srv = Mem0Server().start()
    client = make_client(timeout=httpx.Timeout(5.0, read=0.2), target=srv)
    srv.knobs.hang = True

    with pytest.raises(exceptions.NetworkError):
        client.get_all(filters={"user_id": "alice"})

    started = time.monotonic()
    srv.close()
    assert time.monotonic() - started < 2


def test_admin_endpoints(server, client):
    client.get_all(filters={"user_id": "alice"})
    with httpx.Client(base_url=server.url, timeout=5) as admin:
        stats = admin.get("/_admin/stats").json()
        assert stats["requests"] == {"GET /v1/ping/": 1, "POST /v3/memories/": 1}
        assert (stats["total"], stats["memories"]) == (2, 0)

        assert admin.post("/_admin/knobs", json={"fail_status": 503, "fail_times": 1}).json()["fail_times"] == 1
        with pytest.raises(exceptions.NetworkError):
            client.get_all(filters={"user_id": "alice"})
        assert admin.post("/_admin/knobs", json={"bogus": 1}).status_code == 400

        assert admin.post("/_admin/reset").json() == {"status": "ok"}
        assert admin.get("/_admin/stats").json()["requests"] == {}
        assert server.requests == []


# --------------------------------------------------------------------------- hostile queries

FTS_SYNTAX = ['"', "'", "*", "NEAR", "NEAR(", "-", "(", ")", "AND", "OR", "NOT", "^", ":", "+", "{", "}", "memory:"]
WORDS = ["dog", "jazz", "peanuts", "Berlin", "called"]


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.one_of(
        st.text(min_size=1, max_size=60),
        st.lists(st.one_of(st.sampled_from(FTS_SYNTAX + WORDS), st.text(max_size=8)), min_size=1, max_size=8).map(
            " ".join
        ),
    )
)
def test_search_survives_any_text_and_stays_in_its_lane(seeded_client, query):
    if not query.strip():
        with pytest.raises(ValueError, match="Invalid query"):  # the client refuses blank queries itself
            seeded_client.search(query, filters={"user_id": "alice"})
        return
    results = seeded_client.search(query, filters={"user_id": "alice"})["results"]
    assert all(r["user_id"] == "alice" for r in results)


@pytest.fixture
def seeded_client(client):
    for user in ("alice", "bob"):
        remember(client, user, *(f"{user} says the {word} is NEAR (the) * end" for word in WORDS))
    return client


# --------------------------------------------------------------------------- command line


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "stop"),
    [
        (["-m", "devserver.mem0_server"], signal.SIGINT),
        ([str(REPO / "scripts" / "devserver" / "mem0_server.py")], signal.SIGTERM),
    ],
)
def test_cli_serves_and_exits_cleanly(tmp_path, argv, stop):
    db = tmp_path / "cli.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    with subprocess.Popen(
        [sys.executable, *argv, "--port", "0", "--db", str(db), "--api-key", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            ping = httpx.get(f"{url}/v1/ping/", headers={"Authorization": "Token k"}, timeout=5)
            assert ping.json()["org_id"] == "local-org"
            proc.send_signal(stop)
            assert proc.wait(timeout=5) == 0
        finally:
            proc.kill()
    assert db.exists()
