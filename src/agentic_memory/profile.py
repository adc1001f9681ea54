"""The caller profile: what the greeting needs, kept in DynamoDB so that it never waits on Mem0.

DESIGN.md section 6. The worker writes it after a call's memories; ``client_data`` reads it with one
``GetItem`` and answers without asking Mem0. Table ``PROFILE_TABLE``, key ``pk`` + ``sk`` (strings):

* **A profile**: ``pk`` = the caller's identity (``identity`` module: ``+14155550123``, ``web:<id>``,
  ``whatsapp:<id>``), ``sk`` = the memory scope: ``shared``, or ``agent#<agent id>`` with
  ``MEMORY_SCOPE=agent`` (so agents' profiles stay apart exactly as their memories do). Attributes:
  ``kind`` = ``profile``; ``version`` (N, the optimistic lock); ``last_started`` (N, unix seconds of the
  newest call, for people reading the table); ``expires_at`` (N, unix seconds, the table's TTL
  attribute); ``doc`` (S, the profile as JSON: all that ``client_data`` reads, see ``remembered``);
  ``calls_seen`` (S, JSON ``[[start, conversation id], ...]`` of the calls counted, newest first, at
  most ``MAX_COUNTED_CALLS``: the worker's alone, never read while a call connects).
* **One of our numbers**: ``pk`` = a number seen as ``agent_number`` in a post-call payload (always
  ours: DESIGN.md 3.3), ``sk`` = the scope, ``own_number`` = true. On an outbound call ElevenLabs sends
  our number as ``caller_id`` (DESIGN.md 3.1); unless it is in ``AGENT_PHONE_NUMBERS`` it is taken for
  the caller, and the profile read lands on this item, which says to look at the called party instead.
  The common, inbound call stays at one read.

**The newest call wins, whatever order jobs run in.** A call's place is ``(start, conversation id)``
(``Job.started``: the call's start, else the webhook's time). The worker reads the item (consistent
read), merges the call in (``merge``, a pure function whose result does not depend on the order calls
arrive in) and writes it back on condition that ``version`` is still the one it read; when another job
for the same caller wrote in between (``ConditionalCheckFailed``) it reads and merges again. So two jobs
at once lose nothing, and a repeated job (its conversation already counted) writes nothing at all.

The Mem0 part (a bounded set of the caller's recent Mem0 facts) is read at the start of a job, while
its writes run (``start_refresh``), so a Mem0 failure there never fails the job; the facts the current
call yields are still being extracted then, and reach the profile with the caller's next call.

Cold start: ``client_data`` signs its ``GetItem`` with httpx-auth's ``AWS4Auth`` on httpx (already
loaded for Mem0) rather than loading boto3 (docs/performance.md has the measurements); boto3 serves when
the runtime gives no credentials in the environment (SnapStart) and in the worker and scripts.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from agentic_memory import aws, identity
from agentic_memory.config import Settings, get_settings
from agentic_memory.kinds import KIND_SUMMARY, fact_sentence
from agentic_memory.memory import MemoryRecord
from agentic_memory.names import clean_name, stated_name
from agentic_memory.observability import logger, mask_caller
from agentic_memory.personalize import MAX_FACTS, Remembered, caller_name

if TYPE_CHECKING:  # the worker's job; client_data reads profiles without loading ingest
    from agentic_memory.ingest import Job

SHARED_SCOPE = "shared"
AGENT_SCOPE = "agent#"
KIND_PROFILE = "profile"
DOC_VERSION = 1
# Bounds: the item stays far below DynamoDB's 400 KB, and the part client_data reads (``doc``) small.
MAX_COUNTED_CALLS = 500
MAX_COLLECTED_FACTS = 20
MAX_MEM0_FACTS = 12
MAX_MEM0_FACT_CHARS = 300
MAX_WRITE_ATTEMPTS = 8
# What the worker manages on a profile item; anything else found there (an own-number mark) is kept.
MANAGED = frozenset({"pk", "sk", "kind", "version", "last_started", "expires_at", "doc", "calls_seen"})
# client_data's read: DynamoDB answers in single-digit milliseconds in-region (DynamoDB developer guide);
# past these, the Mem0 path answers instead.
READ_TIMEOUT_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 0.25
RETRY_WITHIN_SECONDS = 0.3
READ_ATTEMPTS = 2  # a passing failure (throttling, 5xx, a dropped connection) is tried once more
# DynamoDB's JSON protocol (DynamoDB API reference, "Low-level API": POST /, X-Amz-Target, JSON 1.0).
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
RETRYABLE_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class ProfileUnavailable(Exception):
    """The profile could not be read (DynamoDB failed, timed out or refused); the message is safe to log."""


class ProfileConflict(Exception):
    """Other jobs kept winning the conditional write; the job fails and Lambda retries it."""


def scope_key(app_id: str | None) -> str:
    """The sort key of a scope: ``shared`` (``app_id`` None), else ``agent#<app_id>``."""
    return SHARED_SCOPE if app_id is None else f"{AGENT_SCOPE}{app_id}"


def _key(pk: str, app_id: str | None) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": scope_key(app_id)}}


# --------------------------------------------------------------------------- the profile document


@dataclass(frozen=True, slots=True)
class Mem0Snapshot:
    """The caller's recent Mem0 facts as read by the worker at ``read_at`` (unix seconds)."""

    facts: tuple[str, ...]
    name: str
    total: int
    read_at: float


def snapshot(total: int, records: Sequence[MemoryRecord], read_at: float) -> Mem0Snapshot:
    """The bounded Mem0 part of a profile from ``MemoryStore.recent``'s records (newest first): at most
    ``MAX_MEM0_FACTS`` facts of at most ``MAX_MEM0_FACT_CHARS``, without call summaries (the last call has
    its own place) and "name is ..." facts (the name has its own place), each once."""
    facts: list[str] = []
    seen: set[str] = set()
    for record in records:
        if record.metadata.get("kind") == KIND_SUMMARY or stated_name(record.text):
            continue
        text = " ".join(record.text.split())[:MAX_MEM0_FACT_CHARS]
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            facts.append(text)
        if len(facts) >= MAX_MEM0_FACTS:
            break
    return Mem0Snapshot(tuple(facts), caller_name(records), max(total, len(records)), read_at)


@dataclass(frozen=True, slots=True)
class Stored:
    """A profile as the worker read it: the document and the calls counted."""

    doc: dict[str, Any]
    seen: list[list[Any]]


def empty_doc() -> dict[str, Any]:
    return {
        "v": DOC_VERSION,
        "name": "",
        "name_from": None,
        "last": None,
        "calls": 0,
        "facts": {},
        "mem0": None,
        "first_seen": None,
        "last_seen": None,
        "expires_at": None,
    }


def _place(job: Job) -> tuple[int, str]:
    return (job.started or 0, job.conversation_id)


def _as_place(value: Any) -> tuple[int, str]:
    return (int(value[0]), str(value[1]))


def _expiry(day: date | None) -> int | None:
    """Unix seconds at the start (UTC) of ``day``, the day the call's memories expire (Mem0's
    ``expiration_date``); ``None`` keeps the profile."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) if day else None


def merge(current: Stored | None, job: Job, mem0: Mem0Snapshot | None = None) -> Stored | None:
    """``current`` with the call of ``job`` merged in, or ``None`` when that changes nothing.

    Rules, each by the call's place ``(start, conversation id)``, so the result does not depend on the
    order calls arrive in:

    * counted once: a conversation already in ``calls_seen`` is a repeat and counts nothing (nor does
      a call older than every one of ``MAX_COUNTED_CALLS`` remembered calls: it cannot be told apart);
    * the last call (summary, title, date, outcome, conversation, start) and the expiry are the newest
      call's;
    * the name is the newest call's that gave one (``names.clean_name``); a call without a name never
      clears it;
    * each collected field keeps the newest call's value; the ``MAX_COLLECTED_FACTS`` newest fields stay;
    * first and last seen are the earliest and latest start;
    * the Mem0 facts are the freshest read's (``read_at``), and a repeat never replaces them, so a
      repeated job writes nothing at all; the Mem0 count is that read's plus the memories the call
      writes verbatim (``ingest.plan_writes``: the summary and the collected facts).
    """
    doc = copy.deepcopy(current.doc) if current else empty_doc()
    seen = [list(entry) for entry in current.seen] if current else []
    place = _place(job)
    counted = {str(entry[1]) for entry in seen}
    repeat = job.conversation_id in counted or (
        len(seen) >= MAX_COUNTED_CALLS and place < min(_as_place(entry) for entry in seen)
    )
    if not repeat:
        seen.append([place[0], place[1]])
        seen.sort(key=_as_place, reverse=True)
        del seen[MAX_COUNTED_CALLS:]
        doc["calls"] = int(doc.get("calls") or 0) + 1

    last = doc.get("last")
    if last is None or place > (int(last["started"]), str(last["conversation_id"])):
        started = job.started or 0
        doc["last"] = {
            "conversation_id": job.conversation_id,
            "started": started,
            "date": datetime.fromtimestamp(started, UTC).date().isoformat() if started else "",
            "summary": job.summary or "",
            "title": job.title or "",
            "outcome": job.call_successful or "",
            "agent_id": job.agent_id or "",
        }
        doc["expires_at"] = _expiry(job.expires_on)

    name = clean_name(job.caller_name)
    if name and (doc.get("name_from") is None or place > _as_place(doc["name_from"])):
        doc["name"], doc["name_from"] = name, [place[0], place[1]]

    facts: dict[str, Any] = doc.setdefault("facts", {})
    for label, value in job.data_collection.items():
        entry = facts.get(label)
        if entry is None or place > _as_place(entry["from"]):
            facts[label] = {"value": value, "from": [place[0], place[1]]}
    if len(facts) > MAX_COLLECTED_FACTS:
        newest = sorted(facts, key=lambda label: (_as_place(facts[label]["from"]), label), reverse=True)
        doc["facts"] = {label: facts[label] for label in newest[:MAX_COLLECTED_FACTS]}

    if job.started:
        first, latest = doc.get("first_seen"), doc.get("last_seen")
        doc["first_seen"] = job.started if first is None else min(int(first), job.started)
        doc["last_seen"] = job.started if latest is None else max(int(latest), job.started)

    held = doc.get("mem0")
    if mem0 is not None and not repeat and (held is None or mem0.read_at > float(held.get("read_at") or 0)):
        # Read before this call's writes: its verbatim memories (summary, collected facts) come on top;
        # what Mem0 extracts from the conversation is counted by the next call's read.
        from agentic_memory.ingest import plan_writes  # the worker's path: client_data never loads ingest

        total = mem0.total + sum(len(write.messages) for write in plan_writes(job) if not write.infer)
        doc["mem0"] = {"facts": list(mem0.facts), "name": mem0.name, "total": total, "read_at": mem0.read_at}

    if current is not None and doc == current.doc and seen == current.seen:
        return None
    return Stored(doc, seen)


def _unique(texts: Iterable[str]) -> list[str]:
    found: dict[str, str] = {}
    for text in texts:
        if text and text.casefold() not in found:
            found[text.casefold()] = text
    return list(found.values())


def remembered(doc: dict[str, Any]) -> Remembered:
    """What the greeting needs, from a profile document (``personalize.variables`` quotes and bounds it).

    ``count``: the Mem0 count the worker last saw, at least the number of calls. ``facts``: the collected
    fields as sentences (newest first, as the worker wrote them to Mem0), then the recent Mem0 facts.
    ``name``: the newest name a call gave, else the one Mem0's memories hold.
    """
    last = doc.get("last") or {}
    mem0 = doc.get("mem0") or {}
    collected = doc.get("facts") or {}
    newest = sorted(collected, key=lambda label: (_as_place(collected[label]["from"]), label), reverse=True)
    sentences = [fact_sentence(label, str(collected[label]["value"])) for label in newest]
    calls = int(doc.get("calls") or 0)
    return Remembered(
        count=max(calls, int(mem0.get("total") or 0), 1 if last else 0),
        name=clean_name(doc.get("name")) or clean_name(mem0.get("name")),
        facts=_unique([*sentences, *(str(fact) for fact in mem0.get("facts") or [])])[:MAX_FACTS],
        last_summary=str(last.get("summary") or last.get("title") or ""),
        last_date=str(last.get("date") or ""),
    )


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --------------------------------------------------------------------------- the worker's side


def _table(settings: Settings) -> str | None:
    return settings.profile_table


def _is_conflict(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _expired(item: dict[str, Any], now: float) -> bool:
    raw = item.get("expires_at", {}).get("N")
    return raw is not None and int(raw) <= now


def _stored(item: dict[str, Any] | None, now: float) -> Stored | None:
    """The profile of an item, or ``None`` when there is none (no item, a bare own-number mark, expired:
    DynamoDB deletes expired items only eventually, so the expiry is checked here too)."""
    if not item or item.get("kind", {}).get("S") != KIND_PROFILE or _expired(item, now):
        return None
    doc = json.loads(item["doc"]["S"])
    seen = json.loads(item.get("calls_seen", {}).get("S") or "[]")
    return Stored(doc, seen)


def update(job: Job, mem0: Mem0Snapshot | None = None, *, settings: Settings | None = None) -> str:
    """Merge the call of ``job`` into its caller's profile: ``"written"``, ``"unchanged"`` (a repeat), or
    ``"disabled"`` (no ``PROFILE_TABLE``).

    Optimistic concurrency: read (consistent), ``merge``, ``PutItem`` on condition that ``version`` is
    unchanged; a lost race reads and merges again, up to ``MAX_WRITE_ATTEMPTS``. Raises DynamoDB's
    errors (boto3 has retried the passing ones) and ``ProfileConflict``: the job then fails and Lambda
    retries it, which is safe because the memory writes are idempotent and so is this.
    """
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return "disabled"
    client = aws.client("dynamodb")
    key = _key(job.caller_id, job.app_id)
    for attempt in range(MAX_WRITE_ATTEMPTS):
        found = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        now = time.time()
        current = _stored(found, now)
        merged = merge(current, job, mem0)
        if merged is None:
            return "unchanged"
        version = int(found["version"]["N"]) if found and "version" in found else 0
        item = {name: value for name, value in (found or {}).items() if name not in MANAGED}
        item |= {
            **key,
            "kind": {"S": KIND_PROFILE},
            "version": {"N": str(version + 1)},
            "doc": {"S": _dump(merged.doc)},
            "calls_seen": {"S": _dump(merged.seen)},
        }
        if merged.doc.get("last"):
            item["last_started"] = {"N": str(int(merged.doc["last"]["started"]))}
        if merged.doc.get("expires_at"):
            item["expires_at"] = {"N": str(int(merged.doc["expires_at"]))}
        condition: dict[str, Any]
        if found is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        elif "version" not in found:
            condition = {"ConditionExpression": "attribute_not_exists(version)"}
        else:
            condition = {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(version)}},
            }
        try:
            client.put_item(TableName=table, Item=item, **condition)
        except Exception as error:
            if not _is_conflict(error):
                raise
            logger.info("profile changed meanwhile; merging again", extra={"attempt": attempt + 1})
            # Jitter so racing jobs part ways; not security, so the standard generator is right here.
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # nosec B311
            continue
        return "written"
    raise ProfileConflict(f"the profile kept changing during {MAX_WRITE_ATTEMPTS} attempts")


_marked: set[tuple[str, str]] = set()
_marked_lock = threading.Lock()


def note_own_number(agent_number: str | None, app_id: str | None, *, settings: Settings | None = None) -> bool:
    """Record ``agent_number`` (a post-call payload's ``metadata.phone_call.agent_number``, always ours) as
    one of our numbers in ``app_id``'s scope, so that ``client_data`` can tell an outbound call's
    ``caller_id`` is no caller. ``True`` when written; ``False`` when there is nothing to do (no table, no
    number, already in ``AGENT_PHONE_NUMBERS``, already written by this container). Idempotent; DynamoDB
    errors propagate."""
    settings = settings or get_settings()
    table = _table(settings)
    number = identity.phone(agent_number, settings) if agent_number else None
    if not table or not number or number in identity.own_numbers(settings):
        return False
    mark = (number, scope_key(app_id))
    if mark in _marked:
        return False
    aws.client("dynamodb").update_item(
        TableName=table,
        Key=_key(number, app_id),
        UpdateExpression="SET own_number = :yes, first_marked = if_not_exists(first_marked, :now)",
        ExpressionAttributeValues={":yes": {"BOOL": True}, ":now": {"N": str(int(time.time()))}},
    )
    with _marked_lock:
        _marked.add(mark)
    return True


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="profile")
        return _pool


def start_refresh(job: Job, *, settings: Settings | None = None) -> Future[Mem0Snapshot] | None:
    """Start reading the caller's memories for the profile's Mem0 part, in the background (``None`` without
    ``PROFILE_TABLE``). ``MemoryStore.recent`` pages and sorts them (``get_all`` has no documented order:
    DESIGN.md section 4)."""
    settings = settings or get_settings()
    if not _table(settings):
        return None
    read_at = time.time()

    def read() -> Mem0Snapshot:
        from agentic_memory import memory

        total, records = memory.get_store("worker").recent(job.caller_id, app_id=job.app_id)
        return snapshot(total, records, read_at)

    return _executor().submit(read)


def finish_refresh(refresh: Future[Mem0Snapshot] | None, wait_seconds: float) -> Mem0Snapshot | None:
    """The snapshot ``start_refresh`` read, or ``None`` when it failed or is still running after
    ``wait_seconds``: the profile then keeps the Mem0 facts it has. Never raises."""
    if refresh is None:
        return None
    try:
        return refresh.result(timeout=max(0.0, wait_seconds))
    except FutureTimeout:
        logger.warning("Mem0 read for the profile still running; keeping the profile's Mem0 facts")
    except Exception as exc:
        logger.warning("Mem0 read for the profile failed; keeping its Mem0 facts", extra={"error": type(exc).__name__})
    return None


def keep(job: Job, refresh: Future[Mem0Snapshot] | None = None, *, time_left: Callable[[], float] | None = None) -> str:
    """The worker's step after a call's memories are written: mark our number, merge the call into the
    profile (``update``'s result). DynamoDB errors propagate (the job is retried); Mem0's never do."""
    settings = get_settings()
    if not _table(settings):
        return "disabled"
    wait = settings.worker_timeout
    if time_left is not None:  # leave time for the DynamoDB writes
        wait = min(wait, max(0.0, time_left() - 5.0))
    mem0 = finish_refresh(refresh, wait)
    note_own_number(job.agent_number, job.app_id, settings=settings)
    outcome = update(job, mem0, settings=settings)
    logger.info(
        "caller profile kept",
        extra={"caller": mask_caller(job.caller_id), "profile": outcome, "mem0": mem0 is not None},
    )
    return outcome


# --------------------------------------------------------------------------- client_data's side


class _SignedReader:
    """``GetItem`` over httpx, signed with httpx-auth's ``AWS4Auth`` (AWS Signature Version 4) with the
    credentials the Lambda runtime puts in the environment. No boto3: see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        import httpx
        from httpx_auth import AWS4Auth

        if settings.aws_credentials is None:
            raise ValueError("the signed reader needs credentials in the environment")
        access_key, secret_key, token = settings.aws_credentials
        region = settings.aws_region or "us-east-1"
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        self.url = (settings.dynamodb_endpoint or f"https://dynamodb.{region}.{suffix}").rstrip("/") + "/"
        from agentic_memory import tls

        self.http = httpx.Client(
            auth=AWS4Auth(access_key, secret_key, region, "dynamodb", security_token=token),
            verify=tls.context(),  # shared with Mem0's client: the CA bundle is loaded once
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16, keepalive_expiry=60),
        )
        self._transport_error = httpx.TransportError

    def get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request).encode()
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + "GetItem"}
        started = time.monotonic()
        for attempt in range(READ_ATTEMPTS):
            last_try = attempt == READ_ATTEMPTS - 1 or time.monotonic() - started > RETRY_WITHIN_SECONDS
            try:
                response = self.http.post(self.url, content=body, headers=headers)
            except self._transport_error as exc:
                if last_try:
                    raise ProfileUnavailable(f"DynamoDB unreachable: {type(exc).__name__}") from exc
                continue
            if response.status_code == 200:
                return response.json()
            error = _error_code(response)
            if last_try or not (error in RETRYABLE_ERRORS or response.status_code >= 500):
                raise ProfileUnavailable(f"DynamoDB answered {response.status_code} {error}")
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.http.close()


def _error_code(response: Any) -> str:
    """``ResourceNotFoundException`` from DynamoDB's ``{"__type": "com.amazonaws...#ResourceNotFoundException"}``."""
    try:
        kind = response.json().get("__type", "")
    except ValueError:
        return "unreadable error"
    return str(kind).rsplit("#", 1)[-1][:80] if kind else "unknown error"


class _Boto3Reader:
    """``GetItem`` with boto3, for runtimes that give no credentials in the environment (SnapStart serves
    them from a container endpoint, which boto3's credential chain reads)."""

    def get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return aws.interactive_client("dynamodb").get_item(**request)
        except Exception as exc:
            raise ProfileUnavailable(f"DynamoDB failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        return None


_reader: _SignedReader | _Boto3Reader | None = None
_reader_lock = threading.Lock()


def _get_reader(settings: Settings) -> _SignedReader | _Boto3Reader:
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = _SignedReader(settings) if settings.aws_credentials else _Boto3Reader()
        return _reader


def reset() -> None:
    """Drop the reader and its connections (tests; SnapStart's after-restore hook)."""
    global _reader
    with _reader_lock:
        if _reader is not None:
            _reader.close()
        _reader = None
    with _marked_lock:
        _marked.clear()


def preload() -> None:
    """Build the reader now when ``PROFILE_TABLE`` is set (imports httpx-auth, makes the connection pool),
    so the cost lands in Lambda's init phase. Never raises."""
    try:
        settings = get_settings()
        if _table(settings):
            reader = _get_reader(settings)
            if isinstance(reader, _Boto3Reader):
                aws.interactive_client("dynamodb")
    except Exception:  # the request path reports the problem; init must not fail
        return


@dataclass(frozen=True, slots=True)
class Found:
    """What one read found at a key: a profile document, or the mark of one of our numbers."""

    doc: dict[str, Any] | None
    own_number: bool = False


def read(caller: str, app_id: str | None, *, settings: Settings | None = None) -> Found | None:
    """One eventually consistent ``GetItem`` for ``caller`` in ``app_id``'s scope: ``Found`` or ``None``
    (no item, or expired). Raises ``ProfileUnavailable`` for any failure, a malformed item included."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return None
    request = {
        "TableName": table,
        "Key": _key(caller, app_id),
        "ProjectionExpression": "#doc, #own, #exp, #kind",
        "ExpressionAttributeNames": {"#doc": "doc", "#own": "own_number", "#exp": "expires_at", "#kind": "kind"},
    }
    item = _get_reader(settings).get_item(request).get("Item")
    if not item or _expired(item, time.time()):
        return None
    if item.get("own_number", {}).get("BOOL"):
        return Found(None, own_number=True)
    if item.get("kind", {}).get("S") != KIND_PROFILE:
        return None
    try:
        doc = json.loads(item["doc"]["S"])
        if not isinstance(doc, dict):
            raise TypeError("not an object")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileUnavailable(f"malformed profile item: {type(exc).__name__}") from exc
    return Found(doc)


@dataclass(frozen=True, slots=True)
class Lookup:
    """client_data's answer from the profile table.

    ``caller``: the caller (re-resolved when the first read found one of our numbers); ``remembered``:
    from the profile, or ``None`` when there is none and Mem0 must be asked; ``source``: ``profile``,
    ``absent``, ``unavailable`` (DynamoDB failed) or ``disabled``; ``reads``; ``seconds`` spent.
    """

    caller: str | None
    remembered: Remembered | None
    source: str
    reads: int = 0
    seconds: float = 0.0


def lookup(request: Any, caller: str, app_id: str | None, *, settings: Settings | None = None) -> Lookup:
    """The profile of the caller of a conversation-initiation ``request`` (``InitiationRequest``), whose
    identity ``caller`` was resolved with ``identity.for_initiation``. One read; a second only when the
    first found one of our numbers (an outbound call whose number is not in ``AGENT_PHONE_NUMBERS``):
    the caller is then resolved again with that number as ours. Never raises."""
    settings = settings or get_settings()
    if not _table(settings):
        return Lookup(caller, None, "disabled")
    started = time.perf_counter()
    reads = 0
    try:
        reads += 1
        found = read(caller, app_id, settings=settings)
        if found is not None and found.own_number:
            other = identity.for_initiation(request, settings, seen_own=[caller])
            if not other or other == caller:
                return Lookup(None, None, "absent", reads, time.perf_counter() - started)
            caller = other
            reads += 1
            found = read(caller, app_id, settings=settings)
        if found is None or found.doc is None:
            return Lookup(caller, None, "absent", reads, time.perf_counter() - started)
        answer = remembered(found.doc)
    except ProfileUnavailable as exc:
        logger.warning("caller profile unavailable; asking Mem0", extra={"reason": str(exc)[:200]})
        return Lookup(caller, None, "unavailable", reads, time.perf_counter() - started)
    except Exception as exc:  # a profile this code cannot read must not fail the call either
        logger.warning("caller profile unreadable; asking Mem0", extra={"error": type(exc).__name__})
        return Lookup(caller, None, "unavailable", reads, time.perf_counter() - started)
    return Lookup(caller, answer, "profile", reads, time.perf_counter() - started)


# --------------------------------------------------------------------------- forget and export


def _items(client: Any, table: str, caller: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": caller}},
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**query)
        items.extend(page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _checked(caller: str) -> str:
    if not identity.is_identity(caller):
        raise ValueError("not a caller identity")
    return caller


def export(caller: str, *, settings: Settings | None = None) -> list[dict[str, Any]] | None:
    """Every item the profile table holds for ``caller`` (all scopes), as plain JSON-ready dicts:
    ``{"scope", "kind" ("profile" | "own_number"), "profile", "calls_counted", "expires_at", "version"}``.
    ``None`` without ``PROFILE_TABLE``. Raises ``ValueError`` for a non-identity, DynamoDB's errors."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return None
    exported = []
    for item in _items(aws.client("dynamodb"), table, _checked(caller)):
        entry: dict[str, Any] = {
            "scope": item["sk"]["S"],
            "kind": "own_number" if item.get("own_number", {}).get("BOOL") else item.get("kind", {}).get("S", ""),
        }
        if "doc" in item:
            entry["profile"] = json.loads(item["doc"]["S"])
            entry["calls_counted"] = json.loads(item.get("calls_seen", {}).get("S") or "[]")
        for name in ("expires_at", "version"):
            if name in item:
                entry[name] = int(item[name]["N"])
        exported.append(entry)
    return exported


def forget(caller: str, *, settings: Settings | None = None) -> int | None:
    """Delete every item of ``caller`` in the profile table (all scopes); the number deleted, ``None``
    without ``PROFILE_TABLE``. Raises ``ValueError`` for a non-identity, DynamoDB's errors. A job still
    running for this caller can write a profile again afterwards, as it can write memories."""
    settings = settings or get_settings()
    table = _table(settings)
    if not table:
        return None
    client = aws.client("dynamodb")
    items = _items(client, table, _checked(caller))
    for item in items:
        client.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    logger.info("caller profile forgotten", extra={"caller": mask_caller(caller), "items": len(items)})
    return len(items)


def _register_snapstart_hook() -> None:
    """Pooled connections made before a SnapStart snapshot must not be shared by restored containers."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return
    register_after_restore(reset)


_register_snapstart_hook()
