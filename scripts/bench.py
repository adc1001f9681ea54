"""Cold-start, warm-latency and worker benchmarks for the three functions, against the local Mem0 server.

The command line of the benchmark package (scripts/benchmark/): the method, part by part, is in its
``__init__``, and each part in a module of its own. Run: ``make bench`` (``--quick`` for a short run);
figures and their reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from benchmark.run import run
from benchmark.servers import serve_dynamodb, serve_lambda_stub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit status 1 when a judged check FAILs; lines marked info are reported, never judged. Cold"
        " arms: naive (mem0ai as pip installs it), the three handlers, and libraries:<endpoint>, the same"
        " request's outside work done by Powertools, libphonenumber and mem0ai's MemoryClient alone, which"
        " client_data and retrieve are judged against. Figures and method: docs/performance.md.",
    )
    parser.add_argument("--rounds", type=int, default=15, help="cold-start samples per arm (interleaved)")
    parser.add_argument("--concurrency", default="10,50", help="comma-separated concurrent calls for the warm run")
    parser.add_argument("--calls", type=int, default=20, help="calls per concurrent caller in the warm run")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the Mem0 server adds to each request")
    parser.add_argument("--turns", type=int, default=200, help="turns in the worker's transcript")
    parser.add_argument("--output", default="bench-results/bench.json", help="where to write the JSON figures")
    parser.add_argument(
        "--docs", action="store_true", help="also write the figures to docs/performance.json (the committed copy)"
    )
    parser.add_argument("--site", choices=("layer", "venv"), default="layer", help="packages the cold children see")
    parser.add_argument(
        "--only",
        default="cold,worker,warm,profile,redaction",
        help="parts, comma-separated: cold, worker, warm, profile, redaction, retention",
    )
    parser.add_argument("--quick", action="store_true", help="a short run: 5 rounds, 5 calls per caller")
    parser.add_argument(
        "--floor-parts",
        action="store_true",
        help="cold start: also client_data's libraries arm without Powertools, without libphonenumber, and with"
        " mem0ai's client alone",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="cold start: also each handler with src/ as git revision REV has it (e.g. main), interleaved; the worker:"
        " the same jobs with that src/ too (Mem0 requests per call before and after); the"
        " layer's packages stay the current ones",
    )
    parser.add_argument(
        "--redaction-baseline",
        metavar="REV",
        default="main",
        help="redaction part: the git revision whose redaction the 120 KB transcript cost is compared with",
    )
    parser.add_argument(
        "--ack-calls", type=int, default=20, help="redaction part: long-call acknowledgements timed per setting"
    )
    parser.add_argument("--serve-lambda-stub", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-dynamodb", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", "No application metrics to publish")  # an ack emits none; expected
    if args.serve_lambda_stub:  # the benchmark starts its servers with `-m benchmark.servers`; kept for scripts
        return serve_lambda_stub()
    if args.serve_dynamodb:
        return serve_dynamodb()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
