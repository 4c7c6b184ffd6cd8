"""The exception tree. Every failure a user can cause is a subclass here.

Each class's docstring is its default message; `code` is the stable machine
name that the API puts in its error body. Only `api/` maps these to HTTP.
"""

from __future__ import annotations

from typing import Any


class RelayflowError(Exception):
    """Something went wrong."""

    code = "error"

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details
        super().__init__(self.message)


class InternalError(RelayflowError):
    """A state the code rules out was found (a bug, or the data changed underneath)."""

    code = "internal_error"


class ConfigError(RelayflowError):
    """The configuration is invalid."""

    code = "config_error"


class NotFound(RelayflowError):
    """Not found."""

    code = "not_found"


class Unauthorized(RelayflowError):
    """Authentication is required."""

    code = "unauthorized"


class Forbidden(RelayflowError):
    """You are not allowed to do this."""

    code = "forbidden"


class Conflict(RelayflowError):
    """The request conflicts with the current state."""

    code = "conflict"


class InvalidInput(RelayflowError):
    """The request is invalid."""

    code = "invalid_input"


class GraphInvalid(InvalidInput):
    """The workflow graph is invalid."""

    code = "graph_invalid"


class PayloadTooLarge(RelayflowError):
    """The request body is too large."""

    code = "payload_too_large"


class UnsupportedMediaType(RelayflowError):
    """The content type is not supported."""

    code = "unsupported_media_type"


class RateLimited(RelayflowError):
    """Too many requests."""

    code = "rate_limited"

    def __init__(
        self, message: str | None = None, *, retry_after: float = 1.0, details: Any = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class WrongPassword(Forbidden):
    """The current password is wrong."""

    code = "wrong_password"


class RegistrationClosed(Forbidden):
    """Self-registration is switched off on this installation."""

    code = "registration_closed"


class LeaseLost(RelayflowError):
    """This worker no longer holds the execution's lease."""

    code = "lease_lost"


class TransientAgentError(RelayflowError):
    """The model provider failed in a way that may succeed on retry."""

    code = "provider_unavailable"

    def __init__(
        self, message: str | None = None, *, retry_after: float | None = None, details: Any = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class NodeFailed(RelayflowError):
    """A node failed."""

    code = "node_failed"


class BudgetExceeded(RelayflowError):
    """The execution exceeded one of its budgets."""

    code = "budget_exceeded"


class SignatureInvalid(Unauthorized):
    """The request's signature is missing, stale or does not match."""

    code = "signature_invalid"


class WebhookDisabled(Forbidden):
    """This webhook is disabled."""

    code = "webhook_disabled"


class TemplateError(InvalidInput):
    """A template or expression could not be rendered."""

    code = "template_error"


class SignatureReplayed(Conflict):
    """This signature was already accepted: each delivery must be signed afresh."""

    code = "signature_replayed"


class IdempotencyKeyReused(InvalidInput):
    """The Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"
