"""The one place that reads the environment.

Settings are read once per container and cached: Lambda keeps the environment fixed for the life
of a container, and reading it once keeps business code free of ``os.environ``. Tests that change
the environment call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

OVERRIDE_FIELDS = frozenset({"first_message", "prompt"})
# /tmp is the only writable place on Lambda, and mem0 keeps nothing there but an anonymous id.
DEFAULT_MEM0_DIR = "/tmp/.mem0"  # nosec B108


# The four secrets. On AWS each lives in Secrets Manager and the environment holds only its ARN, in
# <NAME>_SECRET_ARN (template.yaml); stores.secret_store reads the values and ``with_secrets`` puts them in
# place. Where no ARN is set (make dev, tests), the plain variable holds the value itself.
SECRET_VARIABLES = ("MEM0_API_KEY", "ELEVENLABS_WORKSPACE_KEY", "ELEVENLABS_HMAC_KEY", "ELEVENLABS_API_KEY")
# A variable-name suffix, not a secret.
SECRET_ARN_SUFFIX = "_SECRET_ARN"  # nosec B105
# The value the stack stores for a secret set after deploy (template.yaml's HmacKeySecret): refused like a
# missing secret (edge.auth), never used as a key.
# The start of a value that is refused, not a secret.
SECRET_PLACEHOLDER_PREFIX = "placeholder"  # nosec B105

SCOPES = frozenset({"shared", "agent"})
DISCLOSURES = frozenset({"greet", "verify"})


def _split_secrets(raw: str | None) -> tuple[str, ...]:
    """Comma-separated secrets, so two can be valid at once while one is being rotated.

    The comma is the only separator and cannot be escaped: a secret must not contain one. Blanks around
    each item are dropped. Length is checked where the secrets are used (auth.MIN_SECRET_CHARS, 16): a
    secret split by a stray comma leaves short pieces, and a short piece refuses every request.
    """
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _split_list(raw: str | None) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped, order kept."""
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _choice(raw: str | None, allowed: frozenset[str], default: str) -> str:
    value = (raw or "").strip().lower()
    return value if value in allowed else default


def _flag(raw: str | None, default: bool) -> bool:
    value = (raw or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return default


def _region(region: str | None, country_code: str | None) -> str:
    """ISO 3166 region for numbers dialled without a country code: ``DEFAULT_REGION``, else the region of
    the older ``DEFAULT_COUNTRY_CODE`` ("44" -> "GB"), else "US"."""
    if region and region.strip():
        return region.strip().upper()
    digits = (country_code or "").strip().lstrip("+")
    if digits.isdigit():
        import phonenumbers

        found = phonenumbers.region_code_for_country_code(int(digits))
        if found and found != "ZZ":
            return found
    return "US"


def _optional_days(raw: str | None) -> int | None:
    """Whole days, 1 to 3650; unset, zero or unreadable means "keep"."""
    try:
        days = int(float((raw or "").strip()))
    except ValueError:
        return None
    return min(days, 3650) if days > 0 else None


def _number(name: str, default: float, *, low: float, high: float) -> float:
    """A bounded number; a bad value falls back to the default rather than breaking every call."""
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return min(max(value, low), high)


@dataclass(frozen=True, slots=True)
class Settings:
    mem0_api_key: str | None
    mem0_host: str
    mem0_org_id: str | None
    mem0_project_id: str | None
    mem0_dir: str
    mem0_telemetry: str
    search_limit: int
    worker_timeout: float
    interactive_timeout: float
    workspace_keys: tuple[str, ...]
    hmac_keys: tuple[str, ...]
    idempotency_table: str | None
    idempotency_expiry_seconds: int
    signature_tolerance_seconds: int
    conversation_override: frozenset[str]
    caller_name_field: str
    max_body_bytes: int
    max_post_call_body_bytes: int
    greeting_new: str
    greeting_returning: str
    greeting_returning_named: str
    override_prompt_template: str | None
    # DESIGN.md section 7: identity, scope, retention, disclosure, redaction, profile, reconcile.
    default_region: str = "US"
    agent_phone_numbers: tuple[str, ...] = ()
    memory_scope: str = "shared"
    retention_days: int | None = None
    caller_disclosure: str = "greet"
    redact_pii: bool = True
    profile_table: str | None = None
    elevenlabs_api_key: str | None = None
    elevenlabs_api_base: str = "https://api.elevenlabs.io"
    # reconcile: how far back each scheduled run looks (overlapping the schedule), and which agents
    reconcile_lookback_seconds: int = 7200
    reconcile_agent_ids: tuple[str, ...] = ()
    # The caller profile's reader in client_data signs its own DynamoDB request (profile.py): Lambda's
    # region and the execution role's credentials as the runtime sets them (AWS_REGION, AWS_ACCESS_KEY_ID,
    # AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: Lambda "defined runtime environment variables"), and
    # boto3's endpoint override (AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL) for local stacks.
    aws_region: str | None = None
    aws_credentials: tuple[str, str, str | None] | None = None
    dynamodb_endpoint: str | None = None
    # The initiation answer's user_id: the caller's identity when the caller is known (SEND_USER_ID; off by
    # default: it lists callers' numbers on ElevenLabs' Users page, platform-notes/refresh-2026-12.md E10).
    send_user_id: bool = False
    # The post-call acknowledgement's self-invoke is signed the same way (aws.py), and follows boto3's
    # endpoint override for Lambda (AWS_ENDPOINT_URL_LAMBDA, then AWS_ENDPOINT_URL): how `make dev` and the
    # benchmark point it at their local Invoke endpoints.
    lambda_endpoint: str | None = None
    # The audit trail of operators' views and changes and of the retention sweep's deletions
    # (stores.audit_log): its DynamoDB table and how many days a record is kept (DynamoDB TTL).
    audit_table: str | None = None
    audit_retention_days: int = 400
    # Agents with memory (DESIGN.md section 6; domain.agents): MEMORY_AGENT_IDS, comma-separated agent ids,
    # or "*" for every agent of the workspace. Unset: no agent has memory, so a workspace whose agents
    # never opted in keeps nothing of their calls.
    memory_agent_ids: tuple[str, ...] = ()
    # Mem0's quota and how the worker keeps to it (issue 23; DESIGN.md section 4: 1,000 adds a minute per
    # project is the one published limit). A limit is (requests, seconds); None: not paced. The worker paces
    # its adds and reads at ``mem0_pace_share`` of them through a ledger in IDEMPOTENCY_TABLE; a job whose turn
    # is later waits in the SQS delay queue DEFER_QUEUE_URL, for at most ``throttle_max_wait_seconds``.
    mem0_add_limit: tuple[int, float] | None = (1000, 60.0)
    mem0_request_limit: tuple[int, float] | None = None
    mem0_pace_share: float = 0.9
    throttle_max_wait_seconds: int = 24 * 3600
    defer_queue_url: str | None = None
    # Secrets Manager (issue 24): the ARN of each secret by its variable, as (name, arn) pairs; how long a read
    # value is kept before it is read again (SECRETS_REFRESH_SECONDS); boto3's endpoint override for the service
    # (AWS_ENDPOINT_URL_SECRETS_MANAGER, then AWS_ENDPOINT_URL), for local stand-ins.
    secret_arns: tuple[tuple[str, str], ...] = ()
    secrets_refresh_seconds: float = 300.0
    secretsmanager_endpoint: str | None = None

    def __repr__(self) -> str:  # never print secrets, even by accident
        return f"Settings(mem0_host={self.mem0_host!r}, search_limit={self.search_limit})"


def load_settings() -> Settings:
    env = os.environ
    override = {part.strip() for part in env.get("CONVERSATION_OVERRIDE", "").split(",") if part.strip()}
    return Settings(
        mem0_api_key=env.get("MEM0_API_KEY") or None,
        mem0_host=(env.get("MEM0_HOST") or "https://api.mem0.ai").rstrip("/"),
        mem0_org_id=env.get("MEM0_ORG_ID") or None,
        mem0_project_id=env.get("MEM0_PROJECT_ID") or None,
        mem0_dir=env.get("MEM0_DIR") or DEFAULT_MEM0_DIR,
        mem0_telemetry=env.get("MEM0_TELEMETRY") or "false",
        search_limit=int(_number("MEM0_SEARCH_LIMIT", 3, low=1, high=20)),
        worker_timeout=_number("MEM0_TIMEOUT", 5.0, low=0.1, high=60),
        interactive_timeout=_number("MEM0_INTERACTIVE_TIMEOUT", 1.5, low=0.05, high=10),
        workspace_keys=_split_secrets(env.get("ELEVENLABS_WORKSPACE_KEY")),
        hmac_keys=_split_secrets(env.get("ELEVENLABS_HMAC_KEY")),
        idempotency_table=env.get("IDEMPOTENCY_TABLE") or None,
        idempotency_expiry_seconds=int(_number("IDEMPOTENCY_EXPIRY_DAYS", 14, low=1, high=365) * 86400),
        signature_tolerance_seconds=30 * 60,
        conversation_override=frozenset(override & OVERRIDE_FIELDS),
        caller_name_field=env.get("CALLER_NAME_FIELD") or "caller_name",
        max_body_bytes=64 * 1024,
        # Transcripts of long calls are large; API Gateway caps a request at 10 MB anyway.
        max_post_call_body_bytes=10 * 1024 * 1024,
        greeting_new=env.get("GREETING_NEW") or "Hello! How can I help you today?",
        greeting_returning=env.get("GREETING_RETURNING") or "Welcome back! How can I help you today?",
        greeting_returning_named=env.get("GREETING_RETURNING_NAMED")
        or "Welcome back, {name}! How can I help you today?",
        override_prompt_template=env.get("OVERRIDE_PROMPT_TEMPLATE") or None,
        default_region=_region(env.get("DEFAULT_REGION"), env.get("DEFAULT_COUNTRY_CODE")),
        agent_phone_numbers=_split_list(env.get("AGENT_PHONE_NUMBERS")),
        memory_scope=_choice(env.get("MEMORY_SCOPE"), SCOPES, "shared"),
        retention_days=_optional_days(env.get("MEMORY_RETENTION_DAYS")),
        caller_disclosure=_choice(env.get("CALLER_DISCLOSURE"), DISCLOSURES, "greet"),
        redact_pii=_flag(env.get("REDACT_PII"), True),
        profile_table=env.get("PROFILE_TABLE") or None,
        elevenlabs_api_key=env.get("ELEVENLABS_API_KEY") or None,
        elevenlabs_api_base=(env.get("ELEVENLABS_API_BASE") or "https://api.elevenlabs.io").rstrip("/"),
        reconcile_lookback_seconds=int(_number("RECONCILE_LOOKBACK_MINUTES", 120, low=20, high=7 * 1440) * 60),
        reconcile_agent_ids=_split_list(env.get("RECONCILE_AGENT_IDS")),
        aws_region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None,
        aws_credentials=_aws_credentials(env),
        dynamodb_endpoint=(env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or "").strip() or None,
        lambda_endpoint=(env.get("AWS_ENDPOINT_URL_LAMBDA") or env.get("AWS_ENDPOINT_URL") or "").strip() or None,
        audit_table=env.get("AUDIT_TABLE") or None,
        audit_retention_days=int(_number("AUDIT_RETENTION_DAYS", 400, low=1, high=3650)),
        memory_agent_ids=_split_list(env.get("MEMORY_AGENT_IDS")),
        mem0_add_limit=_limit(env.get("MEM0_ADD_LIMIT"), (1000, 60.0)),
        mem0_request_limit=_limit(env.get("MEM0_REQUEST_LIMIT"), None),
        mem0_pace_share=_number("MEM0_PACE_SHARE", 0.9, low=0.1, high=1.0),
        throttle_max_wait_seconds=int(_number("MEM0_THROTTLE_MAX_WAIT_HOURS", 24, low=0.01, high=13 * 24) * 3600),
        defer_queue_url=(env.get("DEFER_QUEUE_URL") or "").strip() or None,
        send_user_id=_flag(env.get("SEND_USER_ID"), False),
        secret_arns=tuple(
            (name, arn) for name in SECRET_VARIABLES if (arn := (env.get(name + SECRET_ARN_SUFFIX) or "").strip())
        ),
        secrets_refresh_seconds=_number("SECRETS_REFRESH_SECONDS", 300, low=10, high=86400),
        secretsmanager_endpoint=(
            env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or env.get("AWS_ENDPOINT_URL") or ""
        ).strip()
        or None,
    )


_LIMIT = re.compile(r"(\d+)\s*/\s*(?:(min|minute|s|sec|second)|(\d+(?:\.\d+)?)\s*s)", re.IGNORECASE)


def _limit(raw: str | None, default: tuple[int, float] | None) -> tuple[int, float] | None:
    """A rate limit as (requests, seconds): ``1000/min``, ``1000/60s``, ``10/s`` or ``200/6s`` (a compressed
    minute, for tests); ``off`` or ``0/min``: none. Unset or unreadable: ``default``."""
    text = (raw or "").strip()
    if not text:
        return default
    if text.lower() in ("off", "none"):
        return None
    match = _LIMIT.fullmatch(text)
    if match is None:
        return default
    count = int(match.group(1))
    unit, seconds = match.group(2), match.group(3)
    window = 60.0 if unit and unit.lower().startswith("min") else 1.0 if unit else float(seconds)
    return (count, window) if count > 0 and window > 0 else None


def with_secrets(settings: Settings, values: Mapping[str, str]) -> Settings:
    """``settings`` with secrets read from the secret store in place of the environment's: ``values`` maps a
    name of SECRET_VARIABLES to its raw value (a comma-separated list for the workspace and HMAC keys, split as
    from the environment); a name left out keeps what the environment gave."""
    fields: dict[str, object] = {}
    for name, raw in values.items():
        if name == "MEM0_API_KEY":
            fields["mem0_api_key"] = raw.strip() or None
        elif name == "ELEVENLABS_WORKSPACE_KEY":
            fields["workspace_keys"] = _split_secrets(raw)
        elif name == "ELEVENLABS_HMAC_KEY":
            fields["hmac_keys"] = _split_secrets(raw)
        elif name == "ELEVENLABS_API_KEY":
            fields["elevenlabs_api_key"] = raw.strip() or None
    return replace(settings, **fields) if fields else settings


def _aws_credentials(env: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    """The key pair (and session token) from the environment, or ``None`` when the runtime gives none there
    (Lambda SnapStart serves credentials from a container endpoint instead: boto3 then reads them)."""
    key, secret = env.get("AWS_ACCESS_KEY_ID") or "", env.get("AWS_SECRET_ACCESS_KEY") or ""
    if not key.strip() or not secret.strip():
        return None
    return key.strip(), secret.strip(), (env.get("AWS_SESSION_TOKEN") or "").strip() or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
