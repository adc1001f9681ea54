"""The caller brief's quality suite: every story's next brief says what it must and nothing it must not.

The stories (stories.py) are played through the real handlers, the worker, the Mem0 stand-in and DynamoDB
(harness.py). scripts/brief_quality.py prints the same checks as a score, to compare trees; this test
holds this tree to all of them.
"""

from __future__ import annotations

import json

import pytest
from elevenlabs.types import GetConversationResponseModel

from tests.quality.calls import Call, webhook
from tests.quality.harness import Score, play, stack
from tests.quality.stories import Check, stories
from tests.unit.test_corpus_sdk import sdk_problems

STORIES = {story.name: story for story in stories()}


def test_the_suite_has_the_stories_the_issue_asks_for():
    # At least ten multi-call stories, each ending in at least one check with something to find
    assert len(STORIES) >= 10
    for story in STORIES.values():
        calls = [step for step in story.steps if isinstance(step, Call)]
        checks = [step for step in story.steps if isinstance(step, Check)]
        assert len(calls) >= 2, story.name
        assert checks, story.name
        assert all(check.says for check in checks), story.name


@pytest.mark.parametrize("name", sorted(STORIES))
def test_every_call_of_a_story_is_a_payload_the_sdk_accepts(name):
    # Given the calls of a story as the webhook bodies ElevenLabs would send
    calls = [step for step in STORIES[name].steps if isinstance(step, Call)]
    assert calls
    for call in calls:
        # Then each body's data is a GetConversationResponseModel, strictly (tests/unit/test_corpus_sdk.py)
        assert sdk_problems(GetConversationResponseModel, webhook(call)["data"]) == [], call.conversation_id


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STORIES))
def test_the_next_brief_says_what_it_must_and_nothing_it_must_not(name, moto_server):
    story = STORIES[name]
    # Given a stack, When the story's calls (and machine verdicts) are delivered and the caller calls again
    with stack(dynamodb_url=moto_server) as running:
        results = play(running, story)
    # Then every check finds each expected text and none of the forbidden ones
    assert results
    score = Score()
    for result in results:
        score.add(result)
        assert result.missing == [], f"{name}: missing {result.missing} in\n{result.brief}"
        assert result.leaked == [], f"{name}: leaked {result.leaked} in\n{result.brief}"
    assert score.right == score.facts > 0


@pytest.mark.slow
def test_a_caller_of_forty_calls_keeps_a_small_profile(moto_server):
    # Given the forty-call regular
    story = STORIES["forty_calls"]
    with stack(dynamodb_url=moto_server) as running:
        [result] = play(running, story)
        import boto3

        from agentic_memory.config import get_settings

        settings = get_settings()
        client = boto3.client("dynamodb", endpoint_url=moto_server)
        caller = story.steps[0].caller
        item = client.get_item(
            TableName=settings.profile_table, Key={"pk": {"S": caller}, "sk": {"S": "shared"}}, ConsistentRead=True
        )["Item"]
    # Then the item is far below DynamoDB's 400 KB, and the part client_data reads (doc) small
    doc = item["doc"]["S"]
    size = sum(len(name) + len(json.dumps(value)) for name, value in item.items())
    assert size < 16_000, size
    assert len(doc.encode()) < 6_000, len(doc)
    assert json.loads(doc)["calls"] == 40
    assert len(json.loads(doc)["recent"]) <= 5
    assert result.passed
