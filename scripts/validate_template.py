"""Check template.yaml offline: SAM-transform it and run cfn-lint on the template and its transform.

`make validate` runs this; tests/infra imports `transform` and `lint`. Neither needs an AWS account,
credentials or the network, so the check runs the same on a laptop and in CI.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.api import lint as cfn_lint
from cfnlint.config import ManualArgs
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform as sam_transform

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"

# The translator asks IAM for managed-policy ARNs only when a template names one by its short name.
# A fixed map keeps the transform offline; these are the names SAM itself may attach.
_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaVPCAccessExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaRole",
}

# Properties that name local folders `sam build` packages; the translator wants S3 URIs instead.
_LOCAL_URI_KEYS = ("CodeUri", "ContentUri", "DefinitionUri")


class _OfflinePolicyLoader(ManagedPolicyLoader):
    """Serves managed-policy ARNs from the fixed map instead of calling IAM."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)

    def load(self) -> dict[str, str]:
        return dict(_MANAGED_POLICIES)


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match, reduced to what a reader needs to find and fix it."""

    stage: str  # "raw" or "transformed"
    rule: str
    level: str  # "error", "warning" or "informational"
    message: str
    path: str

    def __str__(self) -> str:
        return f"[{self.stage}] {self.rule} ({self.level}) {self.message} at {self.path}"


def load_template(template_path: str | os.PathLike[str] = TEMPLATE) -> dict[str, Any]:
    """Parse a CloudFormation YAML file with its short-form tags (!Sub, !Ref, !If, ...)."""
    return _plain(load_cfn_yaml(str(template_path)))


def _plain(node: Any) -> Any:
    """Turn cfn-lint's position-carrying nodes into plain dicts, lists and strings."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    if isinstance(node, str):
        return str(node)
    return node


def _with_s3_uris(template: dict[str, Any]) -> dict[str, Any]:
    """Swap local code folders for placeholder S3 URIs, as `sam package` would."""
    result = copy.deepcopy(template)
    sections = list(result.get("Resources", {}).values())
    sections += list(result.get("Globals", {}).values())
    for section in sections:
        properties = section.get("Properties", section) if isinstance(section, dict) else {}
        for key in _LOCAL_URI_KEYS:
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                properties[key] = f"s3://bucket/{key.lower()}/{value.strip('/') or 'root'}.zip"
    return result


@contextlib.contextmanager
def _offline_aws_region() -> Iterator[None]:
    """The translator builds a boto3 session for pseudo parameters; give it a region, no account."""
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = saved or REGION
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)


def transform(
    template_path: str | os.PathLike[str] = TEMPLATE, parameter_values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the CloudFormation that the AWS::Serverless transform makes of the template."""
    template = _with_s3_uris(load_template(template_path))
    values = {"AWS::Region": REGION, "AWS::Partition": "aws", **(parameter_values or {})}
    # The translator logs its own usage metrics as warnings; they say nothing about the template.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    with _offline_aws_region():
        result = sam_transform(template, values, _OfflinePolicyLoader())
    return json.loads(json.dumps(result))


def _level(rule_id: str) -> str:
    return {"E": "error", "W": "warning"}.get(rule_id[:1], "informational")


def _lint_text(text: str, stage: str) -> list[Finding]:
    config = ManualArgs(regions=[REGION])
    with _offline_aws_region():
        matches = cfn_lint(text, config=config)
    findings = []
    for match in matches:
        path = "/".join(str(part) for part in getattr(match, "path", None) or [])
        if not path:
            path = f"line {match.linenumber}"
        rule_id = match.rule.id
        findings.append(Finding(stage, rule_id, _level(rule_id), match.message, path))
    return findings


def lint(template: dict[str, Any] | str | os.PathLike[str] = TEMPLATE) -> list[Finding]:
    """cfn-lint findings for the template as written and for its SAM transform.

    A path is linted as written (cfn-lint applies the transform itself, and also checks the SAM
    syntax) and as this module transforms it; a dict is taken as an already transformed template.
    """
    if isinstance(template, dict):
        return _lint_text(json.dumps(template), "transformed")
    text = Path(template).read_text(encoding="utf-8")
    return _lint_text(text, "raw") + _lint_text(json.dumps(transform(template)), "transformed")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else TEMPLATE
    try:
        findings = lint(path)
    except Exception as error:  # the translator raises its own types for invalid SAM
        print(f"{path.name}: SAM transform failed: {error}")
        return 1
    for finding in findings:
        print(finding)
    blocking = [finding for finding in findings if finding.level in ("error", "warning")]
    if blocking:
        print(f"{path.name}: {len(blocking)} cfn-lint errors or warnings")
        return 1
    print(f"{path.name}: {len(findings)} cfn-lint findings (raw and transformed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
