"""`output`: the execution's output.

`value` is rendered; without one, the node passes on its input: the output of its
one upstream node, or `{source_id: output}` when several edges reach it.
"""

from __future__ import annotations

from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import OutputData


async def run(ctx: NodeContext) -> NodeOutcome:
    data: OutputData = ctx.data
    if data.value is not None:
        return NodeOutcome(output=await ctx.render(data.value, "data.value"))
    if len(ctx.upstream) == 1:
        return NodeOutcome(output=next(iter(ctx.upstream.values())))
    return NodeOutcome(output=dict(ctx.upstream))
