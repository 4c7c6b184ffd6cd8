"""A workflow's input contract: the JSON Schema on its `input` node, and checking values.

Triggers check a request's input here before they create an execution, so a
caller gets a 422 naming the offending field instead of a run that fails later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

from relayflow.errors import InvalidInput

MAX_REPORTED_PROBLEMS = 10


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
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise InvalidInput(
            f"the workflow's input schema is invalid: {exc.message}",
            details=[{"field": "input.data.schema", "message": exc.message}],
        ) from exc
    return cls(schema)


def _path(error: Any) -> str:
    parts = ["input"]
    for item in error.absolute_path:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def check_input(schema: Mapping[str, Any], value: Any) -> None:
    """Raise `InvalidInput` listing where `value` breaks `schema` (fields as `input.a[0].b`)."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    if not problems:
        return
    details = [
        {"field": _path(error), "message": error.message}
        for error in problems[:MAX_REPORTED_PROBLEMS]
    ]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
    raise InvalidInput(
        f"the input does not match the workflow's input schema: {summary}", details=details
    )
