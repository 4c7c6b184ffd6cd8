"""`transform`: builds a value from a template (or a JSON value full of templates)."""

from __future__ import annotations

from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import TransformData


async def run(ctx: NodeContext) -> NodeOutcome:
    data: TransformData = ctx.data
    return NodeOutcome(output=await ctx.render(data.value, "data.value"))
