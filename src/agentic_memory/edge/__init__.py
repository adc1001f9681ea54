"""The HTTP edge: API Gateway HTTP API events in, Lambda proxy responses out.

``http`` parses events and maps domain errors to status codes in one place (``respond``); ``auth``
checks the workspace key and the webhook signature; ``requests`` types what ElevenLabs sends to
``client_data`` and ``retrieve``; ``client_data``, ``retrieve`` and ``post_call`` are the three
endpoints, each with ``prepare`` (init-phase work) where it has any and ``handle`` (one request).
May import ``stores`` and ``domain``; never ``worker`` or ``operator_tools``.
"""
