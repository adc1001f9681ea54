"""Numbers as callers say them: across separators, hesitations and turns.

A caller reads a card to a voice agent in chunks: "4111" / agent "Mm-hmm." / "1111" / ... ; speech-to-text
writes "4111. 1111. 1111. 1111." or "4111 1111 and then 1111 1111"; a caller's answer may be cut into two
turns in a row; the agent reads a chunk back. A *chain* is the tokens of one such number: two tokens are
in one chain when only separators and fillers stand between them (``number_words.CONNECTOR``, at most
``WITHIN_TURN_GAP_CHARS``), or when they are in different turns and what stands between is the end of
one turn and the start of the other made of separators and fillers, and at most ``ACK_MAX_TURNS`` whole
turns that are acknowledgements (no number, at most ``ACK_MAX_WORDS`` words and ``ACK_MAX_CHARS``
characters, no word naming another number: ``number_words.BARRIER_WORDS``).

A chain is read twice: as said, and without echoes (a group said again in another turn right after it was
said: the agent reading a chunk back, a caller repeating one). A number found in the second reading takes
its echoes with it, so the read-back chunk is replaced too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from agentic_memory.domain.redaction import number_words as words
from agentic_memory.domain.redaction.document import WITHIN_TURN_GAP_CHARS, Document
from agentic_memory.domain.redaction.kinds import Piece
from agentic_memory.domain.redaction.normalise import TURN_BREAK

ACK_MAX_TURNS = 2
ACK_MAX_WORDS = 4
ACK_MAX_CHARS = 40
_WORD = re.compile("[^\\W\\d_]+")

# A reading: token indices in order, and the echoes left out of it (echo index -> the index it repeats).
Reading = tuple[list[int], dict[int, int]]


def is_acknowledgement(turn: str) -> bool:
    """A whole turn that only acknowledges ("Mm-hmm.", "Okay, go on."): short, no number, no number's name."""
    return (
        len(turn.strip()) <= ACK_MAX_CHARS
        and not any(char.isdigit() for char in turn)
        and len(_WORD.findall(turn)) <= ACK_MAX_WORDS
        and not words.BARRIER.search(turn)
    )


_LONGEST_GAP = 2 * WITHIN_TURN_GAP_CHARS + ACK_MAX_TURNS * (ACK_MAX_CHARS + 1) + 1


def connects(doc: Document, left: int, right: int) -> bool:
    """Tokens ``left`` and ``right`` (indices, in order) belong to one spoken number."""
    first, second = doc.tokens[left], doc.tokens[right]
    if second.start - first.end > _LONGEST_GAP:
        return False
    gap = doc.low[first.end : second.start]
    if TURN_BREAK not in gap:
        return doc.joined(first, second)
    tail, *middle, head = gap.split(TURN_BREAK)
    if len(middle) > ACK_MAX_TURNS:
        return False
    for edge in (tail, head):
        if edge and (len(edge) > WITHIN_TURN_GAP_CHARS or not words.CONNECTOR.fullmatch(edge)):
            return False
    return all(is_acknowledgement(turn) for turn in middle)


SHORTEST_CHAIN = 9  # digits: the shortest number read from its groups alone (an SSN)


def chains(doc: Document, *, shortest: int) -> list[list[int]]:
    """The spoken numbers of ``doc`` that hold at least ``shortest`` digits (at least SHORTEST_CHAIN), as lists
    of token indices."""
    if doc.chains is None:
        doc.chains = _chains(doc)
    return [chain for chain in doc.chains if sum(len(doc.tokens[index].digits) for index in chain) >= shortest]


def _chains(doc: Document) -> list[list[int]]:
    shortest = SHORTEST_CHAIN
    found = []
    current: list[int] = []
    size = 0
    for index in range(len(doc.tokens)):
        if current and connects(doc, current[-1], index):
            current.append(index)
            size += len(doc.tokens[index].digits)
            continue
        if size >= shortest:
            found.append(current)
        current, size = [index], len(doc.tokens[index].digits)
    if current and size >= shortest:
        found.append(current)
    return found


def readings(doc: Document, sequence: Sequence[int]) -> list[Reading]:
    """``sequence`` as said, and, when it holds echoes, without them. An echo is what one turn says of the
    number when it is exactly the groups read just before it, in another turn, that no turn echoed yet."""
    as_said: Reading = (list(sequence), {})
    if not doc.breaks_between(doc.tokens[sequence[0]].start, doc.tokens[sequence[-1]].end):
        return [as_said]  # one turn: nothing is an echo
    kept: list[int] = []
    echoed: set[int] = set()
    echoes: dict[int, int] = {}
    for turn in _by_turn(doc, sequence):
        said = [doc.tokens[index].digits for index in turn]
        before = kept[-len(turn) :]
        if (
            len(before) == len(turn)
            and [doc.tokens[index].digits for index in before] == said
            and not echoed.intersection(before)
            and doc.turn_of(doc.tokens[before[-1]].start) != doc.turn_of(doc.tokens[turn[0]].start)
            and len("".join(said)) >= 2
        ):
            echoes.update(zip(turn, before, strict=True))
            echoed.update(before)
        else:
            kept.extend(turn)
    return [as_said, (kept, echoes)] if echoes else [as_said]


def _by_turn(doc: Document, sequence: Sequence[int]) -> list[list[int]]:
    turns: list[list[int]] = []
    last = -1
    for index in sequence:
        turn = doc.turn_of(doc.tokens[index].start)
        if turn == last:
            turns[-1].append(index)
        else:
            turns.append([index])
            last = turn
    return turns


def with_echoes(window: Sequence[int], echoes: dict[int, int]) -> list[int]:
    """The tokens of a number found in a reading, with the echoes of its groups and those said amid it."""
    inside = set(window)
    first, last = window[0], window[-1]
    extra = [echo for echo, source in echoes.items() if source in inside or first < echo < last]
    return sorted(inside.union(extra))


def pieces(doc: Document, indices: Iterable[int]) -> tuple[Piece, ...]:
    """Where tokens were said, one piece per turn: from the first token to the last in that turn."""
    spans: dict[int, list[int]] = {}
    for index in sorted(indices):
        token = doc.tokens[index]
        turn = doc.turn_of(token.start)
        if turn in spans:
            spans[turn][1] = token.end
        else:
            spans[turn] = [token.start, token.end]
    return tuple((start, end) for start, end in spans.values())


def segments(doc: Document, reading: Sequence[int]) -> list[list[int]]:
    """A reading cut where one tight run (a group written in one breath) ends and another starts."""
    cut: list[list[int]] = []
    for index in reading:
        if cut and doc.run_of[cut[-1][-1]] == doc.run_of[index]:
            cut[-1].append(index)
        else:
            cut.append([index])
    return cut
