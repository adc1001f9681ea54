"""The "already ingested" marker that lets reconcile and backfill skip a conversation without fetching it."""

from __future__ import annotations

import time

import boto3
import pytest

from agentic_memory.stores import idempotency
from tests.support import CALLER


def test_a_marked_conversation_is_known_and_another_is_not(dynamodb_table):
    assert idempotency.was_ingested("conv_1") is False
    assert idempotency.mark_ingested("conv_1", CALLER) is True
    assert idempotency.was_ingested("conv_1") is True
    assert idempotency.was_ingested("conv_2") is False


def test_the_marker_holds_no_number_and_expires_like_powertools_records(dynamodb_table):
    idempotency.mark_ingested("conv_1", CALLER)
    item = boto3.client("dynamodb").get_item(
        TableName=dynamodb_table, Key={"id": {"S": idempotency.INGESTED_PREFIX + "conv_1"}}
    )["Item"]
    assert CALLER not in str(item)
    assert item["caller"]["S"].endswith(CALLER[-2:])
    expires = int(item["expiration"]["N"])
    assert expires == pytest.approx(time.time() + idempotency.INGESTED_EXPIRY_SECONDS, abs=5)
    # It cannot collide with Powertools' per-write records, whose ids start with the write prefix
    assert not item["id"]["S"].startswith(idempotency.KEY_PREFIX)


def test_an_expired_marker_counts_as_absent(dynamodb_table):
    # DynamoDB's TTL deletes late; an expired item still read must not count
    boto3.client("dynamodb").put_item(
        TableName=dynamodb_table,
        Item={
            "id": {"S": idempotency.INGESTED_PREFIX + "conv_old"},
            "expiration": {"N": str(int(time.time()) - 10)},
        },
    )
    assert idempotency.was_ingested("conv_old") is False


def test_a_conversation_with_nobody_to_remember_can_be_marked(dynamodb_table):
    assert idempotency.mark_ingested("conv_withheld", None) is True
    assert idempotency.was_ingested("conv_withheld") is True


def test_without_a_table_nothing_is_stored_or_found():
    assert idempotency.mark_ingested("conv_1", CALLER) is False
    assert idempotency.was_ingested("conv_1") is False


def test_a_failing_marker_write_is_reported_not_raised(dynamodb_table, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    from agentic_memory.config import get_settings

    get_settings.cache_clear()
    assert idempotency.mark_ingested("conv_1", CALLER) is False
