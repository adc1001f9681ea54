"""How the worker reads Mem0's refusals (stores.mem0): a 429 is waited for outside the invocation, and only a
refusal that stored nothing clears a write's "sending" mark."""

from __future__ import annotations

import pytest

from agentic_memory.stores import mem0 as memory


def mem0_error(name, **kwargs):
    memory._memory_client_class()  # mem0's modules, loaded the lean way
    from mem0 import exceptions

    return getattr(exceptions, name)(message="injected", error_code="TEST", **kwargs)


def test_a_429_is_raised_at_once_when_the_worker_waits_for_its_turn_elsewhere():
    calls = []

    def work():
        calls.append(1)
        raise mem0_error("RateLimitError", debug_info={"retry_after": 7})

    with pytest.raises(Exception) as raised:  # noqa: PT011 - mem0's own class, checked below
        memory.with_retries(work, retry_throttled=False, sleep=lambda _: None)
    assert memory.throttled_for(raised.value) == 7.0
    assert len(calls) == 1
    # The interactive default still retries it in place, honouring Retry-After
    calls.clear()
    sleeps: list[float] = []
    with pytest.raises(Exception):  # noqa: B017, PT011
        memory.with_retries(work, sleep=sleeps.append)
    assert sleeps == [7.0, 7.0]


def test_retry_after_is_mem0s_or_the_sdks_documented_60_seconds():
    assert memory.throttled_for(mem0_error("RateLimitError", debug_info={"retry_after": 3})) == 3.0
    assert memory.throttled_for(mem0_error("RateLimitError", debug_info={})) == 60.0
    assert memory.throttled_for(mem0_error("NetworkError")) is None


@pytest.mark.parametrize(
    ("name", "stored_nothing"),
    [
        ("RateLimitError", True),
        ("ValidationError", True),
        ("AuthenticationError", True),
        ("MemoryQuotaExceededError", True),
        ("NetworkError", False),  # a timeout: Mem0 may have stored it before the answer was lost
        ("MemoryError", False),  # a 500: the same
    ],
)
def test_only_a_refusal_that_stored_nothing_counts_as_one(name, stored_nothing):
    assert memory.refused(mem0_error(name)) is stored_nothing
