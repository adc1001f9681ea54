"""Text as payloads carry it: one clean line (the normaliser of the job's fields), and the shape of a
conversation id."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

# The conversation ids we accept: what ElevenLabs issues (``conv_...``), bounded, never blank or invisible.
CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:]{0,199}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def single_line(value: Any, limit: int) -> str | None:
    """A single-line text of at most ``limit`` characters from a string, number or boolean (``"yes"`` /
    ``"no"``), or ``None`` (null, empty, not finite, any other type). NFC; control and bidirectional-override
    characters become spaces (they carry no meaning and inflate the job); whitespace collapsed."""
    if isinstance(value, bool) or value is None:
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str):
        text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", str(value))).split())
        return text[:limit] if text else None
    return None
