"""The base of every model of an ElevenLabs payload: fields ElevenLabs adds later are kept, not refused.

ElevenLabs grows its payloads between SDK releases (platform-notes/refresh-2026-12.md lists what 2.78
added); a model that refused unknown fields would turn each new field into a failed call or a lost
webhook. Standard library and pydantic only: the request models of ``client_data`` and ``retrieve``
build on it without loading the post-call models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ElevenLabsPayload(BaseModel):
    """Unknown fields kept (``extra="allow"``), instances frozen."""

    model_config = ConfigDict(extra="allow", frozen=True)
