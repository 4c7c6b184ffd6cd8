"""Small JSON values valid against a JSON Schema, for the offline models' structured answers.

Covers the common keywords (type, enum, const, default, anyOf/oneOf/allOf, local
$refs, min/max, multipleOf, minItems, string lengths and formats); strings hold a
given text within their length limits, and an enum picks the first option the
prompt mentions. Not a general solver: a `pattern` gets an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SCHEMA_DEPTH = 8


def minimal_instance(
    schema: Mapping[str, Any],
    *,
    text: str = "",
    prompt: str = "",
    root: Mapping[str, Any] | None = None,
    depth: int = 0,
) -> Any:
    """A small value valid against `schema` (the common keywords), strings holding `text`."""
    root = root if root is not None else schema
    if depth > MAX_SCHEMA_DEPTH:
        return None
    schema = _resolve_ref(schema, root)

    def sub(s: Mapping[str, Any]) -> Any:
        return minimal_instance(s, text=text, prompt=prompt, root=root, depth=depth + 1)

    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return _enum_choice(schema["enum"], prompt)
    if "default" in schema:
        return schema["default"]
    for combinator in ("anyOf", "oneOf"):
        if schema.get(combinator):
            return sub(schema[combinator][0])
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            part = _resolve_ref(part, root)
            merged.setdefault("properties", {}).update(part.get("properties", {}))
            merged.setdefault("required", []).extend(part.get("required", []))
            merged.setdefault("type", part.get("type"))
        return sub(merged)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        required = list(schema.get("required", []))
        names = list(schema.get("properties", {})) if depth < 3 else required
        names += [r for r in required if r not in names]
        properties = schema.get("properties", {})
        return {name: sub(properties.get(name, {})) for name in names}
    if kind == "array":
        item = schema.get("items", {})
        return [
            sub(item) if isinstance(item, Mapping) else None
            for _ in range(int(schema.get("minItems", 0)))
        ]
    if kind == "string":
        return _string_instance(schema, text)
    if kind in ("integer", "number"):
        return _number_instance(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    return None


def _resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for key in ref[2:].split("/"):
        if not isinstance(target, Mapping) or key not in target:
            return {}
        target = target[key]
    return target if isinstance(target, Mapping) else {}


def _enum_choice(options: Sequence[Any], prompt: str) -> Any:
    lowered = prompt.lower()
    for option in options:
        if isinstance(option, str) and re.search(rf"\b{re.escape(option.lower())}\b", lowered):
            return option
    return options[0]


FORMAT_EXAMPLES = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "echo@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def _string_instance(schema: Mapping[str, Any], text: str) -> str:
    if schema.get("format") in FORMAT_EXAMPLES:
        return FORMAT_EXAMPLES[schema["format"]]
    if "pattern" in schema:
        return ""  # no general way to satisfy a pattern; an empty string often does
    value = text
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    minimum = int(schema.get("minLength", 0))
    if len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    return value


def _number_instance(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    value: float = 0
    if "minimum" in schema:
        value = max(value, schema["minimum"]) if "maximum" not in schema else schema["minimum"]
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], int | float):
        value = schema["exclusiveMinimum"] + 1
    if "maximum" in schema and value > schema["maximum"]:
        value = schema["maximum"]
    if schema.get("multipleOf"):
        step = schema["multipleOf"]
        value = -(-value // step) * step
    return int(value) if integer else value
