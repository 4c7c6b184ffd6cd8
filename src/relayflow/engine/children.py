"""Child runs: a sub-workflow (or a map item over a workflow) run inside its execution.

A child run shares its execution's id, user, lease, decisions, cancellation and
budget, runs one level deeper (refused past `subworkflow_max_depth`), and records
its node runs under a prefix (`sub/`, `map[3]/`, `sub@2/` in loop iteration 2; see
`engine.naming`), so a resumed execution resumes inside it too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from relayflow.engine.graph import Graph
from relayflow.engine.ports import NodeRunRecord, WorkflowCatalog
from relayflow.engine.run import ExecutionRun
from relayflow.engine.validation import GraphAnalyses
from relayflow.errors import BudgetExceeded, GraphInvalid, NotFound

MAX_PROBLEMS_IN_MESSAGE = 5


def problems_text(problems: list[Any]) -> str:
    """The first few problems of an invalid graph, for an error message."""
    shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_IN_MESSAGE])
    more = len(problems) - MAX_PROBLEMS_IN_MESSAGE
    return f"{shown} (and {more} more)" if more > 0 else shown


async def prepare_child(
    workflows: WorkflowCatalog,
    parent: ExecutionRun,
    *,
    workflow_id: str,
    value: Any,
    node_id: str,
    max_depth: int,
    analyses: GraphAnalyses,
) -> tuple[ExecutionRun, Graph]:
    """The run of `workflow_id` on `value` that node `node_id` (its full id) starts."""
    depth = parent.depth + 1
    if depth > max_depth:
        raise BudgetExceeded(
            f"node {node_id!r}: sub-workflow {workflow_id!r} would nest "
            f"{depth} levels deep; the limit is {max_depth} (RELAYFLOW_SUBWORKFLOW_MAX_DEPTH)"
        )
    raw = await workflows.get_graph(workflow_id, user_id=parent.user_id)
    if raw is None:
        raise NotFound(
            f"node {node_id!r}: workflow {workflow_id!r} not found (or not readable by this user)"
        )
    analysis = analyses.of(raw)
    if analysis.graph is None:
        raise GraphInvalid(
            f"sub-workflow {workflow_id!r} is invalid: {problems_text(analysis.problems)}",
            details=[p.as_dict() for p in analysis.problems],
        )
    run = ExecutionRun(
        execution_id=parent.execution_id,
        graph=raw,
        input=value,
        user_id=parent.user_id,
        fence=parent.fence,
        decisions=parent.decisions,
        cancel=parent.cancel,
        trigger=parent.trigger,
        depth=depth,
    )
    return run, analysis.graph


class PrefixedRecords(Mapping[tuple[str, int], NodeRunRecord]):
    """Finished records seen from inside a child run (keys without the prefix)."""

    def __init__(self, records: Mapping[tuple[str, int], NodeRunRecord], prefix: str) -> None:
        self.records = records
        self.prefix = prefix

    def __getitem__(self, key: tuple[str, int]) -> NodeRunRecord:
        return self.records[(self.prefix + key[0], key[1])]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        n = len(self.prefix)
        return iter((k[n:], i) for k, i in self.records if k.startswith(self.prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)
