"""The outside services, one module each, each client built lazily and reused while the container
lives: Mem0 (``mem0``, loaded the lean way by ``mem0_loader``), the caller profile table (``profile_table``
for the worker's writes and operators, ``profile_reader`` for the read a connecting call waits on),
idempotency records (``idempotency``), ElevenLabs' conversations API (``conversations_api``), Lambda's
Invoke API (``lambda_invoke``), boto3 clients (``aws_clients``) and SigV4-signed httpx
(``aws_signed_http``), the shared TLS context (``tls``), SnapStart's restore hook (``snapstart``), and
``deadline``: the one helper that bounds any outside call a caller waits on.
May import ``domain``; never ``edge``, ``worker`` or ``operator_tools``.
"""
