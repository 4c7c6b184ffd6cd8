"""JSON Schema checks: a workflow's input contract, and the one checker of values.

Triggers check a request's input here before they create an execution, so a
caller gets a 422 naming the offending field instead of a run that fails later.
The engine checks with the same function (the `input` node, an agent's
`output_schema`), so the limits and the shape of the problems are the same
everywhere: at most `MAX_REPORTED_PROBLEMS` of them, each `{field, message}`
with the field as `input.a[0].b`.

A leaf module like `errors`: it imports nothing else of relayflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from relayflow.errors import InvalidInput

MAX_REPORTED_PROBLEMS = 10
PROBLEMS_IN_MESSAGE = 3


def input_schema_of(nodes: Sequence[Any] | None) -> Mapping[str, Any] | None:
    """`data.schema` of the graph's first `input` node, if it has one."""
    for node in nodes or ():
        if isinstance(node, Mapping) and node.get("type") == "input":
            data = node.get("data")
            schema = data.get("schema") if isinstance(data, Mapping) else None
            return schema if isinstance(schema, Mapping) and schema else None
    return None


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    """Raises `SchemaError` for a schema that is not one."""
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def _path(name: str, error: Any) -> str:
    parts = [name]
    for item in error.absolute_path:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def schema_problems(
    schema: Mapping[str, Any], value: Any, *, name: str = "input"
) -> list[dict[str, str]]:
    """Where `value` breaks `schema`, as `{field, message}` (fields start with `name`),
    in path order, at most `MAX_REPORTED_PROBLEMS`. Raises `SchemaError` for a schema
    that is not one."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return [
        {"field": _path(name, error), "message": error.message}
        for error in problems[:MAX_REPORTED_PROBLEMS]
    ]


def summary(problems: Sequence[Mapping[str, str]]) -> str:
    """The first few problems, for a message."""
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems[:PROBLEMS_IN_MESSAGE])


def check_input(schema: Mapping[str, Any], value: Any) -> None:
    """Raise `InvalidInput` listing where `value` breaks `schema` (fields as `input.a[0].b`)."""
    try:
        problems = schema_problems(schema, value)
    except SchemaError as exc:
        raise InvalidInput(
            f"the workflow's input schema is invalid: {exc.message}",
            details=[{"field": "input.data.schema", "message": exc.message}],
        ) from exc
    if problems:
        raise InvalidInput(
            f"the input does not match the workflow's input schema: {summary(problems)}",
            details=problems,
        )
