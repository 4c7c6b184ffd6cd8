"""JSON answers against an output schema."""

from __future__ import annotations

import pytest
from pydantic_ai import ModelRetry

from relayflow import errors
from relayflow.agents.structured import structured_output

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


def test_a_matching_answer_is_accepted() -> None:
    assert structured_output(PERSON, agent="x").accept({"name": "Ada", "age": 36}) == {
        "name": "Ada",
        "age": 36,
    }


def test_a_mismatch_asks_the_model_again_naming_each_problem() -> None:
    with pytest.raises(ModelRetry) as caught:
        structured_output(PERSON, agent="x").accept({"age": -1})
    text = str(caught.value)
    assert "'name' is a required property" in text
    assert "age: -1 is less than the minimum of 0" in text


def test_non_object_schemas_are_wrapped_and_unwrapped() -> None:
    spec = structured_output({"type": "array", "items": {"type": "integer"}}, agent="x")
    assert spec.model_schema["required"] == ["result"]
    assert spec.accept({"result": [1, 2]}) == [1, 2]
    with pytest.raises(ModelRetry, match="'result'"):
        spec.accept([1, 2])


def test_definitions_stay_reachable_when_wrapped() -> None:
    schema = {"$defs": {"n": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/n"}}
    spec = structured_output(schema, agent="x")
    assert "$defs" in spec.model_schema
    assert spec.accept({"result": [3]}) == [3]


def test_an_invalid_schema_names_the_agent() -> None:
    with pytest.raises(errors.InvalidInput, match="agent 'x': output_schema is not a valid JSON"):
        structured_output({"type": "object", "required": "name"}, agent="x")
