"""The executor: runs a workflow graph in-process and records every node attempt.

Semantics (DESIGN.md, "Execution semantics"):

- A node runs once every incoming edge is resolved and at least one is active; a
  node whose incoming edges are all skipped is skipped, and so on downstream. A
  `merge` with `mode: any` runs on its first active input. Edges leaving a
  `condition` or `approval` are active only from the chosen handle.
- Ready nodes run concurrently as asyncio tasks, at most `max_parallel_nodes` at a
  time per execution (and per sub-workflow); the nodes of all child runs together
  at most `max_active_child_nodes` (`engine.slots`).
- Budgets (`engine.budget`): node runs and events per execution, child runs
  included, items per map and output size per node. Running out of node runs or
  events stops the whole execution at once, failing with the reason.
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
execution (`engine.children`): their node runs are recorded with ids prefixed by
the parent node (`sub/child_node`), so they resume too. Usage is carried by the rows that spent
it (agent nodes and map items), never by the parent row as well; the outcome's
usage is the sum over every row of the execution, reused ones included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.attempts import error_text, is_retryable, retry_delay, run_attempt
from relayflow.engine.budget import ExecutionBudget, RunBudget
from relayflow.engine.children import PrefixedRecords, prepare_child, problems_text
from relayflow.engine.graph import Edge, Graph, Loop
from relayflow.engine.loops import LoopTracker, Settled
from relayflow.engine.naming import child_prefix
from relayflow.engine.node_states import EdgeState, NodeProgress, NodeState
from relayflow.engine.nodes import NodeContext, NodeOutcome
from relayflow.engine.nodes.base import ChildRunner
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
from relayflow.engine.slots import ExecutionSlots, SlotHolder
from relayflow.engine.templating import Scope
from relayflow.engine.validation import GraphAnalyses
from relayflow.errors import BudgetExceeded, LeaseLost

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
_OVER_BUDGET = _Signal("over budget")


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


@dataclass(slots=True)
class _Execution:
    """What every run of one execution shares, its child runs included."""

    finished: Mapping[tuple[str, int], NodeRunRecord]  # reusable records, by full node id
    meter: _Meter
    budget: ExecutionBudget
    events: EventSink | None  # the execution's sink, counted against its budget
    slots: ExecutionSlots  # nodes of child runs at work at once, over the whole tree


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
        analyses: GraphAnalyses | None = None,
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
        self.analyses = analyses or GraphAnalyses()  # share one across runs to reuse them

    async def run(self, run: ExecutionRun) -> ExecutionOutcome:
        """Run (or resume) one execution to COMPLETED, FAILED, CANCELLED or WAITING.

        Never raises for node failures; raises `LeaseLost` when the store does.
        """
        analysis = self.analyses.of(run.graph)
        if analysis.graph is None:
            return ExecutionOutcome(
                ExecutionStatus.FAILED,
                error=f"the workflow graph is invalid: {problems_text(analysis.problems)}",
            )
        if self.credentials is not None and mentions_secrets(run.graph):
            self.secrets = await self.credentials.secrets()
        meter = _Meter()
        finished: dict[tuple[str, int], NodeRunRecord] = {}
        for record in await self.store.finished(run.execution_id):
            finished[(record.node_id, record.iteration)] = record
            meter.add(record)
        budget = ExecutionBudget(self.options, node_runs=len(finished))
        shared = _Execution(
            finished,
            meter,
            budget,
            budget.counted(self.events),
            ExecutionSlots(self.options.max_active_child_nodes),
        )
        runner = _Runner(self, run, analysis.graph, shared, prefix="")
        # A budget running out anywhere in the tree stops the whole execution at once.
        budget.on_breach = lambda _reason: runner.queue.put_nowait(_OVER_BUDGET)
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
        shared: _Execution,
        *,
        prefix: str,
    ) -> None:
        self.executor = executor
        self.shared = shared
        self.run = run
        self.graph = graph
        self.finished = shared.finished
        self.meter = shared.meter
        self.events = shared.events
        self.slots = shared.slots
        self.budget = RunBudget(shared.budget, prefix)
        self.prefix = prefix  # "" for the execution, "sub/" for a child run
        self.state = {node_id: NodeProgress() for node_id in graph.nodes}
        self.edges = {edge.id: EdgeState.PENDING for edge in graph.edges}
        self.loops = LoopTracker(graph.loops)
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
                self.state[node_id].state = NodeState.READY
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
        elif signal is _OVER_BUDGET:
            self.failure = self.shared.budget.breach or "the execution exceeded its budget"
            await self._cancel_running(reason=self.failure)
        else:
            self.failure = f"the execution timed out after {timeout_s:g} s"
            await self._cancel_running(reason=self.failure)

    def _outcome(self) -> ExecutionOutcome:
        breach = self.shared.budget.breach
        if breach is not None:  # whatever failed after it, this is why
            return ExecutionOutcome(ExecutionStatus.FAILED, error=breach)
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
            if self.edges[edge.id] is EdgeState.ACTIVE:
                upstream[edge.source] = self.outputs.get(edge.source)
                if edge.is_back:
                    self.edges[edge.id] = EdgeState.PENDING  # consumed by this iteration
        state.runs += 1
        reused = self.finished.get((self.prefix + node_id, state.iteration))
        if reused is not None and reused.status is NodeRunStatus.COMPLETED:
            state.state = NodeState.RUNNING
            self._completed(node_id, reused.output, reused.active_handles)
            return
        state.state = NodeState.RUNNING
        state.row_open = state.settled = False
        slot = self.slots.holder() if self.prefix else ExecutionSlots.unbounded()
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
            run_child=self._child_runner(node_id, state.iteration, slot),
            record_item=self._record_item,
            reusable=self._reusable_items(),
            budget=self.budget,
            decision=self.run.decisions.get(self.prefix + node_id),
            events=self._node_events(),
            http_client=self.executor.http_client,
            credentials=self.executor.credentials,
        )
        self.running[node_id] = asyncio.create_task(self._attempts(node_id, ctx, slot))

    def _reusable_items(self) -> Mapping[tuple[str, int], NodeRunRecord]:
        if not self.prefix:
            return self.finished
        return PrefixedRecords(self.finished, self.prefix)

    def _node_events(self) -> EventSink | None:
        sink = self.events
        if sink is None or not self.prefix:
            return sink
        prefix = self.prefix

        async def prefixed(kind: str, payload: Mapping[str, Any]) -> None:
            node_id = payload.get("node_id")
            await sink(kind, {**payload, "node_id": f"{prefix}{node_id}"} if node_id else payload)

        return prefixed

    async def _record(self, record: NodeRunRecord) -> None:
        if self.prefix:  # a copy: the caller's record keeps its own id
            record = dataclasses.replace(record, node_id=self.prefix + record.node_id)
        await self.executor.store.record(record, fence=self.run.fence)
        self.meter.add(record)

    async def _record_item(self, record: NodeRunRecord) -> None:
        await self._record(record)

    async def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        sink = self.events
        if sink is not None:
            payload["node_id"] = self.prefix + payload["node_id"]
            await sink(kind, payload)

    # ------------------------------------------------------------ one node's attempts
    async def _attempts(self, node_id: str, ctx: NodeContext, slot: SlotHolder) -> None:
        try:
            async with slot.held():
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
            try:
                self.budget.charge_node_run(node_id)
            except BudgetExceeded as exc:
                self.queue.put_nowait(_Done(node_id, NodeRunStatus.FAILED, error=exc.message))
                return
            attempt += 1
            started = time.time()
            state.attempt, state.started_at, state.row_open = attempt, started, True
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
                self.budget.check_output(node_id, outcome.output)
            except (asyncio.CancelledError, LeaseLost):
                raise
            except Exception as exc:
                failure: Exception = exc
            else:
                await self._finish_attempt(node_id, ctx, outcome, base, started)
                return
            if state.settled:
                return  # recorded cancelled meanwhile: its row is closed
            error = error_text(failure)
            finished = time.time()
            state.row_open = False
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
            state.settled = True
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
        state = self.state[node_id]
        if state.settled:
            return  # recorded cancelled meanwhile: its row is closed
        state.row_open, state.settled = False, True
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
            state.state = NodeState.FAILED
            error = done.error or "failed"
            full = self.prefix + node_id
            self.failure = (
                error if error.startswith(f"node {full!r}") else (f"node {full!r} failed: {error}")
            )
            return
        if done.status is NodeRunStatus.WAITING:
            state.state = NodeState.WAITING
            self.waiting_on.extend(done.waiting_on or [self.prefix + node_id])
            return
        self._completed(node_id, done.output, done.active_handles)

    def _completed(self, node_id: str, output: Any, active_handles: list[str] | None) -> None:
        node = self.graph.nodes[node_id]
        state = self.state[node_id]
        state.state = NodeState.DONE
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
        state.state = NodeState.SKIPPED
        self.nodes_scope[node_id] = Scope(
            f"nodes.{node_id}",
            output=self.outputs.get(node_id),  # an earlier pass's output, in a loop
            status="skipped",
            iteration=state.iteration,
        )
        if (self.prefix + node_id, state.iteration) not in self.finished:
            try:
                self.budget.charge_node_run(node_id)
            except BudgetExceeded as exc:
                self.failure = exc.message
                return
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
                self.edges[edge.id] = EdgeState.ACTIVE
                loop = self.graph.nodes[edge.target].loop
                assert loop is not None
                self.loops.back_edge_taken(loop)
            return
        if edge.exits is not None and not active:
            # Skipped for this iteration only; final once the loop stops.
            self.loops.hold_skip(edge.exits, edge)
            return
        if self.edges[edge.id] is EdgeState.ACTIVE:
            return  # an exit edge stays active once a pass took it
        self.edges[edge.id] = EdgeState.ACTIVE if active else EdgeState.SKIPPED
        self._check(edge.target)

    def _check(self, node_id: str) -> None:
        state = self.state[node_id]
        if state.state is not NodeState.PENDING:
            return
        node = self.graph.nodes[node_id]
        if node.is_loop_head and state.runs > 0:
            return  # a head runs again only when its loop settles
        any_active = any_pending = False
        for edge in node.forward_incoming:
            value = self.edges[edge.id]
            if value is EdgeState.ACTIVE:
                any_active = True
            elif value is EdgeState.PENDING:
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
        self.state[node_id].state = NodeState.READY
        self.ready.append(node_id)

    def _mark_skip(self, node_id: str) -> None:
        self.state[node_id].state = NodeState.SKIPPING
        self.to_skip.append(node_id)

    # ------------------------------------------------------------ loops
    def _finalized(self, node_id: str) -> None:
        loop = self.graph.nodes[node_id].loop
        if loop is None:
            return
        settled = self.loops.member_finalized(loop)
        if settled is not None:
            self._settle(loop, settled)

    def _settle(self, loop: Loop, settled: Settled) -> None:
        if not settled.again:
            for edge in settled.held_skips:
                if self.edges[edge.id] is EdgeState.PENDING:
                    self.edges[edge.id] = EdgeState.SKIPPED
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
        for member in loop.members:
            self.state[member].start_iteration(iteration)
        for edge in loop.internal_edges:
            if not edge.is_back:
                self.edges[edge.id] = EdgeState.PENDING
        self._mark_ready(loop.head)

    # ------------------------------------------------------------ cancellation
    async def _cancel_running(self, *, reason: str, record: bool = True) -> None:
        if not self.running:
            return
        # A task already done has written its own last record (its outcome is queued).
        tasks = {node_id: t for node_id, t in self.running.items() if not t.done()}
        self.running.clear()
        for task in tasks.values():
            task.cancel()
        if tasks:
            await asyncio.wait(tasks.values(), timeout=CANCEL_GRACE_S)
        if not record:
            return
        now = time.time()
        for node_id in tasks:
            state = self.state[node_id]
            state.state = NodeState.CANCELLED
            if state.settled:
                continue  # its last row is written (its outcome is on the way)
            if not state.row_open:
                if state.attempt > 0:
                    continue  # waiting to retry: its failed attempt's row stands
                if not self.shared.budget.has_node_runs_left():
                    continue  # never started: a row of its own would pass the budget
                self.budget.charge_node_run(node_id)
            state.row_open, state.settled = False, True
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
    def _child_runner(self, node_id: str, iteration: int, slot: SlotHolder) -> ChildRunner:
        async def run_child(workflow_id: str, value: Any, key: str) -> ExecutionOutcome:
            async with slot.lent():
                child_run, graph = await prepare_child(
                    self.executor.workflows,
                    self.run,
                    workflow_id=workflow_id,
                    value=value,
                    node_id=self.prefix + node_id,
                    max_depth=self.executor.options.subworkflow_max_depth,
                    analyses=self.executor.analyses,
                )
                prefix = child_prefix(self.prefix, key, iteration)
                child = _Runner(self.executor, child_run, graph, self.shared, prefix=prefix)
                return await child.execute(timeout_s=None)

        return run_child
