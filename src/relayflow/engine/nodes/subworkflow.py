"""`subworkflow`: runs another workflow (one the user may read) as one node.

The child gets `input` rendered (default: this execution's input), runs with the
same user and cancellation, one level deeper (refused past
`subworkflow_max_depth`). Its node runs are recorded under this execution as
`node_id/child_node_id` (`node_id@iteration/...` inside a loop), so a resumed
execution resumes inside the child too, and its approvals are decided by those
ids. The node's output is the child's output; the child's rows carry its token
usage, this node's row none.
"""

from __future__ import annotations

from relayflow.engine.nodes.base import NodeContext, NodeOutcome, child_result
from relayflow.engine.spec import SubworkflowData


async def run(ctx: NodeContext) -> NodeOutcome:
    data: SubworkflowData = ctx.data
    value = (
        await ctx.render(data.input, "data.input")
        if data.input is not None
        else ctx.execution_input
    )
    ctx.input = {"workflow_id": data.workflow_id, "input": value}
    outcome = await ctx.run_child(data.workflow_id, value, ctx.node_id)
    return child_result(outcome, f"sub-workflow {data.workflow_id!r}")
