"""The worker's bounded retries (stores.mem0) and the one deadline for outside calls (stores.deadline)."""

from __future__ import annotations

import time

import pytest

from agentic_memory.errors import MemoryUnavailable, Unavailable
from agentic_memory.stores import deadline
from agentic_memory.stores import mem0 as memory


def mem0_error(name, **kwargs):
    memory._memory_client_class()  # makes sure mem0's modules are loaded the lean way
    from mem0 import exceptions

    return getattr(exceptions, name)(message="injected", error_code="TEST", **kwargs)


def flaky(errors):
    calls = []

    def work():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return work, calls


@pytest.mark.parametrize("name", ["NetworkError", "MemoryError"])
def test_passing_errors_are_retried(name):
    work, calls = flaky([mem0_error(name), mem0_error(name)])
    sleeps = []
    assert memory.with_retries(work, sleep=sleeps.append) == "ok"
    assert len(calls) == 3
    assert sleeps == [0.5, 1.0]


def test_rate_limits_honour_retry_after():
    work, _ = flaky([mem0_error("RateLimitError", debug_info={"retry_after": 7})])
    sleeps = []
    memory.with_retries(work, sleep=sleeps.append)
    assert sleeps == [7.0]


@pytest.mark.parametrize("name", ["AuthenticationError", "ValidationError", "MemoryQuotaExceededError"])
def test_errors_that_cannot_pass_are_raised_at_once(name):
    work, calls = flaky([mem0_error(name)])
    with pytest.raises(Exception, match="injected"):
        memory.with_retries(work, sleep=lambda _: None)
    assert len(calls) == 1


def test_gives_up_after_the_attempts():
    work, calls = flaky([mem0_error("NetworkError") for _ in range(5)])
    with pytest.raises(Exception, match="injected"):
        memory.with_retries(work, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3


def test_does_not_retry_past_the_time_left():
    work, calls = flaky([mem0_error("NetworkError"), mem0_error("NetworkError")])
    with pytest.raises(Exception, match="injected"):
        memory.with_retries(work, time_left=lambda: 1.0, sleep=lambda _: None)
    assert len(calls) == 1


def test_within_bounds_the_whole_wait():
    started = time.perf_counter()
    with pytest.raises(Unavailable, match=r"ElevenLabs did not answer within 0\.20 s"):
        deadline.within(0.2, lambda: time.sleep(2), service="ElevenLabs")
    assert time.perf_counter() - started < 1.0


def test_within_turns_failures_into_unavailable_naming_the_service_and_the_error_type_only():
    def fail():
        raise RuntimeError("down at https://secret.example/key")

    with pytest.raises(Unavailable, match=r"^Mem0 failed: RuntimeError$"):
        deadline.within(1, fail)
    assert deadline.within(1, lambda: 42) == 42


def test_within_passes_a_services_own_unavailable_through():
    def fail():
        raise MemoryUnavailable("MEM0_API_KEY is not set")

    with pytest.raises(MemoryUnavailable, match="MEM0_API_KEY is not set"):
        deadline.within(1, fail)


def test_a_client_that_could_not_be_built_is_retried():
    work, calls = flaky([MemoryUnavailable("Mem0 ping failed")])
    assert memory.with_retries(work, sleep=lambda _: None) == "ok"
    assert len(calls) == 2
