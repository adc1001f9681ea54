"""What each measured process can import and sees in its environment: a Lambda-like site of packages, a
naive mem0ai user's site, another revision's src/, and the environment variables every part shares."""

from __future__ import annotations

import importlib.metadata
import io
import os
import re
import subprocess  # nosec B404
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SCRIPTS = ROOT / "scripts"
MEM0_KEY = "bench-mem0-key"
FAKE_AWS = "testing"  # what moto and the local stubs accept as credentials
# The python3.12 Lambda runtime ships these; everything else comes from the layer.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


def layer_pins() -> list[str]:
    """The distribution names layer/requirements.txt pins: the layer's whole content."""
    names = []
    for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[=<>~!\[; ]", line, maxsplit=1)[0])
    return names


def lambda_like_site(target: Path) -> Path:
    """A directory holding only what a deployed function can import: the layer's pinned packages and
    the runtime's boto3 set, as symlinks into this virtualenv. Development tools (click, rich, pytest...)
    are left out, since some packages import them when present (httpx loads its CLI's)."""
    from layer_check import link_distributions

    return link_distributions([*RUNTIME_PACKAGES, *layer_pins()], target)


def requirement_closure(root: str) -> list[str]:
    """``root`` and every distribution it requires, recursively (extras left out): what ``pip install
    root`` installs."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [root]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return sorted(seen)


def checkout_src(revision: str, target: Path) -> Path:
    """``src/`` as git revision ``revision`` holds it, extracted under ``target``; returns that ``src``.
    Raises ``RuntimeError`` when git cannot produce it (an unknown revision, no repository)."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(  # nosec B603 B607
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "src"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {revision} src failed: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def naive_site(target: Path) -> Path:
    """What a plain mem0ai user deploys: mem0ai with every dependency it declares (``pip install
    mem0ai``), as symlinks into this virtualenv; nothing of ours."""
    from layer_check import link_distributions

    return link_distributions(requirement_closure("mem0ai"), target)


def base_env(tmp: Path, mem0_url: str) -> dict[str, str]:
    """What every measured process and the warm handlers see: fake AWS, the local Mem0, no telemetry."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "MEM0_API_KEY": MEM0_KEY,
        "MEM0_HOST": mem0_url,
        "MEM0_DIR": str(tmp / "mem0"),
        "MEM0_TELEMETRY": "false",
        "ELEVENLABS_WORKSPACE_KEY": "bench-workspace-key",
        "ELEVENLABS_HMAC_KEY": "bench-hmac-secret-key",
        "MEMORY_AGENT_IDS": "*",
        "AWS_ACCESS_KEY_ID": FAKE_AWS,
        "AWS_SECRET_ACCESS_KEY": FAKE_AWS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_METRICS_NAMESPACE": "AgenticMemory",
    }
