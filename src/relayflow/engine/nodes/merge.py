"""`merge`: joins branches.

- `all` runs once every incoming edge is resolved; its output is `{source_id: output}`
  of the active inputs (skipped branches are left out), in edge order.
- `any` runs on the first active input and its output is that input's output;
  inputs arriving later are ignored.
"""

from __future__ import annotations

from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import MergeData


async def run(ctx: NodeContext) -> NodeOutcome:
    data: MergeData = ctx.data
    ctx.input = list(ctx.upstream)
    if data.mode == "any":
        first = next(iter(ctx.upstream.values()), None)
        return NodeOutcome(output=first)
    return NodeOutcome(output=dict(ctx.upstream))
