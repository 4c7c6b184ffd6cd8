from __future__ import annotations

from relayflow.domain import ExecutionStatus
from tests.engine.fakes import GraphBuilder, Harness

SCHEMA = {
    "type": "object",
    "properties": {"topic": {"type": "string"}, "count": {"type": "integer"}},
    "required": ["topic"],
}


def graph() -> dict[str, object]:
    g = GraphBuilder().node("in", "input", schema=SCHEMA, retries=2).node("out", "output")
    return g.chain("in", "out").build()


async def test_input_matching_the_schema_is_the_node_output() -> None:
    h = Harness()
    outcome = await h.run(graph(), {"topic": "tides", "count": 2})
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == {"topic": "tides", "count": 2}


async def test_input_breaking_the_schema_fails_naming_the_field_without_retries() -> None:
    h = Harness()
    outcome = await h.run(graph(), {"count": "two"})
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.startswith("node 'in': the execution input does not match its schema")
    assert "input: 'topic' is a required property" in outcome.error
    assert "input.count: 'two' is not of type 'integer'" in outcome.error
    assert len(h.store.of("in")) == 1


async def test_input_without_schema_passes_anything() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output").chain("in", "out")
    outcome = await h.run(g.build(), [1, "two"])
    assert outcome.output == [1, "two"]
