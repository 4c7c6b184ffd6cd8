from __future__ import annotations

import pytest

from relayflow.engine.attempts import is_retryable, retry_delay
from relayflow.engine.run import EngineOptions
from relayflow.errors import NodeFailed, NotFound, TemplateError, TransientAgentError

OPTIONS = EngineOptions(default_retry_backoff_s=0.5, max_retry_delay_s=10)


def test_backoff_doubles_from_the_nodes_setting_or_the_default() -> None:
    failure = NodeFailed("x")
    assert [retry_delay(OPTIONS, None, n, failure) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert [retry_delay(OPTIONS, 0.1, n, failure) for n in (1, 2)] == [0.1, 0.2]


def test_backoff_is_capped() -> None:
    assert retry_delay(OPTIONS, 1, 10, NodeFailed("x")) == 10


def test_a_providers_retry_after_is_a_floor_within_the_cap() -> None:
    assert retry_delay(OPTIONS, 0.1, 1, TransientAgentError(retry_after=3)) == 3
    assert retry_delay(OPTIONS, 0.1, 1, TransientAgentError(retry_after=600)) == 10
    assert retry_delay(OPTIONS, 5, 1, TransientAgentError(retry_after=1)) == 5


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (TransientAgentError(), True),
        (NodeFailed("500"), True),
        (TimeoutError(), True),
        (TemplateError("x is undefined"), False),
        (NotFound("no such template"), False),
    ],
)
def test_only_failures_a_retry_can_fix_are_retried(failure: Exception, retried: bool) -> None:
    assert is_retryable(failure) is retried
