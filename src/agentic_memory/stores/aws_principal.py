"""Who the operator is on AWS: the principal behind the credentials a script or the console runs with, as
STS ``GetCallerIdentity`` names it (its ``Arn``, e.g. ``arn:aws:sts::123456789012:assumed-role/Ops/ana``). The
call needs no permission ("No permissions are required to perform this operation", STS API reference,
GetCallerIdentity), so it works for any operator who can reach the stack at all.
"""

from __future__ import annotations

from agentic_memory.stores import aws_clients


class PrincipalUnknown(RuntimeError):
    """STS could not say who the credentials belong to (none configured, expired, no network)."""


def arn() -> str:
    """The ARN of the credentials' principal; raises ``PrincipalUnknown``."""
    try:
        found = aws_clients.client("sts").get_caller_identity()
    except Exception as exc:
        raise PrincipalUnknown(f"cannot tell who you are on AWS (sts:GetCallerIdentity): {type(exc).__name__}") from exc
    value = found.get("Arn") if isinstance(found, dict) else None
    if not isinstance(value, str) or not value:
        raise PrincipalUnknown("sts:GetCallerIdentity named no principal")
    return value
