"""Each log line names the function it came from, also where several functions share one process (make dev
runs the post-call worker on a thread while client-data answers on another: issue 24)."""

from __future__ import annotations

import io
import json
import threading

import pytest

from agentic_memory.observability import logger, use_service


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Powertools' log handler pointed at a buffer (it keeps the stream it was built with)."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return stream


def test_a_thread_keeps_its_own_service_while_another_thread_names_another(log_stream):
    # Given the worker's thread named post-call, waiting
    named, resume = threading.Event(), threading.Event()

    def worker() -> None:
        logger.thread_safe_clear_keys()
        use_service("post-call")
        named.set()
        resume.wait(5)
        logger.info("job written")

    thread = threading.Thread(target=worker)
    thread.start()
    assert named.wait(5)
    # When a request on another thread names its own service and logs
    logger.thread_safe_clear_keys()
    use_service("client-data")
    logger.info("client data answered")
    resume.set()
    thread.join(5)
    # Then each line carries its own function's name
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.startswith("{")]
    services = {line["message"]: line["service"] for line in lines}
    assert services == {"client data answered": "client-data", "job written": "post-call"}
    logger.thread_safe_clear_keys()
