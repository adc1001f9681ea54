"""The release is consistent (scripts/release_check.py, `make release`): one version everywhere, a changelog
in order with upgrade notes, the licence, and SAR metadata the Serverless Application Repository accepts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import release_check

ROOT = release_check.ROOT
FILES = ("pyproject.toml", "src/agentic_memory/__init__.py", "template.yaml", "CHANGELOG.md", "README.md", "LICENSE")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The files the check reads, copied, so a test can break one."""
    for name in FILES:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target)
    return tmp_path


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_repository_release_is_consistent():
    # Given the repository as committed, When the release check runs, Then nothing is reported and every
    # place names the same X.Y.Z.
    assert release_check.problems() == []
    found = release_check.versions()
    assert len(set(found.values())) == 1, found
    (version,) = set(found.values())
    assert release_check.SEMVER.fullmatch(version)
    assert release_check.main([]) == 0


def test_the_licence_is_mit_and_the_sar_metadata_names_it():
    sar = release_check._template_metadata((ROOT / "template.yaml").read_text())["AWS::ServerlessRepo::Application"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert sar["SpdxLicenseId"] == "MIT"
    assert (sar["LicenseUrl"], sar["ReadmeUrl"]) == ("LICENSE", "README.md")
    assert sar["Name"] == "agentic-memory"
    assert release_check.SAR_AUTHOR.fullmatch(sar["Author"])
    assert 1 <= len(sar["Labels"]) <= 10
    for key in ("HomePageUrl", "SourceCodeUrl"):
        assert sar[key].startswith("https://"), key
    # No intrinsic function: SAR reads the metadata as written (SAM developer guide, Metadata properties).
    assert all(isinstance(value, str | list) for value in sar.values())


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        pytest.param("pyproject.toml", 'version = "1.0.0"', 'version = "1.0.1"', "the version differs", id="pyproject"),
        pytest.param("template.yaml", "SemanticVersion: 1.0.0", "SemanticVersion: 1.1.0", "differs", id="template"),
        pytest.param("README.md", "Version 1.0.0", "Version 0.9.0", "differs", id="readme"),
        pytest.param("CHANGELOG.md", "## [1.0.0] - 2026-12-07", "## [1.0] - 2026-12-07", "not a version", id="semver"),
        pytest.param("CHANGELOG.md", "## [0.3.0] - 2026-12-07", "## [1.2.0] - 2026-12-07", "not older", id="order"),
        pytest.param("CHANGELOG.md", "## [0.1.0] - 2026-11-21", "## [0.1.0] - 21/11/2026", "no ISO date", id="date"),
        pytest.param(
            "CHANGELOG.md", "### Upgrading\n- Replace", "### Notes\n- Replace", "no ### Upgrading", id="upgrade"
        ),
        pytest.param("template.yaml", "SpdxLicenseId: MIT", "SpdxLicenseId: Apache-2.0", "SpdxLicenseId", id="licence"),
        pytest.param("template.yaml", "Author: agentic-memory", "Author: Agentic Memory", "Author", id="author"),
        pytest.param(
            "template.yaml", "LicenseUrl: LICENSE", "LicenseUrl: LICENCE.txt", "LicenseUrl", id="licence-file"
        ),
    ],
)
def test_each_inconsistency_is_reported(copy: Path, name: str, old: str, new: str, expected: str):
    # Given a copy of the release files with one thing wrong, When the check runs on it,
    # Then it reports that thing and exits 1 (so the clean run above means something).
    assert release_check.problems(copy) == []
    edit(copy, name, old, new)
    found = release_check.problems(copy)
    assert any(expected in problem for problem in found), found
    assert release_check.main(["--root", str(copy)]) == 1


def test_publishing_refuses_the_placeholder_urls(copy: Path):
    # Given the template's placeholder repository URLs, When the check runs for publishing, Then it refuses
    # them; with a real URL it passes.
    assert any("HomePageUrl" in p for p in release_check.problems(copy, publish=True))
    text = (copy / "template.yaml").read_text()
    (copy / "template.yaml").write_text(text.replace("your-organisation", "acme-voice"))
    assert release_check.problems(copy, publish=True) == []
