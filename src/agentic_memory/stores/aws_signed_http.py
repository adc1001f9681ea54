"""AWS APIs over httpx, signed with httpx-auth's ``AWS4Auth`` (AWS Signature Version 4): the paths where
loading boto3 would cost a waiting caller more than the request itself.

``client_data``'s profile read (``profile_reader``) and the post-call acknowledgement's self-invoke
(``lambda_invoke``) each make one small request per invocation; importing boto3 and building its client
cost about 125 ms of cold start (docs/performance.md). They sign with the credentials the Lambda runtime
puts in the environment (``Settings.aws_credentials``: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, Lambda's "defined runtime environment variables"); where the environment has none
(SnapStart serves them from a container endpoint) the callers use boto3 instead.
"""

from __future__ import annotations

from typing import Any

from agentic_memory.config import Settings


def service_url(service: str, settings: Settings, override: str | None) -> str:
    """``https://<service>.<region>.amazonaws.com`` (``.com.cn`` in China's regions), or ``override``
    (boto3's ``AWS_ENDPOINT_URL_<SERVICE>``); no trailing slash. Region: ``AWS_REGION``, else us-east-1."""
    region = settings.aws_region or "us-east-1"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return (override or f"https://{service}.{region}.{suffix}").rstrip("/")


def signed_client(
    settings: Settings,
    service: str,
    *,
    read_seconds: float,
    connect_seconds: float,
    max_connections: int,
    transport: Any = None,
) -> Any:
    """An ``httpx.Client`` whose every request is signed for ``service`` (``"dynamodb"``, ``"lambda"``) in
    ``AWS_REGION`` with the environment's credentials; its TLS context is the container's shared one
    (``tls``). ``transport`` is httpx's, for tests. Raises ``ValueError`` when the environment holds no
    credentials."""
    import httpx
    from httpx_auth import AWS4Auth

    from agentic_memory.stores import tls

    if settings.aws_credentials is None:
        raise ValueError("signing needs credentials in the environment")
    access_key, secret_key, token = settings.aws_credentials
    return httpx.Client(
        auth=AWS4Auth(access_key, secret_key, settings.aws_region or "us-east-1", service, security_token=token),
        verify=tls.context(),
        timeout=httpx.Timeout(read_seconds, connect=connect_seconds),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=60
        ),
        transport=transport,
    )
