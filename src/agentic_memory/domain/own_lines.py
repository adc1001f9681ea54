"""Our own lines are never callers, on every path (DESIGN.md section 5): the one rule ``client_data``,
``retrieve`` and the worker share. No I/O: the stores read the marks and hand them in.

A number is one of ours when it is configured (``AGENT_PHONE_NUMBERS``) or carries a live *mark*. Marks
are made only from evidence that says "ours":

* ``outbound``: the ``agent_number`` of an **outbound** call in a post-call payload (or the same
  conversation fetched with our API key). ElevenLabs places an outbound call from one of the workspace's
  phone numbers (``POST /v1/convai/twilio/outbound-call`` takes ``agent_phone_number_id``; the post-call
  model's ``metadata.phone_call.agent_number`` is that number: SDK
  ``ConversationHistoryMetadataCommonModelPhoneCall``, platform-notes/elevenlabs.md 4.2). The number of an
  inbound call's ``agent_number`` is not used: on a SIP trunk it is whatever the trunk put in the request
  URI (an extension, a misrouted customer's number), which is not evidence of ownership.
* ``listed``: the workspace's own phone-number list, ``GET /v1/convai/phone-numbers`` (SDK
  ``conversational_ai.phone_numbers.list``), read by reconcile when ``ELEVENLABS_API_KEY`` is set. It is
  authoritative: a listed number is ours.

A mark lasts ``MARK_DAYS`` after its last evidence and then expires, so a number that stops being ours
(ported away, recycled to a customer) is a caller again. An **inbound call from a marked number** (the
number is the call's ``external_number``) is either a staff call between two of our lines or a sign the
mark is wrong: the call is not stored (it may be a staff call), and a mark resting on ``outbound``
evidence alone is *flagged*: its life is cut to ``FLAGGED_DAYS`` unless a new outbound call renews it,
and reconcile clears a flagged mark at once when the phone-number list does not hold it. A configured or
listed number is never flagged: its owner said it is ours.

Where the marks live is the store's business (``stores.line_marks``: a key space of their own, never a
caller's profile item).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

DAY = 86_400
MARK_DAYS = 30  # a mark outlives its last evidence by this much
FLAGGED_DAYS = 7  # what a flagged mark (an inbound call came from it) keeps at most
# A listed mark is written again only when this much of its life is gone: reconcile runs every 15 minutes,
# the list rarely changes, and a write a day per number is plenty.
RENEW_AFTER_DAYS = 1
OUTBOUND = "outbound"
INBOUND = "inbound"


@dataclass(frozen=True, slots=True)
class Mark:
    """What is known about one number (E.164) being ours: until when (unix seconds) each kind of evidence
    says so, and when an inbound call from it was first seen since its last outbound evidence."""

    number: str
    listed_until: int | None = None
    outbound_until: int | None = None
    flagged_at: int | None = None

    @property
    def expires_at(self) -> int | None:
        """When the last of its evidence runs out (the store's TTL); ``None`` when it has none."""
        ends = [end for end in (self.listed_until, self.outbound_until) if end is not None]
        return max(ends) if ends else None

    def listed_at(self, now: float) -> bool:
        return self.listed_until is not None and self.listed_until > now

    def ours_at(self, now: float) -> bool:
        return self.listed_at(now) or (self.outbound_until is not None and self.outbound_until > now)


def _frozen_marks(marks: Iterable[Mark]) -> Mapping[str, Mark]:
    return MappingProxyType({mark.number: mark for mark in marks})


@dataclass(frozen=True, slots=True)
class OwnLines:
    """Our numbers as one path knows them: ``configured`` (E.164, from ``AGENT_PHONE_NUMBERS``), the marks
    it read (``number -> Mark``; expired ones count for nothing) and ``now`` (unix seconds)."""

    configured: frozenset[str] = frozenset()
    marks: Mapping[str, Mark] = field(default_factory=lambda: MappingProxyType({}))
    now: float = 0.0

    @classmethod
    def of(cls, configured: Iterable[str], marks: Iterable[Mark] = (), *, now: float) -> OwnLines:
        return cls(frozenset(configured), _frozen_marks(marks), now)

    def is_ours(self, number: str | None) -> bool:
        """True for a configured number or one with a live mark (E.164 in, as ``identity.phone`` gives)."""
        if not number:
            return False
        mark = self.marks.get(number)
        return number in self.configured or (mark is not None and mark.ours_at(self.now))

    def vouched(self, number: str) -> bool:
        """Ours on its owner's word: configured, or on the workspace's phone-number list."""
        mark = self.marks.get(number)
        return number in self.configured or (mark is not None and mark.listed_at(self.now))

    def customer(self, calling: str | None, called: str | None) -> tuple[str | None, str]:
        """The customer of a voice call from its two parties (E.164 or ``None``), and how it was decided.

        ``(calling, "inbound")`` when the calling party is not ours; ``(called, "outbound")`` when it is ours
        (ElevenLabs sends our number as ``caller_id`` / ``system__caller_id`` on outbound calls: DESIGN.md
        3.1, 3.2) and the called party is not; ``(None, "none")`` when the calling party is withheld or both
        parties are ours (a staff call between two of our lines)."""
        if calling is None:
            return None, "none"
        if not self.is_ours(calling):
            return calling, "inbound"
        if called is None or self.is_ours(called):
            return None, "none"
        return called, OUTBOUND


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a finished call means for the marks and for storage: ``store`` is ``False`` for a call whose
    caller is one of our lines; ``marks`` are the new states to write; ``flagged`` the numbers whose mark
    an inbound call just flagged."""

    store: bool
    marks: tuple[Mark, ...] = ()
    flagged: tuple[str, ...] = ()


def renewed_outbound(mark: Mark, now: int) -> Mark:
    """``mark`` after an outbound call from its number: ours for ``MARK_DAYS`` more, the flag gone."""
    return replace(mark, outbound_until=now + MARK_DAYS * DAY, flagged_at=None)


def renewed_listed(mark: Mark, now: int) -> Mark:
    """``mark`` after the phone-number list showed its number: ours for ``MARK_DAYS`` more."""
    return replace(mark, listed_until=now + MARK_DAYS * DAY)


def flagged(mark: Mark, now: int) -> Mark:
    """``mark`` after an inbound call from its number: flagged (since the first such call) and, resting on
    outbound evidence, kept for at most ``FLAGGED_DAYS``."""
    cut = now + FLAGGED_DAYS * DAY
    outbound = None if mark.outbound_until is None else min(mark.outbound_until, cut)
    return replace(mark, outbound_until=outbound, flagged_at=mark.flagged_at or now)


def after_call(
    *, direction: str | None, agent_number: str | None, external_number: str | None, lines: OwnLines
) -> Verdict:
    """The worker's rule for a finished phone call (numbers E.164 or ``None``; ``direction`` ``inbound``,
    ``outbound`` or unknown): whether to store it, and the marks it makes or flags.

    * An outbound call marks (or renews) its ``agent_number``, unless that number is configured.
    * A call whose ``external_number`` is ours is a call between our own lines: nothing is stored under
      either line. If it came in (``inbound``) from a number marked on outbound evidence only, the mark is
      flagged (``flagged``).
    """
    now = int(lines.now)
    changes: list[Mark] = []
    if direction == OUTBOUND and agent_number and agent_number not in lines.configured:
        changes.append(renewed_outbound(lines.marks.get(agent_number) or Mark(agent_number), now))
    if not external_number or not lines.is_ours(external_number):
        return Verdict(True, tuple(changes))
    flags: list[str] = []
    mark = lines.marks.get(external_number)
    if direction == INBOUND and mark is not None and not lines.vouched(external_number):
        changes.append(flagged(mark, now))
        flags.append(external_number)
    return Verdict(False, tuple(changes), tuple(flags))


@dataclass(frozen=True, slots=True)
class ListRefresh:
    """What the workspace's phone-number list changes: marks to write, numbers whose mark goes."""

    marks: tuple[Mark, ...] = ()
    cleared: tuple[str, ...] = ()


def after_listing(listed: Iterable[str], marks: Iterable[Mark], configured: Iterable[str], *, now: int) -> ListRefresh:
    """The marks after reading the workspace's phone-number list (E.164 numbers) with every stored mark.

    Each listed number that is not configured is marked ``listed`` (written again once a day at most). A
    mark whose number left the list loses its ``listed`` evidence; a flagged mark resting on outbound
    evidence alone whose number is not listed is cleared: the list is the workspace's own word, and an
    inbound call already said the number may be a customer's."""
    listed_set = set(listed) - set(configured)
    current = {mark.number: mark for mark in marks}
    writes: list[Mark] = []
    cleared: list[str] = []
    for number in sorted(listed_set):
        mark = current.get(number) or Mark(number)
        if mark.listed_until is None or mark.listed_until - now < (MARK_DAYS - RENEW_AFTER_DAYS) * DAY:
            writes.append(renewed_listed(mark, now))
    for number, mark in sorted(current.items()):
        if number in listed_set:
            continue
        if mark.flagged_at is not None or not (mark.outbound_until and mark.outbound_until > now):
            cleared.append(number)
        elif mark.listed_until is not None:
            writes.append(replace(mark, listed_until=None))
    return ListRefresh(tuple(writes), tuple(cleared))
