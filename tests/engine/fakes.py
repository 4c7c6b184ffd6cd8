"""A fake AgentRunner and a small graph builder for engine tests.

The fake behaves as its profile's `parameters` say:
- `sleep_s`: seconds each call takes;
- `fail_first`: the first N calls for a node raise TransientAgentError
  (`retry_after` seconds), then calls succeed;
- `error`: every call raises NodeFailed with this message;
- `answer`: the output (else `"<role>: <prompt>"`);
- `usage`: `[input_tokens, output_tokens]`, `cost_usd`: the cost of one call;
- `call_workflow`: `[workflow_id, input]`: calls the request's sub-workflow tool
  and answers with its result.
Every call is kept in `calls` with its start and end times.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relayflow.engine.executor import EngineOptions, ExecutionRun, Executor
from relayflow.engine.memory import (
    InMemoryRunStore,
    InMemoryTemplateCatalog,
    InMemoryWorkflowCatalog,
)
from relayflow.engine.ports import AgentRequest, AgentResult, EventSink, TokenUsage
from relayflow.errors import NodeFailed, TransientAgentError


@dataclass
class Call:
    node_id: str
    request: AgentRequest
    started: float
    finished: float | None = None


@dataclass
class FakeAgentRunner:
    calls: list[Call] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)

    async def run(self, request: AgentRequest) -> AgentResult:
        params = request.profile.parameters
        call = Call(request.node_id, request, time.time())
        self.calls.append(call)
        self.attempts[request.node_id] += 1
        try:
            if params.get("sleep_s"):
                await asyncio.sleep(float(params["sleep_s"]))
            if self.attempts[request.node_id] <= int(params.get("fail_first", 0)):
                raise TransientAgentError(
                    "provider answered 429", retry_after=params.get("retry_after")
                )
            if params.get("error"):
                raise NodeFailed(str(params["error"]))
            if request.on_event is not None:
                await request.on_event("agent.delta", {"text": request.prompt[:10]})
            answer = params.get("answer", f"{request.profile.role}: {request.prompt}")
            if params.get("call_workflow"):
                assert request.call_subworkflow is not None
                workflow_id, value = params["call_workflow"]
                answer = await request.call_subworkflow(workflow_id, value)
            tokens = params.get("usage", [0, 0])
            return AgentResult(
                output=answer,
                model=request.profile.model,
                usage=TokenUsage(tokens[0], tokens[1], 1),
                cost_usd=float(params.get("cost_usd", 0.0)),
            )
        finally:
            call.finished = time.time()

    def prompts(self, node_id: str) -> list[str]:
        return [c.request.prompt for c in self.calls if c.node_id == node_id]


class GraphBuilder:
    """`g.node("a", "agent", model="fake:x", prompt="hi").edge("in", "a")`."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []

    def node(self, node_id: str, kind: str, **data: Any) -> GraphBuilder:
        position = {"x": 0, "y": 100 * len(self.nodes)}
        self.nodes.append({"id": node_id, "type": kind, "position": position, "data": data})
        return self

    def agent(self, node_id: str, prompt: str = "{{ input }}", **data: Any) -> GraphBuilder:
        data.setdefault("model", "fake:model")
        return self.node(node_id, "agent", prompt=prompt, **data)

    def edge(self, source: str, target: str, handle: str | None = None) -> GraphBuilder:
        edge: dict[str, Any] = {"id": f"{source}->{target}", "source": source, "target": target}
        if handle is not None:
            edge["id"] += f"#{handle}"
            edge["sourceHandle"] = handle
        self.edges.append(edge)
        return self

    def chain(self, *node_ids: str) -> GraphBuilder:
        for source, target in itertools.pairwise(node_ids):
            self.edge(source, target)
        return self

    def build(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "edges": list(self.edges)}


@dataclass
class Harness:
    """An executor over in-memory ports, and what it recorded."""

    store: InMemoryRunStore = field(default_factory=InMemoryRunStore)
    agents: FakeAgentRunner = field(default_factory=FakeAgentRunner)
    templates: InMemoryTemplateCatalog = field(default_factory=InMemoryTemplateCatalog)
    workflows: InMemoryWorkflowCatalog = field(default_factory=InMemoryWorkflowCatalog)
    options: EngineOptions = field(default_factory=lambda: EngineOptions(default_retry_backoff_s=0))
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def executor(self, *, events: EventSink | None = None) -> Executor:
        async def sink(kind: str, payload: Mapping[str, Any]) -> None:
            self.events.append((kind, dict(payload)))

        return Executor(
            store=self.store,
            agents=self.agents,
            templates=self.templates,
            workflows=self.workflows,
            options=self.options,
            events=events or sink,
        )

    async def run(self, graph: Mapping[str, Any], input: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("execution_id", uuid.uuid4())
        return await self.executor().run(ExecutionRun(graph=graph, input=input, **kwargs))

    def statuses(self, execution_id: uuid.UUID | None = None) -> dict[str, str]:
        """The final status of each node (latest attempt wins)."""
        return {r.node_id: r.status.value for r in self.store.runs(execution_id)}

    def event_kinds(self, node_id: str) -> list[str]:
        return [kind for kind, payload in self.events if payload.get("node_id") == node_id]
