"""Check that a release is consistent before it is tagged or published: `make release`.

    .venv/bin/python scripts/release_check.py            the checks (make test runs them too)
    .venv/bin/python scripts/release_check.py --publish  also refuse the placeholder URLs SAR would show

One version number, X.Y.Z (Semantic Versioning 2.0.0, without pre-release or build parts), must be
the same in:

* ``pyproject.toml`` (``[project] version``),
* ``src/agentic_memory/__init__.py`` (``__version__``: what ``GET /`` answers on each API),
* ``template.yaml``'s ``AWS::ServerlessRepo::Application`` metadata (``SemanticVersion``),
* ``CHANGELOG.md``'s newest release heading (``## [X.Y.Z] - YYYY-MM-DD``, Keep a Changelog 1.1.0),
* the README (``Version X.Y.Z``).

The changelog's release headings must be valid versions in strictly decreasing order with ISO dates that
never go forward, and every release that lists a **Breaking** change must have an ``### Upgrading``
section. The SAR metadata must hold the fields and shapes the AWS SAM developer guide's "AWS SAM
template Metadata section properties" page requires (Name, Description, Author, SpdxLicenseId with
LicenseUrl, ReadmeUrl, Labels, SemanticVersion), with the licence and readme files present and
the licence file of the SPDX licence named. Exit status 0 when all agree, 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\S+))?\s*$", re.MULTILINE)
# The SAM developer guide's Metadata section properties (AWS::ServerlessRepo::Application).
SAR_NAME = re.compile(r"[a-zA-Z0-9\-]+")
SAR_AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
SAR_LABEL = re.compile(r"^[a-zA-Z0-9+\-_:\/@]+$")
SAR_REQUIRED = ("Name", "Description", "Author")
# The first line of each licence text SpdxLicenseId may name here (the SPDX licence list's titles).
LICENCE_TITLES = {"MIT": "MIT License"}
# URLs left for the adopter to fill in (template.yaml's comment says so).
PLACEHOLDER_URL = re.compile(r"your-organisation|example\.com|REPLACE", re.IGNORECASE)


def _template_metadata(text: str) -> dict[str, Any]:
    """template.yaml's top-level Metadata, parsed as cfn-lint parses CloudFormation YAML (short-form tags
    such as !Ref and !Sub included), through validate_template's loader."""
    import tempfile

    from validate_template import load_template

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8") as copy:
        copy.write(text)
        copy.flush()
        return load_template(copy.name).get("Metadata") or {}


def versions(root: Path = ROOT) -> dict[str, str | None]:
    """Where the version is written -> what is written there (None when it cannot be found)."""
    found: dict[str, str | None] = {}
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    found["pyproject.toml"] = pyproject.get("project", {}).get("version")
    package = (root / "src" / "agentic_memory" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]*)"$', package, re.MULTILINE)
    found["src/agentic_memory/__init__.py"] = match.group(1) if match else None
    metadata = _template_metadata((root / "template.yaml").read_text(encoding="utf-8"))
    sar = metadata.get("AWS::ServerlessRepo::Application") or {}
    found["template.yaml SemanticVersion"] = str(sar["SemanticVersion"]) if "SemanticVersion" in sar else None
    releases = changelog_releases((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    found["CHANGELOG.md"] = releases[0][0] if releases else None
    readme = re.search(r"\bVersion ([0-9][0-9A-Za-z.+-]*[0-9A-Za-z])", (root / "README.md").read_text(encoding="utf-8"))
    found["README.md"] = readme.group(1) if readme else None
    return found


def changelog_releases(text: str) -> list[tuple[str, str | None, str]]:
    """(version, date, section text) for every release heading, newest first; ``[Unreleased]`` left out."""
    headings = list(RELEASE_HEADING.finditer(text))
    releases = []
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        if heading["version"].lower() != "unreleased":
            releases.append((heading["version"], heading["date"], text[heading.end() : end]))
    return releases


def changelog_problems(text: str) -> list[str]:
    problems = []
    releases = changelog_releases(text)
    if not releases:
        return ["CHANGELOG.md: no release heading (## [X.Y.Z] - YYYY-MM-DD)"]
    previous: tuple[tuple[int, ...], date] | None = None
    for version, day, section in releases:
        if not SEMVER.fullmatch(version):
            problems.append(f"CHANGELOG.md: [{version}] is not a version X.Y.Z")
            continue
        try:
            when = date.fromisoformat(day or "")
        except ValueError:
            problems.append(f"CHANGELOG.md: [{version}] has no ISO date (## [{version}] - YYYY-MM-DD)")
            continue
        number = tuple(int(part) for part in version.split("."))
        if previous is not None and not (number < previous[0] and when <= previous[1]):
            problems.append(f"CHANGELOG.md: [{version}] - {day} is not older than the release above it")
        previous = (number, when)
        if "**Breaking**" in section and "### Upgrading" not in section:
            problems.append(f"CHANGELOG.md: [{version}] lists a breaking change but has no ### Upgrading section")
    return problems


def sar_problems(root: Path = ROOT, *, publish: bool = False) -> list[str]:
    """What the Serverless Application Repository would refuse in template.yaml's metadata."""
    metadata = _template_metadata((root / "template.yaml").read_text(encoding="utf-8"))
    sar = metadata.get("AWS::ServerlessRepo::Application")
    if not isinstance(sar, dict):
        return ["template.yaml: no AWS::ServerlessRepo::Application metadata"]
    problems = [f"template.yaml SAR metadata: {key} is missing" for key in SAR_REQUIRED if not sar.get(key)]
    name, author, description = str(sar.get("Name", "")), str(sar.get("Author", "")), str(sar.get("Description", ""))
    if name and not (len(name) <= 140 and SAR_NAME.fullmatch(name)):
        problems.append(f"template.yaml SAR metadata: Name {name!r} is not 1-140 of a-z A-Z 0-9 -")
    if author and not (len(author) <= 127 and SAR_AUTHOR.fullmatch(author)):
        problems.append(f"template.yaml SAR metadata: Author {author!r} does not match {SAR_AUTHOR.pattern}")
    if len(description) > 256:
        problems.append(f"template.yaml SAR metadata: Description is {len(description)} characters (256 at most)")
    labels = sar.get("Labels") or []
    if len(labels) > 10 or not all(isinstance(label, str) and SAR_LABEL.fullmatch(label) for label in labels):
        problems.append("template.yaml SAR metadata: Labels must be at most 10, each of a-z A-Z 0-9 + - _ : / @")
    for key in ("LicenseUrl", "ReadmeUrl"):
        if not sar.get(key) or not (root / str(sar[key])).is_file():
            problems.append(f"template.yaml SAR metadata: {key} {sar.get(key)!r} is not a file of the repository")
    licence = str(sar.get("SpdxLicenseId", ""))
    if licence not in LICENCE_TITLES:
        problems.append(f"template.yaml SAR metadata: SpdxLicenseId {licence!r} is not the licence of LICENSE")
    elif (root / "LICENSE").is_file():
        title = (root / "LICENSE").read_text(encoding="utf-8").splitlines()[0].strip()
        if title != LICENCE_TITLES[licence]:
            problems.append(f"LICENSE starts {title!r}, not {LICENCE_TITLES[licence]!r} ({licence})")
    if publish:
        for key in ("HomePageUrl", "SourceCodeUrl"):
            if not sar.get(key) or PLACEHOLDER_URL.search(str(sar[key])):
                problems.append(f"template.yaml SAR metadata: {key} is still a placeholder: put your repository's URL")
    return problems


def problems(root: Path = ROOT, *, publish: bool = False) -> list[str]:
    """Every inconsistency, one line each; empty when the release may be tagged."""
    found = versions(root)
    issues = [f"{where}: no version found" for where, value in found.items() if value is None]
    written = {value for value in found.values() if value is not None}
    if len(written) > 1:
        issues.append("the version differs: " + ", ".join(f"{where} {value}" for where, value in found.items()))
    issues += [
        f"{where}: {value} is not a version X.Y.Z"
        for where, value in found.items()
        if value and not SEMVER.fullmatch(value)
    ]
    issues += changelog_problems((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    issues += sar_problems(root, publish=publish)
    return issues


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publish", action="store_true", help="also refuse placeholder URLs in the SAR metadata")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    found = problems(args.root, publish=args.publish)
    for problem in found:
        print(f"release: {problem}", file=sys.stderr)
    if found:
        return 1
    version = versions(args.root)["pyproject.toml"]
    print(f"release {version}: pyproject.toml, the package, template.yaml, CHANGELOG.md and the README agree")
    print(
        f'next: git tag v{version} && git push origin v{version}; to publish: docs/operations.md, "Releasing a version"'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
