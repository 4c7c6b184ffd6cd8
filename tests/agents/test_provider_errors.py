"""Provider failures: transient ones are retried by the engine, the rest fail the node."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelNotFoundError,
    ModelOverloadedError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelServerError,
    ModelTimeoutError,
    UnexpectedModelBehavior,
)

from relayflow import errors
from relayflow.agents.provider_errors import provider_error

MODEL = "openai:gpt-4o"


def http(category: Any, status: int, **kw: Any) -> ModelHTTPError:
    return ModelHTTPError.for_category(
        category,
        status_code=status,
        model_name="gpt-4o",
        **kw,
    )


@pytest.mark.parametrize(
    "exc",
    [
        http(ModelRateLimitError, 429),
        http(ModelServerError, 502),
        http(ModelOverloadedError, 529),
        ModelHTTPError(408, "gpt-4o"),
        ModelConnectionError("gpt-4o", "connection reset"),
        ModelTimeoutError("gpt-4o", "read timeout"),
    ],
)
def test_transient_failures(exc: ModelAPIError) -> None:
    assert isinstance(provider_error(MODEL, "openai", exc), errors.TransientAgentError)


def test_retry_after_is_kept() -> None:
    error = provider_error(
        MODEL, "openai", http(ModelRateLimitError, 429, headers={"Retry-After": "12"})
    )
    assert isinstance(error, errors.TransientAgentError)
    assert error.retry_after == 12
    assert "retry after 12s" in error.message


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (http(ModelAuthenticationError, 401), "check RELAYFLOW_OPENAI_API_KEY"),
        (http(ModelNotFoundError, 404), "does not know this model"),
        (http(ModelQuotaExceededError, 402), "quota or credit is exhausted"),
        (
            ModelHTTPError(400, "gpt-4o", {"error": {"message": "bad tools"}}),
            "refused the request: bad tools",
        ),
        (UnexpectedModelBehavior("gibberish"), "answered unexpectedly: gibberish"),
    ],
)
def test_permanent_failures_say_what_went_wrong(exc: Exception, words: str) -> None:
    error = provider_error(MODEL, "openai", exc)  # type: ignore[arg-type]
    assert isinstance(error, errors.NodeFailed)
    assert words in error.message
    assert error.message.startswith(MODEL)


def test_an_endpoint_key_rejection_names_the_endpoint() -> None:
    error = provider_error("lab:m", "lab", http(ModelAuthenticationError, 403))
    assert "endpoint 'lab'" in error.message
