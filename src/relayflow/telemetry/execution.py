"""The spans of one execution, built around the engine (never inside it).

    trace = ExecutionTrace.start(execution_id, workflow_id=..., trigger=...)
    executor = Executor(..., agents=trace.agents(runner), events=trace.events(emit))
    async with trace.running():
        outcome = await executor.run(...)
        trace.finished(outcome)

- `execution` span: the run, with `relayflow.execution_id`, the workflow and the
  outcome (status, tokens, cost);
- `node <id>` spans, children of the execution (a sub-workflow's nodes, `sub/x`, of
  their `sub` node): one per attempt, opened by the engine's `node.started` event and
  closed by `node.finished`, `node.failed`, `node.retrying` or `node.waiting`;
- model-call spans (`model_calls.py`), children of the node whose agent made them:
  `agents()` makes the node's span current around each agent turn.

With tracing off, `start` returns a trace whose methods hand back what they are given;
it only tags log lines with the execution and node (`logs.py`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from relayflow.engine.ports import AgentRequest, AgentResult, AgentRunner, EventSink
from relayflow.telemetry import logs, tracing

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from relayflow.engine.run import ExecutionOutcome

log = logging.getLogger("relayflow.execution")

ENDING_EVENTS = frozenset({"node.finished", "node.failed", "node.retrying", "node.waiting"})


class ExecutionTrace:
    def __init__(
        self,
        execution_id: uuid.UUID,
        tracer: Tracer | None,
        attributes: Mapping[str, Any],
    ) -> None:
        self.execution_id = execution_id
        self.tracer = tracer
        self.attributes = dict(attributes)
        self.span: Span | None = None
        self.nodes: dict[str, Span] = {}  # open node spans by (prefixed) node id

    @classmethod
    def start(
        cls,
        execution_id: uuid.UUID,
        *,
        workflow_id: object = None,
        trigger: Mapping[str, Any] | None = None,
    ) -> ExecutionTrace:
        attributes: dict[str, Any] = {"relayflow.execution_id": str(execution_id)}
        if workflow_id is not None:
            attributes["relayflow.workflow_id"] = str(workflow_id)
        if trigger and trigger.get("type"):
            attributes["relayflow.trigger"] = str(trigger["type"])
        return cls(execution_id, tracing.active_tracer(), attributes)

    # ------------------------------------------------------------ the execution
    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        logs.bind_execution(self.execution_id)
        if self.tracer is None:
            yield
            return
        from opentelemetry.trace import Status, StatusCode

        with self.tracer.start_as_current_span(
            "execution", attributes=self.attributes, record_exception=False
        ) as span:
            self.span = span
            try:
                yield
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:500]))
                raise
            finally:
                for node_id in list(self.nodes):  # cancelled or cut short
                    self._end_node(node_id, "interrupted")

    def finished(self, outcome: ExecutionOutcome) -> None:
        logs.bind_node(None)
        log.info(
            "execution %s %s",
            self.execution_id,
            outcome.status.value,
            extra={"execution_id": str(self.execution_id)},
        )
        if self.span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attributes(
            {
                "relayflow.status": outcome.status.value,
                "relayflow.usage.input_tokens": outcome.usage.input_tokens,
                "relayflow.usage.output_tokens": outcome.usage.output_tokens,
                "relayflow.cost_usd": outcome.cost_usd,
            }
        )
        if outcome.status.value == "failed":
            self.span.set_status(Status(StatusCode.ERROR, (outcome.error or "failed")[:500]))

    # ------------------------------------------------------------ nodes, from events
    def events(self, sink: EventSink | None) -> EventSink | None:
        if sink is None and self.tracer is None and not logs.json_lines_on():
            return None  # nothing listens: the engine keeps skipping its events

        async def traced(kind: str, payload: Mapping[str, Any]) -> None:
            self._on_event(kind, payload)
            if sink is not None:
                await sink(kind, payload)

        return traced

    def _fields(self, node_id: str) -> dict[str, str]:
        return {"execution_id": str(self.execution_id), "node_id": node_id}

    def _on_event(self, kind: str, payload: Mapping[str, Any]) -> None:
        node_id = payload.get("node_id")
        if not isinstance(node_id, str):
            return
        if kind == "node.started":
            logs.bind_node(node_id)  # the node's own task: its log lines carry its id
        elif kind == "node.failed":
            log.warning(
                "node %s failed: %s", node_id, payload.get("error"), extra=self._fields(node_id)
            )
        elif kind == "node.retrying":
            error, delay = payload.get("error"), payload.get("delay_s")
            log.info(
                "node %s will retry in %s s: %s",
                node_id,
                delay,
                error,
                extra=self._fields(node_id),
            )
        if self.tracer is None:
            return
        if kind == "node.started":
            self._start_node(node_id, payload)
        elif kind in ENDING_EVENTS:
            self._end_node(node_id, kind.removeprefix("node."), payload)
        elif kind == "node.skipped":
            self._start_node(node_id, payload)
            self._end_node(node_id, "skipped", payload)
        elif kind == "agent.tool_call" and node_id in self.nodes:
            name = payload.get("tool") or payload.get("name")
            self.nodes[node_id].add_event("relayflow.tool_call", {"tool": str(name)})

    def _start_node(self, node_id: str, payload: Mapping[str, Any]) -> None:
        from opentelemetry.trace import set_span_in_context

        assert self.tracer is not None
        parent = self._parent_of(node_id)
        attributes: dict[str, Any] = {
            "relayflow.execution_id": str(self.execution_id),
            "relayflow.node.id": node_id,
        }
        for key in ("kind", "iteration", "attempt"):
            if payload.get(key) is not None:
                attributes[f"relayflow.node.{key}"] = payload[key]
        self.nodes[node_id] = self.tracer.start_span(
            f"node {node_id}",
            context=set_span_in_context(parent) if parent is not None else None,
            attributes=attributes,
        )

    def _parent_of(self, node_id: str) -> Span | None:
        # `sub/child` runs inside node `sub` (a sub-workflow or map over a workflow).
        prefix = node_id.rpartition("/")[0]
        while prefix:
            if prefix in self.nodes:
                return self.nodes[prefix]
            prefix = prefix.rpartition("/")[0]
        return self.span

    def _end_node(
        self, node_id: str, status: str, payload: Mapping[str, Any] | None = None
    ) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self.nodes.pop(node_id, None)
        if span is None:
            return
        payload = payload or {}
        span.set_attribute("relayflow.status", status)
        if status == "finished":
            span.set_attributes(
                {
                    "relayflow.usage.input_tokens": int(payload.get("input_tokens") or 0),
                    "relayflow.usage.output_tokens": int(payload.get("output_tokens") or 0),
                    "relayflow.cost_usd": float(payload.get("cost_usd") or 0.0),
                }
            )
        elif status in ("failed", "retrying", "interrupted"):
            error = str(payload.get("error") or status)
            span.set_status(Status(StatusCode.ERROR, error[:500]))
        span.end()

    # ------------------------------------------------------------ agents
    def agents(self, runner: AgentRunner) -> AgentRunner:
        if self.tracer is None:
            return runner
        return _TracedAgents(runner, self)

    def node_span(self, node_id: str) -> Span | None:
        """The open span of the node an agent request comes from."""
        if node_id in self.nodes:
            return self.nodes[node_id]
        # A sub-workflow's agent knows its own id; the events carry the prefixed one.
        for open_id in reversed(list(self.nodes)):
            if open_id.endswith("/" + node_id):
                return self.nodes[open_id]
        return self.span


class _TracedAgents:
    """Runs each agent turn with its node's span current: model calls nest under it."""

    def __init__(self, inner: AgentRunner, trace: ExecutionTrace) -> None:
        self.inner = inner
        self.trace = trace

    async def run(self, request: AgentRequest) -> AgentResult:
        from opentelemetry.trace import use_span

        span = self.trace.node_span(request.node_id)
        if span is None:
            return await self.inner.run(request)
        with use_span(span, end_on_exit=False):
            return await self.inner.run(request)
