"""Run a workflow for an outside client (an OpenAI SDK, an MCP client) and wait for it.

The run goes through the normal start path: it is queued durably, recorded in the
history and executed by a worker, so a client that goes away loses nothing. The
caller gets the settled execution, or an error naming it when it did not finish.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from relayflow import errors
from relayflow.api.state import AppState
from relayflow.domain import Actor, ExecutionStatus
from relayflow.runtime import control
from relayflow.store.models import Execution


class RunNotFinished(errors.RelayflowError):
    """The run failed, was cancelled, paused or is still going when the wait ended."""

    code = "execution_not_completed"

    def __init__(self, message: str, execution_id: uuid.UUID, *, timed_out: bool) -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.timed_out = timed_out


async def run_and_wait(
    state: AppState, actor: Actor, workflow_id: uuid.UUID, input: Any
) -> Execution:
    """The completed execution of `workflow_id` on `input`; `RunNotFinished` otherwise."""
    queued = await state.starter.start(actor.user_id, workflow_id, input)
    wait_s = state.settings.interop_wait_s
    execution = await control.wait_until_settled(state.db, state.bus, queued.execution_id, wait_s)
    status = ExecutionStatus(execution.status)
    if status is ExecutionStatus.COMPLETED:
        return execution
    if status.is_final:
        raise RunNotFinished(
            f"execution {execution.id} {status.value}: {execution.error or 'no reason recorded'}",
            execution.id,
            timed_out=False,
        )
    raise RunNotFinished(
        f"execution {execution.id} is still {status.value} after {wait_s:g} s "
        "(setting `interop_wait_s`); it keeps running and stays in the history",
        execution.id,
        timed_out=True,
    )


def output_text(output: Any) -> str:
    """An execution's output as text: a string as it is, anything else as JSON."""
    if isinstance(output, str):
        return output
    return json.dumps(output, ensure_ascii=False)
