"""Who the caller is: one resolver for every entry point (DESIGN.md section 5).

An identity is the string used as Mem0's ``user_id`` and as the caller profile's key:

* ``+14155550123``: a telephone caller, in E.164, parsed with Google's libphonenumber
  (``phonenumberslite``, the Python port without the geocoding and carrier data);
* ``web:<id>``: a widget/SDK user, from the ``user_id`` the web client gave ElevenLabs;
* ``whatsapp:<id>``: a WhatsApp user id (ElevenLabs' ``whatsapp_user_id``).

``None`` means *no caller*: nothing is read or written and the call goes on. That is the answer for
withheld numbers (the words and numbers carriers use for them), for our own numbers, and for anything
that is not a possible telephone number or a well-formed id. Non-phone ids are namespaced and drawn
from a strict character set, so they can never collide with a phone number (web user ``4155550123``
stays ``web:4155550123``) and never reach Mem0 as a filter operator (``*`` means "any non-null value"
in Mem0's filters: DESIGN.md section 4).

Direction: ElevenLabs' ``caller_id`` / ``system__caller_id`` is the *calling party*: the customer
inbound, **our own number outbound** (ElevenLabs personalization docs: "On outbound calls, caller_id is
your number and called_number is the person being dialed"; platform-notes/elevenlabs.md section 2).
The post-call webhook's ``metadata.phone_call.external_number`` is always the customer (SDK model
``ConversationHistoryMetadataCommonModelPhoneCall``); at call start, a number that is one of ours is
never the caller, and the other party is. Which numbers are ours is ``own_lines``' rule
(``AGENT_PHONE_NUMBERS`` and the marks the stores read); the functions here take an ``OwnLines`` and
fall back to the configured numbers alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import phonenumbers

from agentic_memory.config import Settings
from agentic_memory.domain.own_lines import OwnLines

WEB = "web"
WHATSAPP = "whatsapp"
NAMESPACES = (WEB, WHATSAPP)

# What carriers, SIP servers and SDKs put where a number is withheld (RFC 3323's anonymous URI,
# Twilio's "Anonymous"/"Restricted", "Unknown Caller", "Private Number", "null" from a client bug).
WITHHELD_WORDS = frozenset(
    {
        "anonymous",
        "restricted",
        "unknown",
        "unknown caller",
        "private",
        "private number",
        "private caller",
        "unavailable",
        "withheld",
        "blocked",
        "no caller id",
        "no caller-id",
        "not available",
        "null",
        "none",
        "undefined",
        "nil",
        "nan",
        "guest",
        "anonymous caller",
        "unknown number",
        "out of area",
        "payphone",
        "caller id blocked",
    }
)
# Numbers that stand for a withheld caller: Twilio presents them as the keypad spelling of a word
# (Twilio help centre, "Why am I getting calls from these strange numbers?", article 223179988):
# 266696687 ANONYMOUS, 7378742833 RESTRICTED, 2562533 BLOCKED, 8656696 UNKNOWN, 86282452253 UNAVAILABLE.
WITHHELD_NUMBERS = frozenset({"266696687", "7378742833", "2562533", "8656696", "86282452253", "0000000000", "0"})

_URI = re.compile(r"^(?:(?P<display>.*?)\s*<(?P<inner>[^<>]*)>|(?P<bare>.*))$", re.S)
_SCHEME = re.compile(r"^(?:tel|sip|sips|whatsapp|wa):", re.I)
_NUMBER_CHARS = re.compile(r"[\s().\-/\u00a0\u2010-\u2015]")
_DIGITS = re.compile(r"\+?\d{3,20}")
# Ids we mint for non-phone users: letters, digits and a few separators, bounded. No "*", no braces
# (an unresolved "{{system__caller_id}}" template must not make every such call share one memory),
# no spaces, no control characters, no ":" so a namespace can never be forged inside an id.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+\-=]{0,127}")


def _withheld(text: str) -> bool:
    lowered = " ".join(text.lower().replace("_", " ").split()).strip("\"' ")
    return lowered in WITHHELD_WORDS or lowered.startswith("anonymous") or lowered.startswith("restricted")


def _uri_user(text: str) -> str:
    """The number-bearing part of ``"Front Desk" <sip:+15550100005@host;user=phone>``,
    ``tel:+1-555-010-0006;ext=12`` or ``sip:15550100007@trunk``: the user part, without parameters."""
    match = _URI.match(text.strip())
    inner = (match.group("inner") if match and match.group("inner") is not None else text).strip()
    if not _SCHEME.match(inner):
        return inner
    inner = _SCHEME.sub("", inner)
    inner = inner.split("@", 1)[0]
    return inner.split(";", 1)[0].split("?", 1)[0]


def phone(raw: Any, settings: Settings) -> str | None:
    """``raw`` as an E.164 number (``"+14155550123"``), or ``None`` for no caller.

    Accepts what ElevenLabs and SIP carriers send: ``"+1 415 555 0123"``, ``"14155550123"`` (SIP
    without ``+``), a national number in ``DEFAULT_REGION`` (``"07700 900123"`` with ``GB``),
    ``"tel:+14155550123"``, ``"<sip:+14155550123@host>"`` with or without a display name, and data
    collection's integers. Withheld words and numbers, and anything that is not a *fully possible*
    number for its country (libphonenumber's length rules, ``IS_POSSIBLE``), give ``None``. Fully: a
    number libphonenumber finds possible only as a local number (``IS_POSSIBLE_LOCAL_ONLY``: the 7-digit
    ``5550123`` in the US, dialled without its area code) names no one caller, since every area code
    has its own ``555-0123``. Possible rather than valid: libphonenumber's validity tables lag new number
    ranges, and refusing a real caller's new number would forget them; a string that is no number at
    all still never passes.
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str) or len(raw) > 256:
        return None
    text = raw.strip()
    if not text or _withheld(text):
        return None
    user = _uri_user(text)
    if not user or _withheld(user):
        return None
    candidate = _NUMBER_CHARS.sub("", user)
    if not _DIGITS.fullmatch(candidate) or not candidate.lstrip("+").isascii():
        return None
    if candidate.lstrip("+") in WITHHELD_NUMBERS:
        return None
    number = _parse(candidate, settings.default_region)
    if number is None:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None if e164.lstrip("+") in WITHHELD_NUMBERS else e164


def _parse(candidate: str, region: str) -> Any:
    attempts = [(candidate, None)] if candidate.startswith("+") else [(candidate, region), ("+" + candidate, None)]
    for text, hint in attempts:
        try:
            number = phonenumbers.parse(text, hint)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE:
            return number
    return None


def namespaced(namespace: str, raw: Any) -> str | None:
    """``"<namespace>:<id>"`` for a non-phone id, or ``None`` when ``raw`` is not a well-formed id.

    The id is kept exactly (never rewritten: two different ids must never become one); an id outside
    the strict character set, or a placeholder word (``"null"``, ``"anonymous"``), is no caller.
    """
    if namespace not in NAMESPACES or isinstance(raw, bool) or raw is None:
        return None
    text = str(raw).strip() if isinstance(raw, int | str) else ""
    if namespace == WHATSAPP and text.startswith("+") and text[1:].isdigit():
        text = text[1:]  # a WhatsApp user id is the number's digits (wa_id); "+" adds nothing
    if not text or _withheld(text) or not _ID.fullmatch(text):
        return None
    return f"{namespace}:{text}"


def own_numbers(settings: Settings, seen: Iterable[str] = ()) -> frozenset[str]:
    """Our configured numbers (``AGENT_PHONE_NUMBERS``), plus ``seen`` ones, as E.164."""
    found = {phone(number, settings) for number in (*settings.agent_phone_numbers, *seen)}
    found.discard(None)
    return frozenset(found)  # type: ignore[arg-type]


def configured_lines(settings: Settings, *, now: float = 0.0) -> OwnLines:
    """Our lines as known without any store: the configured numbers alone."""
    return OwnLines.of(own_numbers(settings), now=now)


def numbers_named(settings: Settings, *raw: Any) -> list[str]:
    """The E.164 numbers among ``raw`` (a request's calling and called party) that are not configured as
    ours: the ones whose marks a path reads before deciding who the customer is. Order kept, no repeats."""
    ours = own_numbers(settings)
    found: list[str] = []
    for value in raw:
        number = phone(value, settings)
        if number and number not in ours and number not in found:
            found.append(number)
    return found


def calling_party(
    caller: Any, called: Any, settings: Settings, *, lines: OwnLines | None = None
) -> tuple[str | None, str]:
    """The customer on a voice call, from the calling and called party, and which one it was.

    Returns ``(identity, how)``; ``how`` is ``"inbound"``, ``"outbound"`` (the calling party is one of
    our numbers, so the customer is the called party) or ``"none"``. A withheld calling party is no
    caller: the called party is then our own number on an inbound call, never the customer. ``lines``:
    our numbers with their marks (``own_lines``); without it, the configured numbers alone.
    """
    known = lines if lines is not None else configured_lines(settings)
    return known.customer(phone(caller, settings), phone(called, settings))


def _written_as_number(value: Any) -> bool:
    """A party written the way telephony writes numbers: ``+...`` or a ``tel:``/``sip:`` URI or display form."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text.startswith("+") or bool(_SCHEME.match(text)) or "<" in text


def _whatsapp_number_id(value: Any) -> bool:
    """Our WhatsApp phone-number id (Meta's ``phone_number_id``, a Graph API object id: a long digit string
    such as ``106540352242922``), as ElevenLabs sends it for ``called_number`` on WhatsApp: ten digits or
    more, not written as a number, and no fully possible phone number even read as international."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text.isdigit() and text.isascii() and len(text) >= 10 and _parse("+" + text, "ZZ") is None


def _whatsapp_user(caller: Any, called: Any, call_sid: Any, lines: OwnLines, settings: Settings, *, sip: bool) -> Any:
    """The WhatsApp user id of a conversation whose ``call_sid`` is empty, or ``None`` when it is no
    WhatsApp conversation.

    ElevenLabs sends ``call_sid`` as ``""`` on WhatsApp **and** on Twilio SMS (personalization docs, 2026:
    platform-notes/elevenlabs.md 1.2, refresh-2026-12.md E6), and a SIP trunk that sends no call id leaves
    it empty too, so the empty SID alone decides nothing. Inbound WhatsApp: ``caller_id`` is the user's
    WhatsApp id (Meta's ``wa_id``, digits without ``+``, or a business-scoped id such as ``US.1349...``),
    never written as a number, and ``called_number`` is our WhatsApp phone-number id
    (``_whatsapp_number_id``), not a phone number. Outbound (``caller_id`` is one of our lines): the user
    is ``called_number``, again not written as a number. A SIP request (``call_id`` or ``sip_headers``
    present) is never WhatsApp, nor is a party written as a number (``+...``, a URI): an SMS sender's.
    """
    if call_sid != "" or sip or caller is None or isinstance(caller, bool):
        return None
    if not _written_as_number(caller) and _whatsapp_number_id(called):
        return caller
    calling = phone(caller, settings)
    if calling and lines.is_ours(calling) and called is not None and not _written_as_number(called):
        return called
    return None


def _is_sip(request: Any) -> bool:
    extra = getattr(request, "model_extra", None) or {}
    return any(extra.get(name) not in (None, "", {}) for name in ("call_id", "sip_headers"))


def for_initiation(request: Any, settings: Settings, *, lines: OwnLines | None = None) -> str | None:
    """The caller of a conversation-initiation webhook (``InitiationRequest``), or ``None``.

    WhatsApp: ``call_sid`` is empty, ``caller_id`` is the WhatsApp user id and ``called_number`` our
    WhatsApp phone-number id (personalization docs, 2026; platform-notes/elevenlabs.md 1.2); an empty
    ``call_sid`` alone does not make a WhatsApp caller (``_whatsapp_user``). Voice: see ``calling_party``;
    ``lines`` as there.
    """
    known = lines if lines is not None else configured_lines(settings)
    user = _whatsapp_user(
        request.caller_id, request.called_number, request.call_sid, known, settings, sip=_is_sip(request)
    )
    if user is not None:
        return namespaced(WHATSAPP, user)
    identity, _ = calling_party(request.caller_id, request.called_number, settings, lines=known)
    return identity


def for_tool(request: Any, settings: Settings, *, lines: OwnLines | None = None) -> str | None:
    """The caller of a server-tool request (``RetrieveRequest``) from the system variables it carries.

    ``caller_id`` is bound to ``system__caller_id`` and ``called_number`` to ``system__called_number``:
    both exist on every conversation (``null`` on web calls), so binding them never fails a call. The
    schema of earlier versions sent ``system__caller_id`` as ``user_id``; it is read the same way.
    ``call_sid`` (``system__call_sid``) is ``""`` on WhatsApp (and on SMS: ``_whatsapp_user``). Web
    calls have no caller here: the endpoint asks ElevenLabs for the conversation's ``user_id``
    (``web_identity``). On an outbound call ``caller_id`` is our number and the customer is
    ``called_number`` (``lines``: our numbers with their marks, as ``calling_party`` takes them).
    """
    caller = request.caller_id if request.caller_id is not None else request.user_id
    known = lines if lines is not None else configured_lines(settings)
    user = _whatsapp_user(caller, request.called_number, request.call_sid, known, settings, sip=False)
    if user is not None:
        return namespaced(WHATSAPP, user)
    identity, _ = calling_party(caller, request.called_number, settings, lines=known)
    return identity


def for_finished_call(data: Any, settings: Settings) -> str | None:
    """The caller of a finished conversation (post-call ``TranscriptionData``), or ``None``.

    Order (DESIGN.md 3.3, section 5): a phone call's ``metadata.phone_call.external_number`` (always
    the customer, whatever the direction); a WhatsApp conversation's ``metadata.whatsapp.whatsapp_user_id``
    (SDK ``WhatsAppConversationInfo``); a web call's ``user_id`` (``phone_call`` is null and the
    ``system__*`` variables are null on web calls: CAP-2 in the platform notes). A withheld external
    number is no caller, never a fall-through to another field.
    """
    metadata = data.metadata
    call = metadata.phone_call
    if call is not None:
        number = phone(call.external_number, settings)
        return None if number in own_numbers(settings, [call.agent_number] if call.agent_number else []) else number
    whatsapp = metadata.whatsapp
    if isinstance(whatsapp, dict) and whatsapp.get("whatsapp_user_id"):
        return namespaced(WHATSAPP, whatsapp.get("whatsapp_user_id"))
    if metadata.conversation_initiation_source == "whatsapp":
        return None
    if data.user_id:
        return namespaced(WEB, data.user_id)
    variables = data.conversation_initiation_client_data.dynamic_variables
    identity, _ = calling_party(variables.get("system__caller_id"), variables.get("system__called_number"), settings)
    return identity


def from_operator_input(raw: str, settings: Settings) -> str | None:
    """An identity typed by an operator (scripts): a phone number in any form, ``web:<id>`` or
    ``whatsapp:<id>``. ``None`` when it is none of these."""
    text = (raw or "").strip()
    namespace, sep, rest = text.partition(":")
    if sep and namespace.lower() in NAMESPACES:
        return namespaced(namespace.lower(), rest)
    return phone(text, settings)


def is_identity(value: Any) -> bool:
    """True for a string this module could have produced (a job's ``caller_id`` is checked with it)."""
    if not isinstance(value, str):
        return False
    namespace, sep, rest = value.partition(":")
    if sep:
        return namespaced(namespace, rest) == value
    return value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16
