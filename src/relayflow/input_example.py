"""An example value for a JSON Schema: the body a "try it" curl sends.

The schema's own hints come first (`examples`, `example`, `default`, `const`,
`enum`), then a plain value by type that respects the common bounds (min/max,
lengths, formats), objects with one value per property, arrays with one item
(or `minItems`). The web UI has the same rules (web/src/triggers/inputExample.ts);
tests/triggers/input_example_cases.json holds the cases both must agree on.

A leaf module like `input_schema`: it imports nothing else of relayflow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

# Deeper than this (a recursive `$ref`), a value stops at null.
MAX_DEPTH = 8

STRING_BY_FORMAT = {
    "date-time": "2026-01-31T09:30:00Z",
    "date": "2026-01-31",
    "time": "09:30:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
}
PLAIN_STRING = "example"


def example_input(schema: Mapping[str, Any] | None) -> Any:
    """An input the schema accepts in the common cases; `{}` without a schema."""
    if not isinstance(schema, Mapping) or not schema:
        return {}
    return _example(schema, schema, 0)


def example_body(schema: Mapping[str, Any] | None) -> str:
    """`example_input` as a request body."""
    return as_body(example_input(schema))


def as_body(value: Any) -> str:
    """Compact JSON, the way the UI writes it (`JSON.stringify`)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _example(schema: Any, root: Mapping[str, Any], depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _example(_resolve(ref, root), root, depth + 1)
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for hint in ("example", "default", "const"):
        if hint in schema:
            return schema[hint]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            return _example(branches[0], root, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        return _all_of(schema, all_of, root, depth)
    kind = _type(schema)
    if kind == "object":
        return _object(schema, root, depth)
    if kind == "array":
        return _array(schema, root, depth)
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return PLAIN_STRING


def _type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the first that is not null
        named = [k for k in kind if isinstance(k, str)]
        kind = next((k for k in named if k != "null"), named[0] if named else None)
    if isinstance(kind, str):
        return kind
    if isinstance(schema.get("properties"), Mapping):
        return "object"
    if isinstance(schema.get("items"), Mapping):
        return "array"
    return None


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    """A local reference (`#/$defs/name`); anything else is unknown."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in ref.lstrip("#").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _all_of(
    schema: Mapping[str, Any], parts: list[Any], root: Mapping[str, Any], depth: int
) -> Any:
    own = {k: v for k, v in schema.items() if k != "allOf"}
    values = [_example(part, root, depth + 1) for part in parts]
    if own:
        values.insert(0, _example(own, root, depth))
    objects = [v for v in values if isinstance(v, dict)]
    if objects and len(objects) == len(values):
        merged: dict[str, Any] = {}
        for value in objects:
            merged.update(value)
        return merged
    return values[0]


def _object(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    value = {name: _example(prop, root, depth + 1) for name, prop in properties.items()}
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in value:
            value[name] = PLAIN_STRING  # required but not described
    return value


def _array(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> list[Any]:
    items = schema.get("items")
    count = max(1, _int(schema.get("minItems"), 1))
    if isinstance(items, Mapping):
        enum = items.get("enum")
        if schema.get("uniqueItems") is True and isinstance(enum, list) and len(enum) >= count:
            return list(enum[:count])
        item = _example(items, root, depth + 1)
    else:
        item = PLAIN_STRING
    return [item for _ in range(count)]


def _string(schema: Mapping[str, Any]) -> str:
    fmt = schema.get("format")
    text = STRING_BY_FORMAT.get(fmt, PLAIN_STRING) if isinstance(fmt, str) else PLAIN_STRING
    shortest = _int(schema.get("minLength"), 0)
    if len(text) < shortest:
        text = text + "x" * (shortest - len(text))
    longest = schema.get("maxLength")
    if isinstance(longest, int) and not isinstance(longest, bool) and len(text) > longest:
        text = text[: max(longest, 0)]
    return text


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    low, high = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
    low_open = _bound(schema.get("exclusiveMinimum"))
    high_open = _bound(schema.get("exclusiveMaximum"))
    lower = low if low is not None else low_open
    value: float = low if low is not None else (low_open + 1 if low_open is not None else 1)
    # Above the upper bound: between the bounds when there are two, else on the
    # upper one (just under it when it is exclusive).
    if high is not None and value > high:
        value = (lower + high) / 2 if lower is not None else high
    elif high_open is not None and value >= high_open:
        value = (lower + high_open) / 2 if lower is not None else high_open - 1
    step = _bound(schema.get("multipleOf"))
    if step is not None and step > 0:
        value = math.ceil(value / step) * step
    if integer:
        return math.ceil(value)
    return int(value) if float(value).is_integer() else value


def _bound(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _int(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
