"""The input node's JSON Schema and the problems it reports."""

from __future__ import annotations

import pytest

from relayflow.errors import InvalidInput
from relayflow.input_schema import (
    MAX_REPORTED_PROBLEMS,
    check_input,
    input_schema_of,
    schema_problems,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "items": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["email"],
}


def test_schema_comes_from_the_input_node() -> None:
    nodes = [
        {"id": "a", "type": "output", "data": {}},
        {"id": "b", "type": "input", "data": {"schema": SCHEMA}},
    ]
    assert input_schema_of(nodes) == SCHEMA
    assert input_schema_of([{"id": "b", "type": "input", "data": {}}]) is None
    assert input_schema_of(None) is None


def test_problems_name_the_field_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_input(SCHEMA, {"email": 3, "items": [1, "two"]})
    fields = [d["field"] for d in caught.value.details]
    assert fields == ["input.email", "input.items[1]"]


def test_missing_required_field_is_reported() -> None:
    with pytest.raises(InvalidInput, match="'email' is a required property"):
        check_input(SCHEMA, {})


def test_valid_input_passes() -> None:
    check_input(SCHEMA, {"email": "a@example.com", "items": [1, 2]})


def test_an_invalid_schema_is_reported_as_the_workflows_fault() -> None:
    with pytest.raises(InvalidInput, match="input schema is invalid"):
        check_input({"type": "no-such-type"}, {})


def test_the_engine_checks_with_the_same_checker_and_limits() -> None:
    many = {"type": "object", "properties": {f"f{i:02}": {"type": "integer"} for i in range(30)}}
    value = {f"f{i:02}": "x" for i in range(30)}
    problems = schema_problems(many, value, name="output")
    assert len(problems) == MAX_REPORTED_PROBLEMS
    assert problems[0] == {"field": "output.f00", "message": "'x' is not of type 'integer'"}
    with pytest.raises(InvalidInput) as caught:
        check_input(many, value)
    assert caught.value.details == schema_problems(many, value, name="input")
