"""Session fixtures for the template tests: parse, transform and lint template.yaml once each.

The SAM transform and cfn-lint take seconds; every test reads the same results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import validate_template


@pytest.fixture(scope="session")
def template_path() -> Path:
    return validate_template.TEMPLATE


@pytest.fixture(scope="session")
def raw(template_path: Path) -> dict[str, Any]:
    """template.yaml as written (SAM resources, short-form tags as plain intrinsic dicts)."""
    return validate_template.load_template(template_path)


@pytest.fixture(scope="session")
def cfn(template_path: Path) -> dict[str, Any]:
    """The CloudFormation the AWS::Serverless transform makes of template.yaml."""
    return validate_template.transform(template_path)


@pytest.fixture(scope="session")
def findings(template_path: Path) -> list[validate_template.Finding]:
    return validate_template.lint(template_path)
