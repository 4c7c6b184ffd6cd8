"""Run a workflow for an outside client (an OpenAI SDK, an MCP client) and wait for it.

The run goes through the normal start path: it is queued durably, recorded in the
history and executed by a worker, so a client that goes away loses nothing. The
caller gets the settled execution, or an error naming it when it did not finish.
While it waits, `on_progress` (if given) hears of each node that finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
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


# `(nodes done, nodes in the graph or None, what happened)`, e.g. `(2, 5, "node n1 finished")`.
ProgressSink = Callable[[int, int | None, str], Awaitable[None]]
PROGRESS_EVENTS = frozenset({"node.finished", "node.skipped"})


async def _report_progress(
    state: AppState, execution_id: uuid.UUID, total: int | None, on_progress: ProgressSink
) -> None:
    done = 0
    async for event in state.bus.subscribe(execution_id):
        if event.kind in PROGRESS_EVENTS:
            done += 1
            node = event.payload.get("node_id", "?")
            # Loops and sub-workflows finish more nodes than the graph has: no total then.
            shown_total = total if total is not None and done <= total else None
            await on_progress(done, shown_total, f"node {node} {event.kind.split('.')[1]}")


async def run_and_wait(
    state: AppState,
    actor: Actor,
    workflow_id: uuid.UUID,
    input: Any,
    *,
    on_progress: ProgressSink | None = None,
    node_count: int | None = None,
) -> Execution:
    """The completed execution of `workflow_id` on `input`; `RunNotFinished` otherwise.

    The run is queued before anything else: if the caller goes away (this coroutine
    is cancelled), the run goes on and stays in the history."""
    queued = await state.starter.start(actor.user_id, workflow_id, input)
    wait_s = state.settings.interop_wait_s
    reporter = None
    if on_progress is not None:
        reporter = asyncio.create_task(
            _report_progress(state, queued.execution_id, node_count, on_progress)
        )
    try:
        execution = await control.wait_until_settled(
            state.db, state.bus, queued.execution_id, wait_s
        )
    finally:
        if reporter is not None:
            if not reporter.done():
                # Let the last node's event through before the answer overtakes it.
                with contextlib.suppress(Exception, TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reporter), timeout=0.5)
            reporter.cancel()
            with contextlib.suppress(BaseException):
                await reporter
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
