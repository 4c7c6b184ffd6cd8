"""`condition`: the first case whose `when` expression is true picks its handle.

Only edges leaving from the chosen handle are active; the others are skipped (and
the skip propagates downstream). Without a matching case the `default` handle is
chosen; without a default, every outgoing edge is skipped. The output is
`{"handle": chosen}` (`null` when nothing was chosen).
"""

from __future__ import annotations

from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import ConditionData


async def run(ctx: NodeContext) -> NodeOutcome:
    data: ConditionData = ctx.data
    chosen = data.default
    for index, case in enumerate(data.cases):
        if await ctx.evaluate(case.when, f"data.cases[{index}].when"):
            chosen = case.handle
            break
    return NodeOutcome(
        output={"handle": chosen}, active_handles=[chosen] if chosen is not None else []
    )
