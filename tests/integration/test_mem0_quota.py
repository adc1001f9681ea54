"""The Mem0 stand-in's quota (standins/mem0_quota.py) seen through mem0ai's real MemoryClient: off by default,
a budget of adds and one of other requests, 429 with an integer Retry-After that the SDK turns into
RateLimitError.debug_info["retry_after"] (mem0/client/utils.py), and the peak asked per window."""

from __future__ import annotations

import json
import urllib.request

import httpx
import pytest
from mem0 import MemoryClient
from mem0.exceptions import RateLimitError

from standins.mem0 import running_mem0_server
from standins.mem0_quota import Limit, Quota, peak_in_window

KEY = "quota-test-key"


def client_for(server) -> MemoryClient:
    return MemoryClient(api_key=KEY, host=server.url, client=httpx.Client(timeout=5))


def add(client: MemoryClient, n: int):
    return client.add([{"role": "user", "content": f"fact number {n}"}], user_id="u1", infer=False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_a_quota_nothing_is_refused():
    with running_mem0_server(api_key=KEY) as server:
        client = client_for(server)
        for n in range(30):
            add(client, n)
        assert server.quota.peaks()["add"] == {
            "limit": None,
            "window_seconds": 60.0,
            "peak": 30,
            "asked": 30,
            "throttled": 0,
        }


def test_beyond_the_add_budget_mem0ai_raises_rate_limit_error_with_retry_after():
    # Given a stand-in that allows 3 adds a minute
    with running_mem0_server(api_key=KEY, quota=Quota(Limit.parse("3/min"))) as server:
        client = client_for(server)  # the constructor's ping is another request: not an add
        for n in range(3):
            add(client, n)
        # When a fourth add comes within the minute
        with pytest.raises(RateLimitError) as refused:
            add(client, 3)
        # Then mem0ai reports Mem0's Retry-After as an integer of seconds, at most the window
        retry_after = refused.value.debug_info["retry_after"]
        assert isinstance(retry_after, int)
        assert 1 <= retry_after <= 60
        # And the refused add stored nothing, and was counted as asked and throttled
        assert server.store.count() == 3
        peaks = server.quota.peaks()["add"]
        assert (peaks["asked"], peaks["throttled"], peaks["peak"]) == (4, 1, 4)
        # And other requests have a budget of their own (none here): a search still works
        assert client.search("fact", filters={"user_id": "u1"})["results"]


def test_other_requests_have_their_own_budget():
    with running_mem0_server(api_key=KEY, quota=Quota(None, Limit.parse("2/min"))) as server:
        client = client_for(server)  # the ping: 1 of 2
        client.get_all(filters={"user_id": "u1"})  # 2 of 2
        with pytest.raises(RateLimitError):
            client.search("anything", filters={"user_id": "u1"})
        add(client, 1)  # adds are not limited
        assert server.quota.peaks()["other"]["throttled"] == 1


def test_the_window_slides_a_request_comes_through_once_the_oldest_leaves_it():
    clock = Clock()
    quota = Quota(Limit(2, 10.0), clock=clock)
    assert quota.admit("POST", "/v3/memories/add/") is None  # t=1000
    clock.now = 1004.0
    assert quota.admit("POST", "/v3/memories/add/") is None  # t=1004
    clock.now = 1009.5
    # The window (999.5, 1009.5] still holds both: refused, Retry-After until t=1010 rounded up
    assert quota.admit("POST", "/v3/memories/add/") == 1
    clock.now = 1010.0
    assert quota.admit("POST", "/v3/memories/add/") is None  # the first one left the window
    assert quota.peaks()["add"]["peak"] == 3  # asked: 1004, 1009.5, 1010 within 10 s


def test_the_quota_is_set_at_run_time_through_the_admin_endpoint_and_reported_in_stats():
    with running_mem0_server(api_key=KEY) as server:
        request = urllib.request.Request(
            server.url + "/_admin/quota/",
            data=json.dumps({"add_limit": "200/6s", "request_limit": "off"}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read()) == {"add_limit": "200/6s", "request_limit": None}
        with urllib.request.urlopen(server.url + "/_admin/stats/", timeout=5) as response:
            stats = json.loads(response.read())
        assert stats["quota"]["add_limit"] == "200/6s"
        assert stats["quota"]["peaks"]["add"]["limit"] == 200
        assert stats["quota"]["peaks"]["add"]["window_seconds"] == 6.0


def test_the_admin_read_spends_no_budget():
    with running_mem0_server(api_key=KEY, quota=Quota(None, Limit.parse("1/min"))) as server:
        server.store.add([{"role": "user", "content": "kept fact"}], user_id="u1", infer=False)
        for _ in range(3):
            request = urllib.request.Request(
                server.url + "/_admin/memories/", data=json.dumps({"filters": {"user_id": "u1"}}).encode()
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert [m["memory"] for m in json.loads(response.read())["results"]] == ["kept fact"]
        assert server.quota.peaks()["other"]["asked"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1000/min", Limit(1000, 60.0)), ("200/6s", Limit(200, 6.0)), ("5/s", Limit(5, 1.0)), ("off", None), ("", None)],
)
def test_limits_read_as_the_cli_and_env_give_them(text, expected):
    assert Limit.parse(text) == expected


@pytest.mark.parametrize("text", ["1000", "1000/hour", "-1/min", "x/min"])
def test_a_limit_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="limit"):
        Limit.parse(text)


def test_the_peak_counts_every_request_in_a_half_open_window():
    times = [0.0, 1.0, 2.0, 9.99, 10.0, 10.5]
    # (0.5, 10.5] holds 1, 2, 9.99, 10, 10.5; a request exactly one window before another is not with it
    assert peak_in_window(times, 10.0) == 5
    assert peak_in_window([], 10.0) == 0
