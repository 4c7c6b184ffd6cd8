"""`input`: the execution's input, checked against the node's JSON Schema if it has one."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, validators

from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import InputData
from relayflow.errors import InvalidInput

MAX_REPORTED = 5


def schema_problems(value: Any, schema: dict[str, Any], *, name: str) -> list[str]:
    """Where `value` breaks `schema`, as `name.path: message` lines (at most a few)."""
    validator_class = validators.validator_for(schema, default=Draft202012Validator)
    errors = sorted(validator_class(schema).iter_errors(value), key=lambda e: list(e.path))
    problems = []
    for error in errors[:MAX_REPORTED]:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        problems.append(f"{name}{path}: {error.message}")
    return problems


async def run(ctx: NodeContext) -> NodeOutcome:
    data: InputData = ctx.data
    value = ctx.execution_input
    if data.json_schema is not None:
        problems = schema_problems(value, data.json_schema, name="input")
        if problems:
            raise InvalidInput(
                f"node {ctx.node_id!r}: the execution input does not match its schema: "
                + "; ".join(problems),
                details=problems,
            )
    return NodeOutcome(output=value)
