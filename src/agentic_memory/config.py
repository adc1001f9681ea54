"""The one place that reads the environment.

Settings are read once per container and cached: Lambda keeps the environment fixed for the life
of a container, and reading it once keeps business code free of ``os.environ``. Tests that change
the environment call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

OVERRIDE_FIELDS = frozenset({"first_message", "prompt"})
# /tmp is the only writable place on Lambda, and mem0 keeps nothing there but an anonymous id.
DEFAULT_MEM0_DIR = "/tmp/.mem0"  # nosec B108


def _split_secrets(raw: str | None) -> tuple[str, ...]:
    """Comma-separated secrets, so two can be valid at once while one is being rotated."""
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


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
    default_country_code: str
    max_body_bytes: int
    max_post_call_body_bytes: int
    greeting_new: str
    greeting_returning: str
    greeting_returning_named: str
    override_prompt_template: str | None

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
        default_country_code=(env.get("DEFAULT_COUNTRY_CODE") or "1").lstrip("+"),
        max_body_bytes=64 * 1024,
        # Transcripts of long calls are large; API Gateway caps a request at 10 MB anyway.
        max_post_call_body_bytes=10 * 1024 * 1024,
        greeting_new=env.get("GREETING_NEW") or "Hello! How can I help you today?",
        greeting_returning=env.get("GREETING_RETURNING") or "Welcome back! How can I help you today?",
        greeting_returning_named=env.get("GREETING_RETURNING_NAMED")
        or "Welcome back, {name}! How can I help you today?",
        override_prompt_template=env.get("OVERRIDE_PROMPT_TEMPLATE") or None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
