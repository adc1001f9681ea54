"""How samples are taken and summed up: arms interleaved round by round, percentiles, medians compared
within one run, request counts before and after."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any


def percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def interleaved(names: list[str], rounds: int, sample: Callable[[str], dict[str, Any]]) -> dict[str, list[dict]]:
    """``rounds`` samples of each arm (``sample(name)``), taken round by round, each round starting one arm
    further on, so a moment's load falls on every arm alike. One sample of each arm first, discarded: it
    fills the bytecode cache."""
    for name in names:
        sample(name)
    samples: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(sample(name))
    return samples


def compared(ours: list[dict[str, Any]], other: list[dict[str, Any]], label: str) -> dict[str, float]:
    """Two arms' samples of the same run compared by median wall time: ``ratio_<label>`` (ours over
    the other's) and ``over_<label>_ms`` (ours minus the other's, in ms)."""
    mine = statistics.median(sample["wall"] for sample in ours)
    theirs = statistics.median(sample["wall"] for sample in other)
    return {f"ratio_{label}": round(mine / theirs, 3), f"over_{label}_ms": round((mine - theirs) * 1000, 1)}


def round_ratios(ours: list[float], theirs: list[float]) -> list[float]:
    """Two arms' wall times compared round by round: ``interleaved`` runs one sample of each arm per round, back
    to back, so the two samples of a round met the same load. Raises ValueError when the rounds differ."""
    return [a / b for a, b in zip(ours, theirs, strict=True)]


def judged(ratios: list[float], limit: float) -> tuple[str, bool]:
    """The verdict on round-by-round ratios against ``limit``: passed unless the lower quartile is over it, that
    is unless at least three rounds in four were over the target. A busy machine spreads the ratios both ways
    (one arm of a round catches a burst of load, the other does not), which moves the median a little and the
    quartiles apart; a real regression moves them all up. Returns the text shown ("median 1.07, rounds
    1.02-1.12 (Q1-Q3)") and the verdict."""
    median = statistics.median(ratios)
    if len(ratios) == 1:
        return f"median {median:.3f} (one round)", median <= limit
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return f"median {median:.3f}, rounds {q1:.3f}-{q3:.3f} (Q1-Q3)", q1 <= limit


def count_diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What changed between two request counts (path -> count): the requests made meanwhile."""
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
