"""Regenerate the pinned requirement files from the few packages we choose directly.

    make lock            (or: python3.12 scripts/lock.py [--only layer,dev,sam,scan])

Each file is a full `pip freeze` of a fresh virtualenv, so a clean machine installs exactly what
was tested. The layer is resolved first; the development set is resolved with the layer's pins
as constraints, so tests run against the very versions Lambda gets. The SAM CLI gets its own set:
its pins clash with the test tools', and so do the template scanners' (checkov).

The layer holds only what the functions import at run time. mem0ai is installed without its declared
dependencies, which serve its self-hosted ``Memory`` (numpy, qdrant-client, grpc, openai, SQLAlchemy,
PostHog); the functions use only its HTTP client (``mem0.client``), whose imports are listed in
``LAYER``. layer/Makefile installs the frozen list with ``--no-deps``; tests/infra/test_layer.py serves
every function with nothing else on the path. The development set keeps mem0ai's full dependencies.
"""

from __future__ import annotations

import argparse

# subprocess only runs pip inside the virtualenvs this script creates.
import subprocess  # nosec B404
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Installed with --no-deps (see the docstring). Checked against CHECKED_MEM0AI in
# src/agentic_memory/stores/mem0_loader.py.
MEM0 = "mem0ai==2.2.1"
# What src/ and mem0's client import at run time (mem0/client/*.py, mem0/exceptions.py,
# mem0/memory/setup.py), each with its own dependencies. mem0ai does not declare `requests`, though
# mem0/client/main.py imports it at module level; posthog is left out (stores/mem0_loader.py,
# stores/mem0.py: telemetry stays off).
LAYER = [
    "aws-lambda-powertools==3.37.0",
    "pydantic==2.13.5",
    "httpx==0.28.1",
    # client_data signs its one DynamoDB read with AWS4Auth instead of loading boto3
    # (src/agentic_memory/stores/profile_reader.py)
    "httpx-auth==0.23.1",
    "requests==2.34.2",
    "phonenumberslite==9.0.42",
    "python-stdnum==2.2",
    # Unicode's Scripts.txt and confusables.txt for the name checks (src/agentic_memory/domain/names.py)
    "confusable-homoglyphs==3.3.1",
]
DEV = [
    "boto3==1.44.5",
    "moto[dynamodb,lambda,sqs,cloudformation,server]==5.2.5",
    "pytest==9.2.0",
    # the tests run in random order; a failed run names its seed (tests/conftest.py)
    "pytest-randomly==5.1.0",
    # make test runs them on every core (issue 24)
    "pytest-xdist==3.8.0",
    "pytest-timeout==2.4.0",
    "hypothesis==6.170.15",
    "ruff==0.17.5",
    "bandit==1.9.4",
    "cfn-lint==1.58.0",
    "aws-sam-translator==1.115.0",
    "elevenlabs==2.78.0",
    "import-linter==2.16",
    # drives Debian's chromium in the console's browser test (never downloads a browser of its own)
    "playwright==1.65.2",
    # Unicode properties (Default_Ignorable_Code_Point) as the judge of the name checks (tests/unit/test_names.py)
    "regex==2026.11.19",
]
SAM = ["aws-sam-cli==1.170.0"]
# The template scanners of `make validate`, in .venv-scan: checkov pins older boto3, networkx and packaging than
# the test tools, so they cannot share .venv (issue 24).
SCAN = ["checkov==3.3.30", "cfn-lint-serverless==0.3.6"]


def freeze(packages: list[str], constraints: Path | None = None, *, no_deps: tuple[str, ...] = ()) -> list[str]:
    """The full `pip freeze` of a fresh virtualenv holding ``packages`` (and ``no_deps``, installed
    without their dependencies)."""
    with tempfile.TemporaryDirectory() as folder:
        venv.create(folder, with_pip=True)
        python = str(Path(folder) / "bin" / "python")
        extra = ["-c", str(constraints)] if constraints else []
        if no_deps:
            subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", *no_deps], check=True)  # nosec B603
        done = subprocess.run(  # nosec B603
            [python, "-m", "pip", "install", "-q", *extra, *packages], stderr=subprocess.PIPE, text=True, check=False
        )
        # pip's resolver then lists the dependencies the --no-deps packages declare and lack: expected.
        skipped = tuple(f"{spec.split('==')[0]} " for spec in no_deps)
        noise = ("ERROR: pip's dependency resolver", *skipped)
        sys.stderr.write("".join(line for line in done.stderr.splitlines(True) if not line.startswith(noise)))
        done.check_returncode()
        out = subprocess.run([python, "-m", "pip", "freeze"], check=True, capture_output=True, text=True)  # nosec B603
    return [line for line in out.stdout.splitlines() if "==" in line and not line.startswith("-e")]


def name(line: str) -> str:
    return line.split("==")[0].split("[")[0].lower().replace("_", "-")


def write(path: Path, header: str, lines: list[str]) -> None:
    path.write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {path.relative_to(ROOT)} ({len(lines)} pins)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="layer,dev,sam,scan", help="comma-separated: layer, dev, sam, scan")
    only = {part.strip() for part in parser.parse_args(argv).only.split(",")}
    layer_file = ROOT / "layer" / "requirements.txt"
    if "layer" in only:
        write(
            layer_file,
            "# Every third-party package the three functions import at run time, fully pinned: the layer's\n"
            "# whole content. layer/Makefile installs it with --no-deps, so mem0ai comes without the packages\n"
            "# it declares for its self-hosted Memory (the functions use only its HTTP client). boto3/botocore\n"
            "# are not listed: the python3.12 Lambda runtime provides them. Regenerate with `make lock`.\n",
            freeze(LAYER, no_deps=(MEM0,)),
        )
    layer = [line for line in layer_file.read_text().splitlines() if "==" in line and not line.startswith("#")]
    if "dev" in only:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
            constraints.write("\n".join(layer) + "\n")
        pinned = {name(line) for line in layer}
        dev = [line for line in freeze([MEM0, *LAYER, *DEV], Path(constraints.name)) if name(line) not in pinned]
        write(
            ROOT / "requirements.txt",
            "# Everything to develop and test, fully pinned. The layer's run-time packages come first; then\n"
            "# mem0ai's own dependencies (the layer leaves them out) and the tools. Regenerate with `make lock`.\n"
            "# The SAM CLI lives apart, in requirements-sam.txt (its pins clash).\n"
            "-r layer/requirements.txt\n",
            dev,
        )
    if "sam" in only:
        write(
            ROOT / "requirements-sam.txt",
            "# The SAM CLI for make build / make deploy, in its own virtualenv (.venv-sam): its pins clash with\n"
            "# the test tools'. Regenerate with `make lock`.\n",
            freeze(SAM),
        )
    if "scan" in only:
        write(
            ROOT / "requirements-scan.txt",
            "# The template scanners for make validate, in their own virtualenv (.venv-scan): checkov pins older\n"
            "# boto3, networkx and packaging than the test tools (requirements.txt) do. Regenerate with `make lock`.\n",
            freeze(SCAN),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
