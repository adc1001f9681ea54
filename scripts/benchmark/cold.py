"""Part a, cold start: every arm in fresh processes, interleaved round by round, compared by medians with
the naive arm's, the handlers also with their libraries arms (and with ``--baseline``'s revision), and
the constructor's ping with and without Mem0's org and project ids."""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from benchmark.arms import CALLER, FLOOR_PARTS, HANDLERS, HEAVY, LIBRARIES, LIBRARY_WORK, SECRETS, SECRETS_ARMS, events
from benchmark.child import cold_sample
from benchmark.environments import SRC
from benchmark.servers import Mem0Admin
from benchmark.timing import compared, interleaved, percentile


def cold(
    args: argparse.Namespace,
    env: dict[str, str],
    naive_env: dict[str, str],
    admin: Mem0Admin,
    python_flags: list[str],
    secrets_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = events(env["ELEVENLABS_WORKSPACE_KEY"], env["ELEVENLABS_HMAC_KEY"], CALLER)
    known_ids = {**env, "MEM0_ORG_ID": "local-org", "MEM0_PROJECT_ID": "local-project"}
    # name -> (handler module or None, environment, the libraries arm's work or None)
    arms: dict[str, tuple[str | None, dict[str, str], dict[str, str] | None]] = {
        "naive": (None, naive_env, None),
        "client_data": (HANDLERS["client_data"], env, None),
        "retrieve": (HANDLERS["retrieve"], env, None),
        "post_call": (HANDLERS["post_call"], env, None),
        **{f"{LIBRARIES}{name}": (None, env, work | {"caller": CALLER}) for name, work in LIBRARY_WORK.items()},
    }
    if secrets_env is not None:  # the same handlers reading their keys from Secrets Manager (moto), interleaved
        arms |= {f"{name}{SECRETS}": (HANDLERS[name], secrets_env, None) for name in SECRETS_ARMS}
    if args.floor_parts:
        base = LIBRARY_WORK["client_data"] | {"caller": CALLER}
        arms |= {f"{LIBRARIES}client_data {part}": (None, env, base | left) for part, left in FLOOR_PARTS.items()}
    if args.baseline:  # the same handlers from another revision's src/, interleaved with today's
        then = {**env, "PYTHONPATH": env["PYTHONPATH"].replace(str(SRC), str(args.baseline_src), 1)}
        arms |= {f"{name}@{args.baseline}": (module, then, None) for name, module in HANDLERS.items()}

    def sample(name: str, module: str | None, arm_env: dict[str, str], work: dict[str, str] | None) -> dict[str, Any]:
        endpoint = name.removeprefix(LIBRARIES).split("+")[0].split(" ")[0].split("@")[0]
        return cold_sample(module, arm_env, python_flags, event.get(endpoint), admin, label=name, libraries=work)

    def interleave(selected: dict[str, tuple], rounds: int) -> dict[str, list[dict]]:
        return interleaved(list(selected), rounds, lambda name: sample(name, *selected[name]))

    admin.delay(0.0)
    samples = interleave(arms, args.rounds)
    naive_wall = statistics.median(s["wall"] for s in samples["naive"])
    naive_in = statistics.median(s["in_process"] for s in samples["naive"])
    result: dict[str, Any] = {}
    for name, runs in samples.items():
        wall = statistics.median(s["wall"] for s in runs)
        inner = statistics.median(s["in_process"] for s in runs)
        result[name] = {
            "wall_ms": round(wall * 1000, 1),
            "in_process_ms": round(inner * 1000, 1),
            "wall_iqr_ms": round(
                (percentile([s["wall"] for s in runs], 75) - percentile([s["wall"] for s in runs], 25)) * 1000, 1
            ),
            "ratio_wall": round(wall / naive_wall, 3),
            "ratio_in_process": round(inner / naive_in, 3),
            "mem0_requests": runs[0]["mem0"],
            "heavy_loaded": sorted({m for s in runs for m in s["loaded"] if m in HEAVY}),
            "loaded": sorted({m for s in runs for m in s["loaded"]}),
            "samples": len(runs),
        }
    for name in LIBRARY_WORK:  # what our code adds to the libraries it cannot do without, same run
        result[name] |= compared(samples[name], samples[f"{LIBRARIES}{name}"], "libraries")
    for name in HANDLERS if args.baseline else ():  # a change, against the revision it started from
        result[name] |= compared(samples[name], samples[f"{name}@{args.baseline}"], "baseline")
    for name in SECRETS_ARMS if secrets_env is not None else ():  # the secret store's cost, same run
        result[f"{name}{SECRETS}"] |= compared(samples[f"{name}{SECRETS}"], samples[name], "env")
    for name, runs in samples.items():  # each round's wall times, for the verdicts' round-by-round ratios
        result[name]["per_round"] = [round(s["wall"] * 1000, 2) for s in runs]

    # The constructor's ping, skipped when MEM0_ORG_ID and MEM0_PROJECT_ID are set: visible once Mem0
    # takes time to answer, so this pair runs with the configured delay.
    admin.delay(args.delay)
    ping = interleave(
        {
            "client_data": (HANDLERS["client_data"], env, None),
            "client_data+ids": (HANDLERS["client_data"], known_ids, None),
        },
        max(3, args.rounds // 3),
    )
    admin.delay(0.0)
    result["ping"] = {
        name: {
            "wall_ms": round(statistics.median(s["wall"] for s in runs) * 1000, 1),
            "mem0_requests": runs[0]["mem0"],
        }
        for name, runs in ping.items()
    }
    result["ping"]["delay_ms"] = round(args.delay * 1000)
    return result
