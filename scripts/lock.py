"""Regenerate the pinned requirement files from the few packages we choose directly.

    make lock            (or: python3.12 scripts/lock.py)

Each file is a full `pip freeze` of a fresh virtualenv, so a clean machine installs exactly what
was tested. The layer is resolved first; the development set is resolved with the layer's pins
as constraints, so tests run against the very versions Lambda gets. The SAM CLI gets its own set:
its pins clash with the test tools'.
"""

from __future__ import annotations

# subprocess only runs pip inside the virtualenvs this script creates.
import subprocess  # nosec B404
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYER = ["mem0ai==2.2.1", "aws-lambda-powertools==3.37.0", "pydantic==2.13.5"]
DEV = [
    "boto3==1.44.5",
    "moto[dynamodb,lambda,sqs,cloudformation,server]==5.2.5",
    "pytest==9.2.0",
    "pytest-timeout==2.4.0",
    "hypothesis==6.170.15",
    "ruff==0.17.5",
    "bandit==1.9.4",
    "cfn-lint==1.58.0",
    "aws-sam-translator==1.115.0",
    "elevenlabs==2.78.0",
]
SAM = ["aws-sam-cli==1.170.0"]


def freeze(packages: list[str], constraints: Path | None = None) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        venv.create(folder, with_pip=True)
        python = str(Path(folder) / "bin" / "python")
        extra = ["-c", str(constraints)] if constraints else []
        subprocess.run([python, "-m", "pip", "install", "-q", *extra, *packages], check=True)  # nosec B603
        out = subprocess.run([python, "-m", "pip", "freeze"], check=True, capture_output=True, text=True)  # nosec B603
    return [line for line in out.stdout.splitlines() if "==" in line and not line.startswith("-e")]


def name(line: str) -> str:
    return line.split("==")[0].split("[")[0].lower().replace("_", "-")


def write(path: Path, header: str, lines: list[str]) -> None:
    path.write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {path.relative_to(ROOT)} ({len(lines)} pins)")


def main() -> int:
    layer = freeze(LAYER)
    write(
        ROOT / "layer" / "requirements.txt",
        "# Third-party packages the three functions import at run time, fully pinned (the layer's content).\n"
        "# boto3/botocore are not listed: the python3.12 Lambda runtime provides them, and only the post-call\n"
        "# function uses them. Regenerate with `make lock`.\n",
        layer,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\n".join(layer) + "\n")
    pinned = {name(line) for line in layer}
    dev = [line for line in freeze(LAYER + DEV, Path(constraints.name)) if name(line) not in pinned]
    write(
        ROOT / "requirements.txt",
        "# Everything to develop and test, fully pinned. The layer's run-time packages come first.\n"
        "# Regenerate with `make lock`. The SAM CLI lives apart, in requirements-sam.txt (its pins clash).\n"
        "-r layer/requirements.txt\n",
        dev,
    )
    write(
        ROOT / "requirements-sam.txt",
        "# The SAM CLI for make build / make deploy, in its own virtualenv (.venv-sam): its pins clash with\n"
        "# the test tools'. Regenerate with `make lock`.\n",
        freeze(SAM),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
