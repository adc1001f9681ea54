"""The scanners a platform team runs on a template, run on template.yaml: `make validate` (and so `make test`).

    .venv/bin/python scripts/scan_template.py --bin .venv-scan/bin

* checkov (Bridgecrew/Prisma Cloud's policy checks, ``--framework cloudformation``, offline with
  ``--skip-download``), and
* cfn-lint with awslabs' serverless rules (``cfn-lint -a cfn_lint_serverless.rules``).

Both come from their own virtualenv (``.venv-scan``, requirements-scan.txt): checkov pins older boto3,
networkx and packaging than the test tools. A finding is either fixed in the template or suppressed beside
its resource with a one-line reason: checkov's ``Metadata.checkov.skip[].comment``, and for cfn-lint a
comment on the line above the rule id in ``Metadata.cfn-lint.config.ignore_checks``. This script prints
both scanners' results and every suppression with its reason, and fails (exit 1) on any finding, on a
suppression without a reason, or when a scanner cannot run.
"""

from __future__ import annotations

import argparse
import json
import re

# subprocess runs the two scanners, by absolute path, on a file of this repository.
import subprocess  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
RESOURCE = re.compile(r"^  ([A-Za-z0-9]+):\s*$")
CHECKOV_ID = re.compile(r"^\s*- id: (\S+)\s*$")
CHECKOV_COMMENT = re.compile(r"^\s*comment: (.*\S)\s*$")
INLINE_IGNORE = re.compile(r"^\s*ignore_checks: \[([A-Z0-9, ]+)\]\s*$")
LISTED_RULE = re.compile(r"^\s*- ([EWI][S]?[0-9]{4})\s*$")
COMMENT = re.compile(r"^\s*# ?(.*\S)\s*$")


@dataclass(frozen=True)
class Suppression:
    scanner: str  # "checkov" or "cfn-lint"
    resource: str
    rule: str
    reason: str

    def __str__(self) -> str:
        return f"  {self.scanner:<9}{self.rule:<13}{self.resource:<34}{self.reason or '(NO REASON)'}"


def suppressions(text: str) -> list[Suppression]:
    """Every checkov skip and cfn-lint ignore in ``text`` (template.yaml), with the reason written beside it:
    checkov's ``comment``, or for cfn-lint the comment line(s) just above the rule id (or above an inline
    ``ignore_checks: [...]``). A missing reason is an empty string."""
    found: list[Suppression] = []
    resource = ""
    in_resources = False
    pending_id: str | None = None
    comments: list[str] = []
    for line in text.splitlines():
        if line.startswith("Resources:"):
            in_resources = True
            continue
        if in_resources and line and not line.startswith((" ", "#")):
            in_resources = False
        match = RESOURCE.match(line) if in_resources else None
        if match:
            resource, pending_id, comments = match.group(1), None, []
            continue
        if not resource:
            continue
        if pending_id is not None:
            comment = CHECKOV_COMMENT.match(line)
            found.append(Suppression("checkov", resource, pending_id, comment.group(1) if comment else ""))
            pending_id = None
            if comment:
                continue
        if (match := CHECKOV_ID.match(line)) and match.group(1).startswith("CKV"):
            pending_id = match.group(1)
            continue
        if match := COMMENT.match(line):
            comments.append(match.group(1))
            continue
        if match := INLINE_IGNORE.match(line):
            reason = " ".join(comments)
            found += [Suppression("cfn-lint", resource, rule.strip(), reason) for rule in match.group(1).split(",")]
        elif match := LISTED_RULE.match(line):
            found.append(Suppression("cfn-lint", resource, match.group(1), " ".join(comments)))
        comments = []
    if pending_id is not None:
        found.append(Suppression("checkov", resource, pending_id, ""))
    return found


def run_checkov(binary: Path, template: Path) -> tuple[dict, list[str]]:
    """checkov's summary and its failed checks as lines (``CKV_... resource: title``)."""
    done = subprocess.run(  # nosec B603
        [str(binary), "-f", str(template), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"checkov did not run: {done.stderr.strip()[-500:]}") from None
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    return report["summary"], failed


def run_serverless_rules(binary: Path, template: Path) -> list[str]:
    """cfn-lint's findings with awslabs' serverless rules added (its exit status is 0 when there are none)."""
    done = subprocess.run(  # nosec B603
        [str(binary), str(template), "-a", "cfn_lint_serverless.rules", "--format", "parseable"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 and not lines:
        raise RuntimeError(f"cfn-lint did not run: {done.stderr.strip()[-500:]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=ROOT / ".venv-scan" / "bin", help="where checkov and cfn-lint are")
    parser.add_argument("template", nargs="?", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    status = 0
    listed = suppressions(args.template.read_text(encoding="utf-8"))
    try:
        summary, failed = run_checkov(args.bin / "checkov", args.template)
        findings = run_serverless_rules(args.bin / "cfn-lint", args.template)
    except (RuntimeError, OSError) as exc:
        print(f"scan: {exc}", file=sys.stderr)
        return 1
    print(
        f"checkov {summary.get('checkov_version', '?')}: {summary['passed']} passed, {summary['failed']} failed,"
        f" {summary['skipped']} skipped (each skip below, with its reason)"
    )
    for line in failed:
        print(f"  FAILED {line}")
    print(f"cfn-lint + serverless rules: {len(findings)} findings")
    for line in findings:
        print(f"  {line}")
    print(f"suppressed in {args.template.name}, beside the resource:")
    for item in listed:
        print(item)
    if failed or findings:
        status = 1
    if summary["skipped"] != sum(1 for s in listed if s.scanner == "checkov"):
        print("scan: checkov skipped a different number of checks than the template lists", file=sys.stderr)
        status = 1
    unexplained = [s for s in listed if not s.reason]
    if unexplained:
        print(f"scan: {len(unexplained)} suppressions without a reason", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
