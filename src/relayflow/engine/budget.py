"""Execution budgets: how much work one execution may do, child runs included.

One `ExecutionBudget` is shared by an execution's run and every sub-workflow and
map item run inside it, so the totals hold across the whole tree:

- node runs (`max_node_runs`, `RELAYFLOW_MAX_NODE_RUNS_PER_EXECUTION`): every row
  the execution writes, attempts, skips, map items and the nodes of child runs
  alike; charged before the work starts, so the limit is never passed;
- events (`max_events`, `RELAYFLOW_MAX_EVENTS_PER_EXECUTION`): past the limit no
  event is passed on;
- items of one map node (`max_map_items`, `RELAYFLOW_MAX_MAP_ITEMS`);
- the stored output of one node or map item as JSON (`max_node_output_bytes`,
  `RELAYFLOW_MAX_NODE_OUTPUT_BYTES`).

Running out of node runs or events ends the whole execution (`on_breach` tells
the top-level run, which fails with `breach` as its reason); too many map items or
too large an output fail that node, with a permanent (never retried) error.
Nesting depth is bounded where child runs start (`subworkflow_max_depth`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import to_json

from relayflow.engine.ports import EventSink
from relayflow.engine.run import EngineOptions
from relayflow.errors import BudgetExceeded


def stored_size(value: Any) -> int:
    """The size of `value` as compact JSON, in bytes (what the store writes)."""
    return len(to_json(value, fallback=str))


class ExecutionBudget:
    """The running totals of one execution, across its child runs."""

    def __init__(self, options: EngineOptions, *, node_runs: int = 0) -> None:
        self.options = options
        self.node_runs = node_runs  # rows already written (a resumed execution's)
        self.events = 0
        self.breach: str | None = None  # why the execution must stop, once it must
        self.on_breach: Callable[[str], None] | None = None

    def charge_node_run(self, node_id: str) -> None:
        """Count one more row for `node_id` (its full id), or raise if that is one too many."""
        limit = self.options.max_node_runs
        if self.node_runs >= limit:
            raise self._breached(
                f"node {node_id!r} would start node run {limit + 1} of this execution; "
                f"the limit is {limit} node runs (RELAYFLOW_MAX_NODE_RUNS_PER_EXECUTION)"
            )
        self.node_runs += 1

    def has_node_runs_left(self) -> bool:
        return self.node_runs < self.options.max_node_runs

    def check_map_items(self, node_id: str, count: int) -> None:
        limit = self.options.max_map_items
        if count > limit:
            raise BudgetExceeded(
                f"node {node_id!r}: data.items has {count} items; the limit is {limit} "
                "items per map node (RELAYFLOW_MAX_MAP_ITEMS)"
            )

    def check_output(self, node_id: str, output: Any) -> None:
        limit = self.options.max_node_output_bytes
        size = stored_size(output)
        if size > limit:
            raise BudgetExceeded(
                f"node {node_id!r}: its output is {size} bytes as JSON; the limit is {limit} "
                "bytes per node (RELAYFLOW_MAX_NODE_OUTPUT_BYTES)"
            )

    def allow_event(self, node_id: Any) -> bool:
        limit = self.options.max_events
        if self.events >= limit:
            self._breached(
                f"node {node_id!r} would emit event {limit + 1} of this execution; "
                f"the limit is {limit} events (RELAYFLOW_MAX_EVENTS_PER_EXECUTION)"
            )
            return False
        self.events += 1
        return True

    def counted(self, sink: EventSink | None) -> EventSink | None:
        """`sink`, passing on events only while the execution has some left."""
        if sink is None:
            return None

        async def counted_sink(kind: str, payload: Mapping[str, Any]) -> None:
            if self.allow_event(payload.get("node_id")):
                await sink(kind, payload)

        return counted_sink

    def _breached(self, reason: str) -> BudgetExceeded:
        if self.breach is None:
            self.breach = reason
            if self.on_breach is not None:
                self.on_breach(reason)
        return BudgetExceeded(reason)


class RunBudget:
    """The execution's budget as one (child) run sees it: node ids without its prefix."""

    def __init__(self, budget: ExecutionBudget, prefix: str = "") -> None:
        self.budget = budget
        self.prefix = prefix

    def under(self, prefix: str) -> RunBudget:
        return RunBudget(self.budget, prefix)

    def full_id(self, node_id: str) -> str:
        return self.prefix + node_id

    def charge_node_run(self, node_id: str) -> None:
        self.budget.charge_node_run(self.prefix + node_id)

    def check_map_items(self, node_id: str, count: int) -> None:
        self.budget.check_map_items(self.prefix + node_id, count)

    def check_output(self, node_id: str, output: Any) -> None:
        self.budget.check_output(self.prefix + node_id, output)
