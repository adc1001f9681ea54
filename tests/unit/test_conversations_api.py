"""The conversations REST client (httpx) against the local fake, and the fake against the SDK's models.

The ``elevenlabs`` SDK is only a development dependency: here it judges the shapes. Every answer of the
fake validates against ``GetConversationsPageResponseModel`` / ``GetConversationResponseModel``, the SDK's
own client can page through the fake, and what our client sends is what the SDK would send.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.types import GetConversationResponseModel, GetConversationsPageResponseModel
from pydantic import ValidationError

from agentic_memory.config import get_settings
from agentic_memory.stores import conversations_api as conversations
from tests.support import finished_conversation, load_event

KEY = "test-elevenlabs-key"


@pytest.fixture
def api(elevenlabs_api):
    for index, status in enumerate(["done", "done", "failed", "in-progress", "processing"]):
        elevenlabs_api.app.add(
            finished_conversation(f"conv_{index}", ended_ago=3600 - index * 60, status=status, agent_id="agent_a")
        )
    elevenlabs_api.app.add(finished_conversation("conv_other_agent", agent_id="agent_b"))
    return elevenlabs_api


class TestTheFakeSpeaksTheSdksShapes:
    def test_every_list_page_and_conversation_validates_against_the_sdk_models(self, api):
        cursor = None
        seen = []
        while True:
            raw = httpx.get(
                f"{api.url}/v1/convai/conversations",
                params={"page_size": 2, **({"cursor": cursor} if cursor else {})},
                headers={"xi-api-key": KEY},
            ).json()
            page = GetConversationsPageResponseModel.model_validate(raw)
            seen += [summary.conversation_id for summary in page.conversations]
            if not page.has_more:
                break
            cursor = page.next_cursor
        assert sorted(seen) == sorted(["conv_0", "conv_1", "conv_2", "conv_3", "conv_4", "conv_other_agent"])
        for conversation_id in seen:
            raw = httpx.get(f"{api.url}/v1/convai/conversations/{conversation_id}", headers={"xi-api-key": KEY}).json()
            model = GetConversationResponseModel.model_validate(raw)
            assert model.conversation_id == conversation_id

    def test_the_sample_webhook_completed_as_history_validates(self, elevenlabs_api):
        # The webhook's data lacks fields the GET answer always has; the fake adds exactly those.
        data = json.loads(load_event("post_call.json")["body"])["data"]
        for flag in ("has_audio", "has_user_audio", "has_response_audio", "has_auxiliary_audio"):
            data.pop(flag, None)
        data["metadata"]["phone_call"].pop("phone_number_id", None)
        with pytest.raises(ValidationError, match="has_audio"):
            GetConversationResponseModel.model_validate(data)
        record = elevenlabs_api.app.add(data)
        GetConversationResponseModel.model_validate(record)
        # Only missing fields were added: what the webhook carried is kept as it was
        assert record["transcript"] == [
            {**t, "time_in_call_secs": int(t["time_in_call_secs"])} for t in data["transcript"]
        ]
        assert record["metadata"]["phone_call"]["external_number"] == data["metadata"]["phone_call"]["external_number"]
        assert record["analysis"]["transcript_summary"] == data["analysis"]["transcript_summary"]

    def test_the_sdk_client_itself_pages_filters_and_fetches_from_the_fake(self, api):
        client = ElevenLabs(api_key=KEY, base_url=api.url)
        first = client.conversational_ai.conversations.list(agent_id="agent_a", page_size=3, sort_direction="asc")
        assert [c.conversation_id for c in first.conversations] == ["conv_0", "conv_1", "conv_2"]
        assert first.has_more
        assert first.next_cursor
        rest = client.conversational_ai.conversations.list(
            agent_id="agent_a", page_size=3, sort_direction="asc", cursor=first.next_cursor
        )
        assert [c.conversation_id for c in rest.conversations] == ["conv_3", "conv_4"]
        assert rest.has_more is False
        assert rest.next_cursor is None
        got = client.conversational_ai.conversations.get("conv_1")
        assert got.status == "done"
        assert got.metadata.phone_call.external_number

    def test_start_filters_and_default_order_follow_the_docs(self, api):
        newest_first = conversations.list_conversations(None, sort_direction=None)["conversations"]
        starts = [c["start_time_unix_secs"] for c in newest_first]
        assert starts == sorted(starts, reverse=True)  # "Defaults to descending (newest first)"
        pivot = starts[2]
        after = conversations.list_conversations(pivot)["conversations"]
        assert all(c["start_time_unix_secs"] > pivot for c in after)
        assert len(after) == 2
        before = conversations.list_conversations(None, pivot)["conversations"]
        assert all(c["start_time_unix_secs"] <= pivot for c in before)
        assert len(before) == 4

    def test_bad_page_size_and_wrong_key_answer_as_elevenlabs_does(self, api):
        too_big = httpx.get(
            f"{api.url}/v1/convai/conversations", params={"page_size": 101}, headers={"xi-api-key": KEY}
        )
        assert too_big.status_code == 422
        assert too_big.json()["detail"][0]["loc"] == ["query", "page_size"]
        wrong = httpx.get(f"{api.url}/v1/convai/conversations", headers={"xi-api-key": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["detail"]["status"] == "invalid_api_key"


class TestClient:
    def test_sends_the_key_header_and_the_query_the_sdk_would(self, api):
        page = conversations.list_conversations(100, 2_000_000_000, "agent_a", None, 250)
        assert {c["conversation_id"] for c in page["conversations"]} == {f"conv_{i}" for i in range(5)}
        [request] = api.app.requests
        assert request.query == {
            "call_start_after_unix": ["100"],
            "call_start_before_unix": ["2000000000"],
            "agent_id": ["agent_a"],
            "page_size": ["100"],  # clamped to the documented maximum
            "sort_direction": ["asc"],
        }

    def test_fetches_one_conversation_and_reports_a_missing_one(self, api):
        assert conversations.get_conversation("conv_1")["conversation_id"] == "conv_1"
        with pytest.raises(conversations.NotFound):
            conversations.get_conversation("conv_missing")
        with pytest.raises(conversations.NotFound):
            conversations.get_conversation("  ")

    def test_one_client_per_container_is_reused(self, api):
        conversations.list_conversations(0)
        conversations.get_conversation("conv_0")
        assert len(conversations._clients) == 1

    def test_honours_retry_after_seconds(self, api):
        api.app.knobs.update(fail_times=2, retry_after=3)
        waits = []
        page = conversations.list_conversations(0, sleep=waits.append)
        assert waits == [3.0, 3.0]
        assert len(page["conversations"]) == 6

    def test_without_retry_after_backs_off_exponentially(self, api):
        api.app.knobs.update(fail_times=3, fail_status=503, retry_after=None)
        waits = []
        conversations.get_conversation("conv_0", sleep=waits.append)
        assert waits == [0.5, 1.0, 2.0]

    def test_a_wait_longer_than_the_caller_has_is_handed_back(self, api):
        api.app.knobs.update(fail_times=1, retry_after=20)
        waits = []
        with pytest.raises(conversations.RateLimited) as raised:
            conversations.list_conversations(0, time_left=lambda: 25.0, sleep=waits.append)
        assert raised.value.retry_after == 20
        assert raised.value.status == 429
        assert waits == []

    def test_gives_up_after_its_attempts(self, api):
        api.app.knobs.update(fail_times=10, retry_after=0)
        with pytest.raises(conversations.RateLimited):
            conversations.list_conversations(0, sleep=lambda _: None)
        assert len(api.app.requests) == conversations.ATTEMPTS

    def test_a_wrong_key_is_not_retried(self, api, monkeypatch):
        monkeypatch.setenv("ELEVENLABS_API_KEY", "wrong")
        get_settings.cache_clear()
        with pytest.raises(conversations.ConversationsError) as raised:
            conversations.list_conversations(0, sleep=lambda _: pytest.fail("must not wait"))
        assert raised.value.status == 401
        assert len(api.app.requests) == 1

    def test_no_key_means_no_request(self, api, monkeypatch):
        monkeypatch.delenv("ELEVENLABS_API_KEY")
        get_settings.cache_clear()
        with pytest.raises(conversations.NotConfigured):
            conversations.list_conversations(0)
        assert api.app.requests == []

    def test_no_answer_is_retried_then_reported(self, monkeypatch):
        monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
        monkeypatch.setenv("ELEVENLABS_API_BASE", "http://127.0.0.1:9")  # discard port: refused
        get_settings.cache_clear()
        waits = []
        with pytest.raises(conversations.RateLimited) as raised:
            conversations.list_conversations(0, sleep=waits.append)
        assert raised.value.status is None
        assert len(waits) == conversations.ATTEMPTS - 1
        conversations.reset_client()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (None, None),
        ("soon", None),
        ("-1", None),
    ],
)
def test_retry_after_in_seconds(header, expected):
    assert conversations.retry_after_seconds(header) == expected


def test_retry_after_as_an_http_date():
    now = time.time()
    later = format_datetime(datetime.fromtimestamp(now, UTC) + timedelta(seconds=90), usegmt=True)
    assert conversations.retry_after_seconds(later, now=now) == pytest.approx(90, abs=1)
    earlier = format_datetime(datetime.fromtimestamp(now, UTC) - timedelta(seconds=90), usegmt=True)
    assert conversations.retry_after_seconds(earlier, now=now) == 0
