"""`input`: the execution's input, checked against the node's JSON Schema if it has one."""

from __future__ import annotations

from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import InputData
from relayflow.errors import InvalidInput
from relayflow.input_schema import schema_problems, summary


async def run(ctx: NodeContext) -> NodeOutcome:
    data: InputData = ctx.data
    value = ctx.execution_input
    if data.json_schema is not None:
        # The schema itself was checked when the graph was (engine.validation).
        problems = schema_problems(data.json_schema, value, name="input")
        if problems:
            raise InvalidInput(
                f"node {ctx.node_id!r}: the execution input does not match its schema: "
                + summary(problems),
                details=problems,
            )
    return NodeOutcome(output=value)
