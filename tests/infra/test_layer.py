"""The layer as built: only what the functions import, and enough for each of them to serve a request.

The layer is built once per run by layer/Makefile (the recipe ``sam build`` runs), for this machine's
platform, into a temporary directory; pip fetches the pinned wheels from PyPI or its cache. Each
function then runs in a fresh interpreter that can import nothing but that directory, src/ and the
boto3 set the Lambda runtime ships (scripts/layer_check.py), against the local Mem0 twin.
"""

from __future__ import annotations

import re
from pathlib import Path

import layer_check
import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow


def pins() -> dict[str, str]:
    """``{normalised name: version}`` from layer/requirements.txt."""
    found = {}
    for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer built for this machine: the directory that holds ``python/``."""
    artifacts = tmp_path_factory.mktemp("layer")
    layer_check.build(artifacts)
    return artifacts


@pytest.fixture(scope="module")
def site(built: Path) -> Path:
    return built / "python"


@pytest.fixture(scope="module")
def report(site: Path) -> layer_check.Report:
    return layer_check.check(site, telemetry=True)


def test_the_layer_holds_exactly_the_pinned_packages(site):
    # Given the layer built from layer/requirements.txt
    # Then it holds those distributions at those versions, and nothing they would pull in besides
    assert layer_check.distributions_in(site) == pins()


def test_none_of_mem0s_self_hosted_stack_is_in_the_layer(site):
    present = {entry.name for entry in site.iterdir()}
    assert present.isdisjoint(layer_check.NOT_IN_LAYER)
    assert "mem0" in present  # the client itself is there
    assert not (site / "bin").exists()  # console scripts are of no use on Lambda


def test_the_layer_fits_its_size_target(built):
    size = layer_check.measure(built)
    assert size.files > 100  # a real build, not an empty directory
    assert size.unzipped_mb <= layer_check.LIMIT_MB
    assert size.zipped_bytes < size.unzipped_bytes


def test_the_layers_bytecode_is_precompiled_and_never_revalidated(site):
    # /opt is read-only on Lambda: without .pyc files every cold start would compile what it imports.
    pyc = site / "mem0" / "client" / "__pycache__" / "main.cpython-312.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # PEP 552: hash-based, unchecked (zip timestamps must not invalidate it)


@pytest.mark.parametrize("name", ["client_data", "retrieve"])
def test_an_interactive_function_answers_from_mem0_with_only_the_layer(report, name):
    run = report.runs[name]
    answer = run.answers[0]
    assert answer["statusCode"] == 200
    assert "Ordered blue ceramic vases in November" in answer["body"]  # read from the Mem0 twin
    assert report.mem0_paths[name][0] == "GET /v1/ping/"  # the client's constructor, in the init phase
    assert "mem0.client.main" in run.modules
    if name == "client_data":  # the caller profile's GetItem, signed by httpx-auth, before Mem0
        assert {"httpx_auth", "agentic_memory.stores.profile_reader"} <= run.modules
        assert answer["headers"].get("x-memory-source") == "mem0"  # no profile yet: Mem0 answered
    assert run.outside == []
    assert not [entry for entry in run.path if "site-packages" in entry or ".venv" in entry]
    # What the lean loader keeps out of the cold start: mem0's self-hosted stack, PostHog, requests.
    assert not run.modules & {"numpy", "qdrant_client", "openai", "sqlalchemy", "posthog", "requests"}


def test_the_acknowledgement_queues_a_job_and_the_worker_writes_it(report):
    ack, job = report.runs["post_call"], report.runs["post_call_job"]
    assert ack.answers[0]["statusCode"] == 200
    assert report.mem0_paths["post_call"] == []  # the acknowledgement never waits on Mem0
    assert job.answers[0]["status"] == "written"
    assert any(path.endswith("/memories/add/") for path in report.mem0_paths["post_call_job"])
    assert {"boto3", "aws_lambda_powertools.utilities.idempotency"} <= job.modules  # DynamoDB records
    assert ack.outside == job.outside == []


def test_with_telemetry_on_and_no_posthog_calls_still_work_and_the_log_says_why(report):
    # Given MEM0_TELEMETRY=true and a layer without PostHog
    run = report.runs["telemetry_on"]
    # Then the request is served from Mem0 as usual
    assert run.answers[0]["statusCode"] == 200
    assert "Ordered blue ceramic vases in November" in run.answers[0]["body"]
    # And one warning names the reason and the fix; PostHog is not half-loaded
    warnings = [line for line in run.log.splitlines() if "posthog is not installed" in line]
    assert len(warnings) == 1
    assert '"level":"WARNING"' in warnings[0]
    assert "scripts/lock.py" in warnings[0]
    assert "posthog" not in run.modules


@pytest.mark.parametrize(
    ("missing", "only"),
    [
        ("httpx", ["client_data"]),  # mem0's client: the function degrades to "new caller", still 200
        ("httpx_auth", ["client_data"]),  # the profile read: degrades to asking Mem0, and logs why
        ("requests", ["retrieve"]),  # imported by mem0's client only when used: must still be there
        ("phonenumbers", ["retrieve"]),  # src/ itself: the handler does not even import
        ("pydantic_core", ["post_call"]),
    ],
)
def test_a_layer_missing_a_package_the_code_imports_fails_the_check(site, tmp_path, missing, only):
    # Given the built layer without one package that the code needs at run time
    lacking = layer_check.without(site, tmp_path / "lacking", [missing])
    assert not (lacking / missing).exists()
    # When the check serves a function with it, Then it fails, whether the function crashes or degrades
    with pytest.raises(layer_check.LayerCheckFailed):
        layer_check.check(lacking, only=only)


def test_the_layer_is_built_for_the_functions_architecture(raw):
    # Given the functions' architecture in template.yaml
    architectures = {
        resource["Properties"].get("Architectures", [None])[0]
        for resource in raw["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    } | set(raw.get("Globals", {}).get("Function", {}).get("Architectures", []))
    architectures.discard(None)
    assert architectures == {"arm64"}
    # Then sam build runs layer/Makefile, whose default platforms are all aarch64 wheels
    layer = raw["Resources"]["Mem0Layer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    makefile = (ROOT / "layer" / "Makefile").read_text()
    assert f"build-{next(k for k, v in raw['Resources'].items() if v is layer)}:" in makefile
    platforms = re.search(r"^PLATFORMS \?= (.+)$", makefile, re.MULTILINE)
    assert platforms is not None
    assert all(tag.endswith("_aarch64") for tag in platforms.group(1).split())
