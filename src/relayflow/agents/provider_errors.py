"""Provider failures as relayflow errors: what may succeed on retry, and what will not.

Transient (`TransientAgentError`, the engine retries with backoff and honours
`retry_after`): rate limits (429), 408/409, server errors (5xx), an unavailable
or overloaded provider, connection failures and timeouts. Everything else
(a rejected key, an unknown model, exhausted quota, a bad request, output that
never matched the schema) is `NodeFailed` with a message that says which.
"""

from __future__ import annotations

from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelNotFoundError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestTimeout,
    ModelServerError,
    ModelTimeoutError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
)

from relayflow import errors

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})
KEY_SETTINGS = {
    "openai": "RELAYFLOW_OPENAI_API_KEY",
    "anthropic": "RELAYFLOW_ANTHROPIC_API_KEY",
}
MAX_DETAIL = 300


def provider_error(model: str, provider: str, exc: AgentRunError) -> errors.RelayflowError:
    """The relayflow error for a pydantic-ai failure of model `model`."""
    if isinstance(exc, ModelAPIError):
        return _api_error(model, provider, exc)
    if isinstance(exc, UsageLimitExceeded):
        return errors.NodeFailed(f"{model}: {exc}")
    if isinstance(exc, UnexpectedModelBehavior):
        return errors.NodeFailed(f"{model} answered unexpectedly: {_short(exc.message)}")
    return errors.NodeFailed(f"{model} failed: {_short(str(exc))}")


def _api_error(model: str, provider: str, exc: ModelAPIError) -> errors.RelayflowError:
    status = exc.status_code if isinstance(exc, ModelHTTPError) else None
    where = f"{model} (HTTP {status})" if status else model
    detail = _provider_message(exc)
    if isinstance(exc, ModelRateLimitError) or status == 429:
        return _transient(f"{where}: rate limited by the provider{detail}", exc)
    if isinstance(exc, ModelTimeoutError | ModelRequestTimeout):
        return _transient(f"{model}: the provider did not answer in time", exc)
    if isinstance(exc, ModelConnectionError):
        return _transient(f"{model}: could not reach the provider{detail}", exc)
    if isinstance(exc, ModelUnavailableError | ModelServerError) or (
        status is not None and (status >= 500 or status in TRANSIENT_STATUSES)
    ):
        return _transient(f"{where}: the provider failed{detail}", exc)
    if isinstance(exc, ModelAuthenticationError):
        setting = KEY_SETTINGS.get(provider, f"the API key of endpoint {provider!r}")
        return errors.NodeFailed(f"{where}: the provider rejected the API key; check {setting}")
    if isinstance(exc, ModelNotFoundError):
        return errors.NodeFailed(f"{where}: the provider does not know this model{detail}")
    if isinstance(exc, ModelQuotaExceededError):
        return errors.NodeFailed(f"{where}: the account's quota or credit is exhausted{detail}")
    return errors.NodeFailed(f"{where}: the provider refused the request{detail}")


def _transient(message: str, exc: ModelAPIError) -> errors.TransientAgentError:
    retry_after = exc.retry_after
    if retry_after is not None:
        message += f"; retry after {retry_after:g}s"
    return errors.TransientAgentError(message, retry_after=retry_after)


def _provider_message(exc: ModelAPIError) -> str:
    """The provider's own explanation from the error body, if it gave one."""
    body = exc.body
    message: object = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
    elif isinstance(body, str):
        message = body
    if not message:
        return ""
    return f": {_short(str(message))}"


def _short(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
