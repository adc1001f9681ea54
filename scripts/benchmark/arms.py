"""What is measured: the handlers, the libraries arms they are judged against, the modules watched in a
cold child, each endpoint's reference call, and the requests each endpoint is served."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FUNCTION = "agentic-memory-post-call"
CALLER = "+16129782029"  # the returning caller every part asks about
HANDLERS = {"client_data": "client_data.handler", "retrieve": "retrieve.handler", "post_call": "post_call.handler"}
HEAVY = ("qdrant_client", "numpy", "openai", "sqlalchemy", "grpc")
WATCHED = (*HEAVY, "boto3", "botocore", "posthog", "requests", "h2")
# The libraries client_data and retrieve cannot do without, doing the same outside work with none of our
# domain code (child.CHILD's "libraries" arm): Powertools, libphonenumber, mem0ai's MemoryClient and its one call.
LIBRARIES = "libraries:"
LIBRARY_WORK = {
    "client_data": {"call": "get_all", "powertools": True, "phonenumbers": True},
    "retrieve": {"call": "search", "query": "What did I order last time?", "powertools": True, "phonenumbers": True},
}
# --floor-parts: client_data's libraries arm with a part left out, to show what each part costs.
FLOOR_PARTS = {
    "without Powertools": {"powertools": False},
    "without libphonenumber": {"phonenumbers": False},
    "mem0ai's client alone": {"powertools": False, "phonenumbers": False},
}
# The handlers whose cold start is also measured with their keys in Secrets Manager (moto's, its own process)
# instead of the environment: the arm's name is the handler's plus SECRETS (issue 24).
SECRETS = "+secrets"
SECRETS_ARMS = ("client_data", "post_call")
# Each endpoint's one outside call, made directly in the warm run's threads: its yardstick (warm.references).
REFERENCES = {"client_data": "Mem0 get_all", "retrieve": "Mem0 search", "post_call": "Lambda invoke"}


def events(workspace_key: str, hmac_key: str, caller: str) -> dict[str, Callable[[], dict[str, Any]]]:
    """Fresh API Gateway events per endpoint (post_call re-signed each time, as ElevenLabs does)."""
    from tests.support import http_event, post_call_body, signed_headers

    header = {"x-workspace-key": workspace_key}
    initiation = {"caller_id": caller, "agent_id": "agent_bench", "called_number": "+18005551234"}
    body = post_call_body()
    return {
        "client_data": lambda: http_event("/client-data", initiation, header),
        "retrieve": lambda: http_event(
            "/retrieve", {"query": "What did I order last time?", "user_id": caller}, header
        ),
        "post_call": lambda: http_event("/post-call", body, signed_headers(body, key=hmac_key)),
    }


def long_call_body(turns: int, conversation_id: str) -> bytes:
    """A post-call webhook body whose transcript has ``turns`` turns, caller and agent in turn."""
    from tests.support import post_call_body

    lines = [
        "I would like to change my delivery to weekday mornings.",
        "Sure, I can help with that. Which address is it for?",
        "The one on Elm Street, and please leave it with the concierge.",
        "Noted. Anything else I can do for you today?",
    ]
    transcript = [
        {
            "role": "user" if i % 2 == 0 else "agent",
            "message": f"{lines[i % len(lines)]} (turn {i})",
            "time_in_call_secs": i * 4,
        }
        for i in range(turns)
    ]
    return post_call_body(transcript=transcript, conversation_id=conversation_id)
