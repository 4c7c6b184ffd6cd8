from __future__ import annotations

from relayflow.domain import ExecutionStatus
from tests.engine.fakes import GraphBuilder, Harness


def graph(value: object) -> dict[str, object]:
    g = GraphBuilder().node("in", "input").node("t", "transform", value=value)
    return g.node("out", "output").chain("in", "t", "out").build()


async def test_a_lone_expression_keeps_its_type() -> None:
    outcome = await Harness().run(graph("{{ input.items | length * 2 }}"), {"items": [1, 2, 3]})
    assert outcome.output == 6


async def test_objects_are_templated_value_by_value() -> None:
    value = {"title": "{{ input.t | upper }}", "tags": ["{{ input.n }}", "fixed"], "n": 3}
    outcome = await Harness().run(graph(value), {"t": "hi", "n": 4})
    assert outcome.output == {"title": "HI", "tags": [4, "fixed"], "n": 3}


async def test_mixed_text_renders_to_a_string_with_json_inside() -> None:
    outcome = await Harness().run(graph("got {{ input }}"), {"a": [1, True]})
    assert outcome.output == 'got {"a": [1, true]}'


async def test_an_undefined_name_fails_naming_node_and_field() -> None:
    outcome = await Harness().run(graph({"x": "{{ input.nope }}"}), {"a": 1})
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 't': data.value.x: input.nope is undefined"
