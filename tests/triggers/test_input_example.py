"""Example inputs from a workflow's input schema (the body of a "try it" curl).

The cases live in input_example_cases.json, which the web UI's generator is tested
on too (web/src/triggers/inputExample.test.ts): both sides give the same example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relayflow.input_example import example_body, example_input
from relayflow.input_schema import schema_problems

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "input_example_cases.json").read_text()
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_example_of_a_schema(case: dict[str, Any]) -> None:
    assert example_input(case["schema"]) == case["example"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["schema"] and c.get("accepted", True)], ids=lambda c: c["name"]
)
def test_the_schema_accepts_its_example(case: dict[str, Any]) -> None:
    assert schema_problems(case["schema"], example_input(case["schema"])) == []


def test_the_body_is_compact_json_like_the_ui_writes_it() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string", "examples": ["café"]}}}
    assert example_body(schema) == '{"q":"café"}'
    assert example_body(None) == "{}"
