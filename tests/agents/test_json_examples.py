"""Example JSON values for schemas (the offline models' structured answers)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from relayflow.agents.json_examples import minimal_instance


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "minLength": 50},
        {"type": "number", "exclusiveMinimum": 2.5},
        {"type": "integer", "minimum": 3, "multipleOf": 2},
        {"type": ["null", "boolean"]},
        {"oneOf": [{"type": "string", "format": "email"}, {"type": "integer"}]},
        {
            "$defs": {
                "p": {"type": "object", "properties": {"x": {"const": 1}}, "required": ["x"]}
            },
            "type": "array",
            "items": {"$ref": "#/$defs/p"},
            "minItems": 2,
        },
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
            ]
        },
    ],
)
def test_minimal_instances_are_valid(schema: dict[str, Any]) -> None:
    jsonschema.validate(minimal_instance(schema, text="hello"), schema)


def test_strings_carry_the_text_and_enums_follow_the_prompt() -> None:
    schema = {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "maxLength": 5},
            "mood": {"enum": ["happy", "sad"]},
        },
    }
    value = minimal_instance(schema, text="hello world", prompt="I am so sad today")
    assert value == {"summary": "hello", "mood": "sad"}
