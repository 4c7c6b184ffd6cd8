"""The policy of one node attempt: its timeout, whether a failure is retried, and when.

- `timeout_s` bounds one attempt; running out is a failure like any other.
- Failures no retry can fix (invalid input, templates, blocked addresses, unknown
  ids, configuration, permissions, execution budgets) are never retried; the rest
  are, `retries` times.
- The wait before attempt n+1 is `retry_backoff_s * 2**(n-1)` (the engine's
  default backoff when the node sets none), at least a `TransientAgentError`'s
  `retry_after`, at most `max_retry_delay_s`.
"""

from __future__ import annotations

import asyncio
import time

from relayflow.engine.nodes import Handler, NodeContext, NodeOutcome
from relayflow.engine.run import EngineOptions
from relayflow.errors import (
    BudgetExceeded,
    ConfigError,
    Forbidden,
    InvalidInput,
    NotFound,
    RelayflowError,
    TransientAgentError,
    Unauthorized,
)

PERMANENT_ERRORS = (InvalidInput, ConfigError, NotFound, Forbidden, Unauthorized, BudgetExceeded)


class NodeTimedOut(RelayflowError):
    """The node took longer than its timeout_s."""

    code = "node_timeout"


def error_text(exc: BaseException) -> str:
    if isinstance(exc, RelayflowError):
        return exc.message
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def is_retryable(exc: BaseException) -> bool:
    return not isinstance(exc, PERMANENT_ERRORS)


def retry_delay(
    options: EngineOptions, backoff: float | None, attempt: int, exc: BaseException
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    base = options.default_retry_backoff_s if backoff is None else backoff
    delay: float = min(base * 2.0 ** (attempt - 1), options.max_retry_delay_s)
    if isinstance(exc, TransientAgentError) and exc.retry_after is not None:
        delay = max(delay, min(exc.retry_after, options.max_retry_delay_s))
    return delay


async def run_attempt(handler: Handler, ctx: NodeContext, timeout_s: float | None) -> NodeOutcome:
    if timeout_s is None:
        ctx.deadline = None
        return await handler(ctx)
    ctx.deadline = time.monotonic() + timeout_s  # renders stop just before it
    try:
        async with asyncio.timeout(timeout_s) as scope:
            return await handler(ctx)
    except TimeoutError:
        if scope.expired():
            raise NodeTimedOut(f"node {ctx.node_id!r} timed out after {timeout_s:g} s") from None
        raise
