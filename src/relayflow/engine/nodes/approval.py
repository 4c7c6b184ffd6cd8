"""`approval`: pauses the execution until a person approves or rejects.

Without a decision for this node the node is WAITING (its `message` rendered into
its output) and the execution's outcome becomes WAITING once nothing else can run.
Run again with a decision, it completes with `{approved, comment, decided_by}`:
edges from the `rejected` handle are active only on rejection, all others (no
handle, or `approved`) only on approval. A decision is per node id, so an approval
inside a loop asks once.
"""

from __future__ import annotations

from relayflow.domain import NodeRunStatus
from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import ApprovalData


async def run(ctx: NodeContext) -> NodeOutcome:
    data: ApprovalData = ctx.data
    message = (
        await ctx.render_text(data.message, "data.message") if data.message is not None else None
    )
    if ctx.decision is None:
        return NodeOutcome(status=NodeRunStatus.WAITING, output={"message": message})
    handle = "approved" if ctx.decision.approved else "rejected"
    return NodeOutcome(
        output={**ctx.decision.as_dict(), "message": message}, active_handles=[handle]
    )
