"""The executor: runs a workflow graph in-process and records every node attempt.

Semantics (DESIGN.md, "Execution semantics"):

- A node runs once every incoming edge is resolved and at least one is active; a
  node whose incoming edges are all skipped is skipped, and so on downstream. A
  `merge` with `mode: any` runs on its first active input. Edges leaving a
  `condition` or `approval` are active only from the chosen handle.
- Ready nodes run concurrently as asyncio tasks, at most `max_parallel_nodes` at a
  time per execution (and per sub-workflow).
- Each attempt is recorded through `RunStore.record`: RUNNING when it starts, then
  COMPLETED, FAILED, WAITING or CANCELLED with input, output, error, times, token
  usage and cost; a skipped node is recorded SKIPPED. Failures are retried
  `retries` times with exponential backoff and `timeout_s` bounds one attempt
  (`engine.attempts` has the policy).
- The first node that fails for good fails the execution: running nodes are
  cancelled (recorded CANCELLED) and the error names the node. The whole run is
  bounded by `execution_timeout_s`. Setting `ExecutionRun.cancel` cancels running
  nodes and returns CANCELLED at once.
- Resume: `run()` first reads `RunStore.finished()`; a node with a completed
  (or skipped) record for the same iteration is not run again, its recorded output
  and handles are reused. Rerunning from a node works the same way: the runtime
  copies the upstream records into the new execution.
- An `approval` without a decision records WAITING; the outcome is WAITING (with
  the approval ids) once nothing else can run. Run again with the decision.

Loops: a cycle must pass through exactly one node declaring `max_iterations`, the
loop's head. The head first runs when its edges from outside the loop resolve.
Each pass through the loop is an iteration (0, 1, ...), recorded as the node runs'
`iteration`. When every member of the loop has finished (or been skipped) for the
current iteration and some edge back to the head is active, the head runs again
for the next iteration and the members are reset; edges leaving the loop that
were skipped in an iteration only count as skipped once the loop stops (no back
edge active). A head asked to run more than `max_iterations` times fails the
execution. In templates `nodes.X.output` is X's latest output (null until X has
run, e.g. a loop's head reading a later member on the first pass, or when X was
skipped), `nodes.X.status` its state, and `iteration` the node's current iteration.

Sub-workflows (and `map` over a workflow) run as child executions inside the same
execution: their node runs are recorded with ids prefixed by the parent node
(`sub/child_node`), so they resume too. Usage is carried by the rows that spent
it (agent nodes and map items), never by the parent row as well; the outcome's
usage is the sum over every row of the execution, reused ones included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.attempts import error_text, is_retryable, retry_delay, run_attempt
from relayflow.engine.graph import Edge, Graph, Loop
from relayflow.engine.naming import child_prefix
from relayflow.engine.nodes import NodeContext, NodeOutcome
from relayflow.engine.ports import (
    AgentRunner,
    CredentialSource,
    EventSink,
    NodeRunRecord,
    RunStore,
    TemplateCatalog,
    TokenUsage,
    WorkflowCatalog,
)
from relayflow.engine.run import ApprovalDecision, EngineOptions, ExecutionOutcome, ExecutionRun
from relayflow.engine.templating import Scope
from relayflow.engine.validation import analyse_graph_remembered
from relayflow.errors import GraphInvalid, InvalidInput, LeaseLost, NotFound

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ApprovalDecision",
    "EngineOptions",
    "ExecutionOutcome",
    "ExecutionRun",
    "Executor",
]

CANCEL_GRACE_S = 0.5  # how long cancelled node tasks get to unwind before we report
MAX_PROBLEMS_IN_MESSAGE = 5

_PENDING, _ACTIVE, _SKIPPED = 0, 1, 2


@dataclass(slots=True)
class _Done:
    node_id: str
    status: NodeRunStatus
    output: Any = None
    active_handles: list[str] | None = None
    error: str | None = None
    waiting_on: list[str] | None = None


@dataclass(slots=True)
class _Crash:
    """A node task died of something that ends the whole run (lost lease, store down)."""

    error: BaseException


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name


_CANCELLED = _Signal("cancelled")
_TIMED_OUT = _Signal("timed out")


@dataclass(slots=True)
class _NodeState:
    iteration: int = 0
    status: str = "pending"  # pending|ready|running|done|skipped|waiting|failed
    runs: int = 0  # how many iterations this node has started (loop heads)
    attempt: int = 0
    started_at: float | None = None


@dataclass(slots=True)
class _LoopState:
    finalized: int = 0  # members done or skipped in the current iteration
    again: bool = False  # a back edge became active in the current iteration
    held_skips: list[Edge] | None = None  # exit edges skipped in the current iteration


class _Meter:
    """Token usage and cost of every row of one execution (all nesting levels)."""

    def __init__(self) -> None:
        self.usage = TokenUsage()
        self.cost_usd = 0.0

    def add(self, record: NodeRunRecord) -> None:
        if record.usage != TokenUsage() or record.cost_usd:
            self.usage = self.usage + record.usage
            self.cost_usd += record.cost_usd


def mentions_secrets(graph: Mapping[str, Any]) -> bool:
    """Whether any template may read `secrets` (then the run loads them, else not)."""
    return "secrets" in json.dumps(graph.get("nodes"), default=str)


class Executor:
    def __init__(
        self,
        *,
        store: RunStore,
        agents: AgentRunner,
        templates: TemplateCatalog,
        workflows: WorkflowCatalog,
        options: EngineOptions = EngineOptions(),
        events: EventSink | None = None,
        http_client: httpx.AsyncClient | None = None,
        credentials: CredentialSource | None = None,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.secrets: Mapping[str, str] = {}
        self.agents = agents
        self.templates = templates
        self.workflows = workflows
        self.options = options
        self.events = events
        self.http_client = http_client

    async def run(self, run: ExecutionRun) -> ExecutionOutcome:
        """Run (or resume) one execution to COMPLETED, FAILED, CANCELLED or WAITING.

        Never raises for node failures; raises `LeaseLost` when the store does.
        """
        analysis = analyse_graph_remembered(run.graph)
        if analysis.graph is None:
            shown = "; ".join(str(p) for p in analysis.problems[:MAX_PROBLEMS_IN_MESSAGE])
            more = len(analysis.problems) - MAX_PROBLEMS_IN_MESSAGE
            suffix = f" (and {more} more)" if more > 0 else ""
            return ExecutionOutcome(
                ExecutionStatus.FAILED, error=f"the workflow graph is invalid: {shown}{suffix}"
            )
        if self.credentials is not None and mentions_secrets(run.graph):
            self.secrets = await self.credentials.secrets()
        meter = _Meter()
        finished: dict[tuple[str, int], NodeRunRecord] = {}
        for record in await self.store.finished(run.execution_id):
            finished[(record.node_id, record.iteration)] = record
            meter.add(record)
        runner = _Runner(self, run, analysis.graph, finished, meter, prefix="")
        outcome = await runner.execute(timeout_s=self.options.execution_timeout_s)
        outcome.usage, outcome.cost_usd = meter.usage, meter.cost_usd
        return outcome


class _Runner:
    """The state of one run of one graph (the execution itself, or a child workflow)."""

    def __init__(
        self,
        executor: Executor,
        run: ExecutionRun,
        graph: Graph,
        finished: Mapping[tuple[str, int], NodeRunRecord],
        meter: _Meter,
        *,
        prefix: str,
    ) -> None:
        self.executor = executor
        self.run = run
        self.graph = graph
        self.finished = finished
        self.meter = meter
        self.prefix = prefix  # "" for the execution, "sub/" for a child run
        self.state = {node_id: _NodeState() for node_id in graph.nodes}
        self.edges = {edge.id: _PENDING for edge in graph.edges}
        self.loops = {id(loop): _LoopState() for loop in graph.loops}
        self.outputs: dict[str, Any] = {}
        self.results: dict[str, Any] = {}  # output nodes that ran
        # Every node is visible from the start (output null until it runs), so a loop's
        # first pass may read a member that only runs later in the pass.
        self.nodes_scope = Scope(
            "nodes",
            {
                node_id: Scope(f"nodes.{node_id}", output=None, status="pending", iteration=0)
                for node_id in graph.nodes
            },
        )
        input_value = run.input
        self.scope_base: dict[str, Any] = {
            "input": Scope("input", input_value) if isinstance(input_value, dict) else input_value,
            "nodes": self.nodes_scope,
            "execution": {
                "id": str(run.execution_id),
                "trigger": dict(run.trigger),
                "depth": run.depth,
                "user_id": str(run.user_id) if run.user_id else None,
            },
            "secrets": Scope("secrets", **executor.secrets),
        }
        self.ready: deque[str] = deque()
        self.to_skip: deque[str] = deque()
        self.running: dict[str, asyncio.Task[None]] = {}
        self.queue: asyncio.Queue[_Done | _Crash | _Signal] = asyncio.Queue()
        self.waiting_on: list[str] = []
        self.failure: str | None = None
        self.stopped: ExecutionStatus | None = None

    # ------------------------------------------------------------ the main loop
    async def execute(self, *, timeout_s: float | None) -> ExecutionOutcome:
        cancel = self.run.cancel
        if cancel is not None and cancel.is_set():
            return ExecutionOutcome(ExecutionStatus.CANCELLED, error="cancelled before it started")
        watcher = asyncio.create_task(self._watch_cancel()) if cancel is not None else None
        timer = None
        if timeout_s is not None:
            timer = asyncio.get_running_loop().call_later(
                timeout_s, self.queue.put_nowait, _TIMED_OUT
            )
        try:
            self.ready.extend(self.graph.roots)
            for node_id in self.ready:
                self.state[node_id].status = "ready"
            while True:
                await self._advance()
                if self.failure is not None:
                    await self._cancel_running(reason=self.failure)
                    break
                if not self.running:
                    break
                item = await self.queue.get()
                if isinstance(item, _Signal):
                    await self._stop(item, timeout_s)
                    break
                if isinstance(item, _Crash):
                    await self._cancel_running(reason=error_text(item.error), record=False)
                    raise item.error
                await self._node_done(item)
        except asyncio.CancelledError:
            if self.prefix:  # a child run whose parent node was cancelled: close its rows
                with contextlib.suppress(Exception):
                    await self._cancel_running(reason="the parent node was cancelled")
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
            if timer is not None:
                timer.cancel()
            for task in self.running.values():
                task.cancel()
        return self._outcome()

    async def _watch_cancel(self) -> None:
        assert self.run.cancel is not None
        await self.run.cancel.wait()
        self.queue.put_nowait(_CANCELLED)

    async def _stop(self, signal: _Signal, timeout_s: float | None) -> None:
        if signal is _CANCELLED:
            self.stopped = ExecutionStatus.CANCELLED
            await self._cancel_running(reason="the execution was cancelled")
        else:
            self.failure = f"the execution timed out after {timeout_s:g} s"
            await self._cancel_running(reason=self.failure)

    def _outcome(self) -> ExecutionOutcome:
        if self.failure is not None:
            return ExecutionOutcome(ExecutionStatus.FAILED, error=self.failure)
        if self.stopped is ExecutionStatus.CANCELLED:
            return ExecutionOutcome(ExecutionStatus.CANCELLED, error="cancelled")
        if self.waiting_on:
            return ExecutionOutcome(ExecutionStatus.WAITING, waiting_on=list(self.waiting_on))
        output = None
        if len(self.results) == 1:
            output = next(iter(self.results.values()))
        elif self.results:
            output = dict(self.results)
        return ExecutionOutcome(ExecutionStatus.COMPLETED, output=output)

    async def _advance(self) -> None:
        """Skip what must be skipped and start ready nodes, up to the parallel cap."""
        cap = self.executor.options.max_parallel_nodes
        while self.failure is None:
            if self.to_skip:
                await self._skip(self.to_skip.popleft())
            elif self.ready and len(self.running) < cap:
                self._start(self.ready.popleft())
            else:
                return

    # ------------------------------------------------------------ starting nodes
    def _start(self, node_id: str) -> None:
        node = self.graph.nodes[node_id]
        state = self.state[node_id]
        upstream = {}
        for edge in node.incoming:
            if self.edges[edge.id] == _ACTIVE:
                upstream[edge.source] = self.outputs.get(edge.source)
                if edge.is_back:
                    self.edges[edge.id] = _PENDING  # consumed by this iteration
        state.runs += 1
        reused = self.finished.get((self.prefix + node_id, state.iteration))
        if reused is not None and reused.status is NodeRunStatus.COMPLETED:
            state.status = "running"
            self._completed(node_id, reused.output, reused.active_handles)
            return
        state.status = "running"
        ctx = NodeContext(
            node_id=node_id,
            kind=node.kind.name,
            data=node.data,
            iteration=state.iteration,
            execution_id=self.run.execution_id,
            user_id=self.run.user_id,
            options=self.executor.options,
            agents=self.executor.agents,
            templates=self.executor.templates,
            workflows=self.executor.workflows,
            scope={**self.scope_base, "iteration": state.iteration},
            upstream=upstream,
            execution_input=self.run.input,
            run_child=self._child_runner(node_id, state.iteration),
            record_item=self._record_item,
            reusable=self._reusable_items(),
            decision=self.run.decisions.get(self.prefix + node_id),
            events=self._node_events(),
            http_client=self.executor.http_client,
            credentials=self.executor.credentials,
        )
        self.running[node_id] = asyncio.create_task(self._attempts(node_id, ctx))

    def _reusable_items(self) -> Mapping[tuple[str, int], NodeRunRecord]:
        if not self.prefix:
            return self.finished
        return _PrefixedView(self.finished, self.prefix)

    def _node_events(self) -> EventSink | None:
        sink = self.executor.events
        if sink is None or not self.prefix:
            return sink
        prefix = self.prefix

        async def prefixed(kind: str, payload: Mapping[str, Any]) -> None:
            node_id = payload.get("node_id")
            await sink(kind, {**payload, "node_id": f"{prefix}{node_id}"} if node_id else payload)

        return prefixed

    async def _record(self, record: NodeRunRecord) -> None:
        if self.prefix:
            record.node_id = self.prefix + record.node_id
        await self.executor.store.record(record, fence=self.run.fence)
        self.meter.add(record)

    async def _record_item(self, record: NodeRunRecord) -> None:
        await self._record(record)

    async def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        sink = self.executor.events
        if sink is not None:
            payload["node_id"] = self.prefix + payload["node_id"]
            await sink(kind, payload)

    # ------------------------------------------------------------ one node's attempts
    async def _attempts(self, node_id: str, ctx: NodeContext) -> None:
        try:
            await self._attempt_loop(node_id, ctx)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # A handler let a stray CancelledError out: fail the node, do not hang the run.
            self.queue.put_nowait(_Done(node_id, NodeRunStatus.FAILED, error="cancelled"))
        except Exception as exc:  # lost lease, store failure: the run cannot go on
            self.queue.put_nowait(_Crash(exc))

    async def _attempt_loop(self, node_id: str, ctx: NodeContext) -> None:
        node = self.graph.nodes[node_id]
        data = node.data
        state = self.state[node_id]
        iteration = state.iteration
        handler = node.kind.run
        execution_id = self.run.execution_id
        attempt = 0
        while True:
            attempt += 1
            started = time.time()
            state.attempt, state.started_at = attempt, started
            await self._record(
                NodeRunRecord(
                    execution_id,
                    node_id,
                    iteration,
                    attempt,
                    NodeRunStatus.RUNNING,
                    started_at=started,
                )
            )
            base = {"node_id": node_id, "iteration": iteration, "attempt": attempt}
            await self._emit("node.started", dict(base, kind=node.kind.name))
            ctx.input = None
            try:
                outcome = await run_attempt(handler, ctx, data.timeout_s)
            except (asyncio.CancelledError, LeaseLost):
                raise
            except Exception as exc:
                failure: Exception = exc
            else:
                await self._finish_attempt(node_id, ctx, outcome, base, started)
                return
            error = error_text(failure)
            finished = time.time()
            await self._record(
                NodeRunRecord(
                    execution_id,
                    node_id,
                    iteration,
                    attempt,
                    NodeRunStatus.FAILED,
                    input=ctx.input,
                    error=error,
                    started_at=started,
                    finished_at=finished,
                )
            )
            if is_retryable(failure) and attempt <= data.retries:
                delay = retry_delay(self.executor.options, data.retry_backoff_s, attempt, failure)
                await self._emit("node.retrying", dict(base, error=error, delay_s=delay))
                await asyncio.sleep(delay)
                continue
            await self._emit("node.failed", dict(base, error=error))
            self.queue.put_nowait(_Done(node_id, NodeRunStatus.FAILED, error=error))
            return

    async def _finish_attempt(
        self,
        node_id: str,
        ctx: NodeContext,
        outcome: NodeOutcome,
        base: dict[str, Any],
        started: float,
    ) -> None:
        finished = time.time()
        await self._record(
            NodeRunRecord(
                self.run.execution_id,
                node_id,
                ctx.iteration,
                base["attempt"],
                outcome.status,
                input=ctx.input,
                output=outcome.output,
                started_at=started,
                finished_at=finished,
                usage=outcome.usage,
                cost_usd=outcome.cost_usd,
                active_handles=outcome.active_handles,
                tool_calls=outcome.tool_calls,
            )
        )
        duration_ms = round((finished - started) * 1000)
        if outcome.status is NodeRunStatus.WAITING:
            waiting_on = outcome.waiting_on or [self.prefix + node_id]
            await self._emit(
                "node.waiting", dict(base, output=outcome.output, waiting_on=waiting_on)
            )
            self.queue.put_nowait(
                _Done(node_id, NodeRunStatus.WAITING, output=outcome.output, waiting_on=waiting_on)
            )
            return
        usage = outcome.usage
        await self._emit(
            "node.finished",
            dict(
                base,
                output=outcome.output,
                duration_ms=duration_ms,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=outcome.cost_usd,
            ),
        )
        self.queue.put_nowait(
            _Done(node_id, outcome.status, outcome.output, outcome.active_handles)
        )

    # ------------------------------------------------------------ edge resolution
    async def _node_done(self, done: _Done) -> None:
        node_id = done.node_id
        self.running.pop(node_id, None)
        state = self.state[node_id]
        if done.status is NodeRunStatus.FAILED:
            state.status = "failed"
            error = done.error or "failed"
            full = self.prefix + node_id
            self.failure = (
                error if error.startswith(f"node {full!r}") else (f"node {full!r} failed: {error}")
            )
            return
        if done.status is NodeRunStatus.WAITING:
            state.status = "waiting"
            self.waiting_on.extend(done.waiting_on or [self.prefix + node_id])
            return
        self._completed(node_id, done.output, done.active_handles)

    def _completed(self, node_id: str, output: Any, active_handles: list[str] | None) -> None:
        node = self.graph.nodes[node_id]
        state = self.state[node_id]
        state.status = "done"
        self.outputs[node_id] = output
        self.nodes_scope[node_id] = Scope(
            f"nodes.{node_id}", output=output, status="completed", iteration=state.iteration
        )
        if node.kind.name == "output":
            self.results[node_id] = output
        for edge in node.outgoing:
            active = active_handles is None or edge.handle in active_handles
            self._resolve(edge, active)
        self._finalized(node_id)

    async def _skip(self, node_id: str) -> None:
        node = self.graph.nodes[node_id]
        state = self.state[node_id]
        state.status = "skipped"
        self.nodes_scope[node_id] = Scope(
            f"nodes.{node_id}",
            output=self.outputs.get(node_id),  # an earlier pass's output, in a loop
            status="skipped",
            iteration=state.iteration,
        )
        if (self.prefix + node_id, state.iteration) not in self.finished:
            now = time.time()
            await self._record(
                NodeRunRecord(
                    self.run.execution_id,
                    node_id,
                    state.iteration,
                    1,
                    NodeRunStatus.SKIPPED,
                    started_at=now,
                    finished_at=now,
                )
            )
            await self._emit("node.skipped", {"node_id": node_id, "iteration": state.iteration})
        for edge in node.outgoing:
            self._resolve(edge, False)
        self._finalized(node_id)

    def _resolve(self, edge: Edge, active: bool) -> None:
        if edge.is_back:
            if active:
                self.edges[edge.id] = _ACTIVE
                loop = self.graph.nodes[edge.target].loop
                assert loop is not None
                self.loops[id(loop)].again = True
            return
        if edge.exits is not None and not active:
            # Skipped for this iteration only; final once the loop stops.
            loop_state = self.loops[id(edge.exits)]
            if loop_state.held_skips is None:
                loop_state.held_skips = []
            loop_state.held_skips.append(edge)
            return
        if self.edges[edge.id] == _ACTIVE:
            return  # an exit edge stays active once a pass took it
        self.edges[edge.id] = _ACTIVE if active else _SKIPPED
        self._check(edge.target)

    def _check(self, node_id: str) -> None:
        state = self.state[node_id]
        if state.status != "pending":
            return
        node = self.graph.nodes[node_id]
        if node.is_loop_head and state.runs > 0:
            return  # a head runs again only when its loop settles
        any_active = any_pending = False
        for edge in node.forward_incoming:
            value = self.edges[edge.id]
            if value == _ACTIVE:
                any_active = True
            elif value == _PENDING:
                any_pending = True
        if node.kind.name == "merge" and getattr(node.data, "mode", "all") == "any":
            if any_active:
                self._mark_ready(node_id)
            elif not any_pending:
                self._mark_skip(node_id)
            return
        if any_pending:
            return
        if any_active:
            self._mark_ready(node_id)
        else:
            self._mark_skip(node_id)

    def _mark_ready(self, node_id: str) -> None:
        self.state[node_id].status = "ready"
        self.ready.append(node_id)

    def _mark_skip(self, node_id: str) -> None:
        self.state[node_id].status = "skipping"
        self.to_skip.append(node_id)

    # ------------------------------------------------------------ loops
    def _finalized(self, node_id: str) -> None:
        loop = self.graph.nodes[node_id].loop
        if loop is None:
            return
        loop_state = self.loops[id(loop)]
        loop_state.finalized += 1
        if loop_state.finalized == len(loop.members):
            self._settle(loop, loop_state)

    def _settle(self, loop: Loop, loop_state: _LoopState) -> None:
        held = loop_state.held_skips or []
        if not loop_state.again:
            self.loops[id(loop)] = _LoopState()
            for edge in held:
                if self.edges[edge.id] == _PENDING:
                    self.edges[edge.id] = _SKIPPED
                    self._check(edge.target)
            return
        head = self.state[loop.head]
        if head.runs >= loop.max_iterations:
            self.failure = (
                f"node {self.prefix + loop.head!r} reached max_iterations ({loop.max_iterations}) "
                "and its loop would run again"
            )
            return
        iteration = head.iteration + 1
        self.loops[id(loop)] = _LoopState()
        for member in loop.members:
            state = self.state[member]
            state.iteration, state.status, state.attempt = iteration, "pending", 0
        for edge in loop.internal_edges:
            if not edge.is_back:
                self.edges[edge.id] = _PENDING
        self._mark_ready(loop.head)

    # ------------------------------------------------------------ cancellation
    async def _cancel_running(self, *, reason: str, record: bool = True) -> None:
        if not self.running:
            return
        tasks = dict(self.running)
        self.running.clear()
        for task in tasks.values():
            task.cancel()
        await asyncio.wait(tasks.values(), timeout=CANCEL_GRACE_S)
        if not record:
            return
        now = time.time()
        for node_id in tasks:
            state = self.state[node_id]
            state.status = "cancelled"
            await self._record(
                NodeRunRecord(
                    self.run.execution_id,
                    node_id,
                    state.iteration,
                    max(state.attempt, 1),
                    NodeRunStatus.CANCELLED,
                    error=reason,
                    started_at=state.started_at,
                    finished_at=now,
                )
            )
            await self._emit(
                "node.cancelled",
                {"node_id": node_id, "iteration": state.iteration, "attempt": state.attempt},
            )

    # ------------------------------------------------------------ child workflows
    def _child_runner(self, node_id: str, iteration: int) -> Any:
        async def run_child(workflow_id: str, value: Any, key: str) -> ExecutionOutcome:
            return await self._run_child(workflow_id, value, key, node_id, iteration)

        return run_child

    async def _run_child(
        self, workflow_id: str, value: Any, key: str, node_id: str, iteration: int
    ) -> ExecutionOutcome:
        depth = self.run.depth + 1
        limit = self.executor.options.subworkflow_max_depth
        if depth > limit:
            raise InvalidInput(
                f"node {self.prefix + node_id!r}: sub-workflow {workflow_id!r} would nest "
                f"{depth} levels deep; the limit is {limit} (RELAYFLOW_SUBWORKFLOW_MAX_DEPTH)"
            )
        raw = await self.executor.workflows.get_graph(workflow_id, user_id=self.run.user_id)
        if raw is None:
            raise NotFound(
                f"node {self.prefix + node_id!r}: workflow {workflow_id!r} not found "
                "(or not readable by this user)"
            )
        analysis = analyse_graph_remembered(raw)
        if analysis.graph is None:
            problems = [p.as_dict() for p in analysis.problems]
            shown = "; ".join(str(p) for p in analysis.problems[:MAX_PROBLEMS_IN_MESSAGE])
            raise GraphInvalid(
                f"sub-workflow {workflow_id!r} is invalid: {shown}", details=problems
            )
        child_run = ExecutionRun(
            execution_id=self.run.execution_id,
            graph=raw,
            input=value,
            user_id=self.run.user_id,
            fence=self.run.fence,
            decisions=self.run.decisions,
            cancel=self.run.cancel,
            trigger=self.run.trigger,
            depth=depth,
        )
        prefix = child_prefix(self.prefix, key, iteration)
        child = _Runner(
            self.executor, child_run, analysis.graph, self.finished, self.meter, prefix=prefix
        )
        return await child.execute(timeout_s=None)


class _PrefixedView(Mapping[tuple[str, int], NodeRunRecord]):
    """Finished records seen from inside a child run (keys without the prefix)."""

    def __init__(self, records: Mapping[tuple[str, int], NodeRunRecord], prefix: str) -> None:
        self.records = records
        self.prefix = prefix

    def __getitem__(self, key: tuple[str, int]) -> NodeRunRecord:
        return self.records[(self.prefix + key[0], key[1])]

    def __iter__(self) -> Any:
        n = len(self.prefix)
        return iter((k[n:], i) for k, i in self.records if k.startswith(self.prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)
