"""Part e, redaction: what redacting a 120 KB transcript costs, this tree's redaction against a git revision's
(``--redaction-baseline``, main by default), and the post-call acknowledgement's latency on such a long call
with redaction on and off.

Cost: each sample is a fresh interpreter that imports ``agentic_memory.domain.redaction`` from one tree (this
one, or the revision's ``src/`` extracted by ``environments.checkout_src``), builds the transcripts below,
and reports the median CPU time (``time.process_time``) of ``redact_turns`` over a few calls; the two arms
are taken round by round in a rotating order (``timing.interleaved``) so that the machine's load falls on
both, and compared by their medians. Any revision works, whatever the shape of its redaction (one module or
a package), since only its public ``redact_turns`` is called.

Acknowledgement: the post-call handler imported once (a warm container), fed the same signed long call over
and over, alternately with ``REDACT_PII`` on and off, so both see the same moment's load; p50 and p95 of
each, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess  # nosec B404
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.environments import SRC
from benchmark.timing import interleaved, percentile

TRANSCRIPT_BYTES = 120_000  # the job's transcript budget is 200 KB of JSON; 120 KB of text is a long call
CALLS_PER_SAMPLE = 5

# The transcripts, built the same way in every child (so both arms redact the same text).
TRANSCRIPTS = r"""
def transcripts(size):
    plain = [
        "Hi, I'm calling about my delivery, it was supposed to come this morning.",
        "I'm sorry to hear that. Let me check the status for you, one moment please.",
        "Thank you so much for calling, is there anything else I can help you with today?",
    ]
    numbers = [
        "Hi, I'm calling about order 48213 from 04/27/2026, it was $1,234.56.",
        "Sure, is +1 415 555 0123 still the best number? We open at 9:30.",
        "My zip is 94107 and the street number is 1600, apartment 12.",
    ]
    card = ["4539", "Mm-hmm.", "1488", "Got it, and the next four digits please?", "0343 6467", "Thank you."]
    def fill(lines, extra=()):
        turns = []
        while sum(map(len, turns)) < size:
            turns.extend(lines)
        middle = len(turns) // 2
        return turns[:middle] + list(extra) + turns[middle:]
    return {
        "plain talk": fill(plain),
        "numbers in every line": fill(numbers),
        "numbers and a card read in chunks": fill(numbers, card),
    }
"""

# One sample: import the redaction of the tree on PYTHONPATH, then time redact_turns on each transcript.
CHILD = (
    r"""
import json, statistics, sys, time
job = json.loads(sys.stdin.read())
from agentic_memory.domain.redaction import redact_turns
"""
    + TRANSCRIPTS
    + r"""
result = {}
for name, turns in transcripts(job["size"]).items():
    redact_turns(turns)  # warm: regular expressions compiled, caches filled
    times = []
    for _ in range(job["calls"]):
        started = time.process_time()
        redacted, counts = redact_turns(turns)
        times.append(time.process_time() - started)
    result[name] = {"ms": statistics.median(times) * 1000, "redacted": sum(counts.values())}
print("BENCH-RESULT " + json.dumps(result))
"""
)


def cost(args: argparse.Namespace, env: dict[str, str], baseline_src: Path | None) -> dict[str, Any]:
    """Median CPU ms of ``redact_turns`` per transcript for this tree and, with ``baseline_src``, for the
    baseline revision's, interleaved; with the ratio of the two."""
    trees = {"this tree": SRC}
    if baseline_src is not None:
        trees[f"{args.redaction_baseline}"] = baseline_src

    def sample(name: str) -> dict[str, Any]:
        return _child(trees[name], env)

    samples = interleaved(list(trees), max(3, args.rounds // 3), sample)
    figures: dict[str, Any] = {"transcript_chars": TRANSCRIPT_BYTES, "rounds": len(samples["this tree"])}
    for tree, taken in samples.items():
        figures[tree] = {
            name: {
                "median_ms": round(statistics.median(sample[name]["ms"] for sample in taken), 2),
                "redacted": taken[0][name]["redacted"],
            }
            for name in taken[0]
        }
    if baseline_src is not None:
        ours, theirs = figures["this tree"], figures[args.redaction_baseline]
        figures["ratio"] = {name: round(ours[name]["median_ms"] / theirs[name]["median_ms"], 2) for name in ours}
    return figures


def _child(src: Path, env: dict[str, str]) -> dict[str, Any]:
    job = {"size": TRANSCRIPT_BYTES, "calls": CALLS_PER_SAMPLE}
    done = subprocess.run(  # nosec B603
        [sys.executable, "-c", CHILD],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(src)},
        timeout=300,
        check=False,
    )
    marker = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not marker:
        raise RuntimeError(f"redaction sample from {src} failed:\n{done.stderr[-2000:]}")
    return json.loads(marker[-1].removeprefix("BENCH-RESULT "))


def long_call_turns() -> list[dict[str, Any]]:
    """The "numbers and a card read in chunks" transcript as a post-call webhook's turns."""
    scope: dict[str, Any] = {}
    # Our own constant: the same code the children run.
    exec(TRANSCRIPTS, scope)  # nosec B102
    turns = scope["transcripts"](TRANSCRIPT_BYTES)["numbers and a card read in chunks"]
    return [{"role": "user" if i % 2 == 0 else "agent", "message": text} for i, text in enumerate(turns)]


def acknowledgement(args: argparse.Namespace, env: dict[str, str], handler: Callable) -> dict[str, Any]:
    """p50/p95 of the post-call acknowledgement of a 120 KB call, redaction on and off, alternately."""
    from agentic_memory.config import get_settings
    from tests.support import LambdaContext, http_event, post_call_body, signed_headers

    body = post_call_body(transcript=long_call_turns(), conversation_id="conv_bench_long_call")
    times: dict[str, list[float]] = {"on": [], "off": []}
    accepted = True
    saved = os.environ.get("REDACT_PII")
    try:
        for n in range(2 + 2 * args.ack_calls):
            which = ("on", "off")[n % 2]
            os.environ["REDACT_PII"] = "true" if which == "on" else "false"
            get_settings.cache_clear()
            event = http_event("/post-call", body, signed_headers(body, key=env["ELEVENLABS_HMAC_KEY"]))
            begun = time.perf_counter()
            answer = handler(event, LambdaContext())
            elapsed = (time.perf_counter() - begun) * 1000
            if answer["statusCode"] != 200:
                raise RuntimeError(f"the long call was answered {answer['statusCode']}")
            if n >= 2:  # the first of each: the container warming to this payload
                times[which].append(elapsed)
            accepted = accepted and json.loads(answer["body"]).get("status") == "accepted"
    finally:
        if saved is None:
            os.environ.pop("REDACT_PII", None)
        else:
            os.environ["REDACT_PII"] = saved
        get_settings.cache_clear()
    figures = {
        which: {
            "requests": len(values),
            "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1),
        }
        for which, values in times.items()
    }
    return {
        "body_bytes": len(body),
        "turns": len(long_call_turns()),
        "accepted": accepted,
        **figures,
        "ratio_p95": round(figures["on"]["p95_ms"] / figures["off"]["p95_ms"], 2),
    }
