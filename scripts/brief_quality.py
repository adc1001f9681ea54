"""Score the caller brief: play the quality suite's caller stories and count what the briefs get right.

    .venv/bin/python scripts/brief_quality.py                 # this tree
    .venv/bin/python scripts/brief_quality.py --ref main      # the brief as branch `main` builds it
    .venv/bin/python scripts/brief_quality.py --src /path/to/other/src --show
    .venv/bin/python scripts/brief_quality.py --json          # the score as JSON, to compare runs

Each story (tests/quality/stories.py) plays several calls of one or two callers through the real
handlers (signed post-call webhooks, the worker's jobs, the local Mem0 stand-in, DynamoDB on moto's
server), then asks `client_data` for the caller's next brief (`memory_context`) and checks what it must
say and what it must not say (tests/quality/harness.py). The score: facts expected and present, facts
that must be absent and are absent. tests/quality/test_brief_quality.py holds this tree to every check;
this script prints the score so that changes can be compared (docs/brief-quality.md has the figures).

--ref REF exports `src/` of that git revision (`git archive`) into a temporary directory and scores it
with today's stories, stand-ins and template: how "before" was measured. Nothing is written elsewhere.
Exit code 0 when every check passed, 1 otherwise, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess  # nosec B404
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export_src(ref: str, into: Path) -> Path:
    """``src/`` of git revision ``ref``, extracted under ``into``; raises ``ValueError`` for a bad ref."""
    if not ref or ref.startswith("-"):
        raise ValueError(f"not a git revision: {ref!r}")
    try:
        # A fixed git subcommand, no shell; the ref cannot start with "-" (checked above).
        archive = subprocess.run(  # nosec B603 B607
            ["git", "archive", "--format=tar", ref, "src"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ValueError(
            f"cannot export src/ of {ref!r}: {getattr(exc, 'stderr', b'').decode().strip() or exc}"
        ) from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--ref", help="score src/ of this git revision (e.g. main)")
    which.add_argument("--src", type=Path, help="score this source tree (a directory holding agentic_memory/)")
    parser.add_argument("--story", action="append", help="only this story (repeatable)")
    parser.add_argument("--show", action="store_true", help="print each brief")
    parser.add_argument("--json", action="store_true", help="print the score as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="brief-quality-") as scratch:
        try:
            src = export_src(args.ref, Path(scratch)) if args.ref else (args.src or ROOT / "src").resolve()
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if not (src / "agentic_memory").is_dir():
            print(f"error: {src} holds no agentic_memory package", file=sys.stderr)
            return 2
        # Quiet and local: no log lines or metrics on stdout, mem0's directory in the scratch space.
        os.environ.update(
            POWERTOOLS_LOG_LEVEL="CRITICAL",
            POWERTOOLS_METRICS_DISABLED="true",
            POWERTOOLS_METRICS_NAMESPACE="AgenticMemory",
            MEM0_DIR=str(Path(scratch) / "mem0"),
            MEM0_TELEMETRY="false",
        )
        sys.path[:0] = [str(src), str(ROOT / "scripts"), str(ROOT)]
        return run(args, label=args.ref or str(src))


def run(args: argparse.Namespace, *, label: str) -> int:
    from tests.quality.harness import Score, play, stack
    from tests.quality.stories import stories

    chosen = [story for story in stories() if not args.story or story.name in args.story]
    if not chosen:
        print("error: no such story", file=sys.stderr)
        return 2
    total = Score()
    report = []
    out = sys.stdout
    # The handlers print their metrics (Powertools' EMF lines) on stdout: kept out of the report.
    with stack() as running, contextlib.redirect_stdout(io.StringIO()):
        for story in chosen:
            score = Score()
            for result in play(running, story):
                score.add(result)
                if args.show and not args.json:
                    print(f"--- {story.name}: brief for {result.caller[:-4]}xxxx\n{result.brief}\n", file=out)
                if not args.json:
                    for text in result.missing:
                        print(f"  {story.name}: missing  {text!r}", file=out)
                    for text in result.leaked:
                        print(f"  {story.name}: leaked   {text!r}", file=out)
            total.expected += score.expected
            total.present += score.present
            total.forbidden += score.forbidden
            total.absent += score.absent
            report.append({"story": story.name, **vars(score)})
            if not args.json:
                print(f"{story.name:<34} {score.line()}", file=out, flush=True)
    if args.json:
        json.dump({"tree": label, "stories": report, "total": vars(total)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{'TOTAL (' + label + ')':<34} {total.line()}")
    return 0 if total.right == total.facts else 1


if __name__ == "__main__":
    raise SystemExit(main())
