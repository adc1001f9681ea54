"""Domain errors, and the one table that maps them to HTTP status codes."""

from __future__ import annotations


class AppError(Exception):
    """An error the caller of an endpoint should see, as ``{"error": code, "message": text}``."""

    status = 500
    code = "internal_error"
    # Extra response headers the status calls for (405 names the allowed method).
    headers: dict[str, str] = {}

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class MethodNotAllowed(AppError):
    """A method other than POST (an ElevenLabs server tool left on its default GET, say)."""

    status = 405
    code = "method_not_allowed"
    headers = {"allow": "POST"}


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class DispatchFailed(AppError):
    """The post-call job could not be handed to the worker: the sender must retry."""

    status = 500
    code = "dispatch_failed"


class Unavailable(Exception):
    """An outside service (Mem0, DynamoDB, ElevenLabs' API) did not answer in time or answered with an
    error. Never shown to callers as a 5xx: the call goes on without what it would have given."""


class MemoryUnavailable(Unavailable):
    """Mem0 in particular could not be used (no key, the client's ping failed, a request failed)."""
