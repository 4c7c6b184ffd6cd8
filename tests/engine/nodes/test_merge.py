"""Merge semantics in a graph; the executor tests cover timing (all waits, any does not)."""

from __future__ import annotations

from tests.engine.fakes import GraphBuilder, Harness


def fork(mode: str) -> GraphBuilder:
    g = GraphBuilder().node("in", "input")
    g.node("a", "transform", value="A").node("b", "transform", value="B")
    g.node("m", "merge", mode=mode).node("out", "output")
    return g.edge("in", "a").edge("in", "b").edge("a", "m").edge("b", "m").edge("m", "out")


async def test_merge_all_output_is_keyed_by_source_in_edge_order() -> None:
    outcome = await Harness().run(fork("all").build(), None)
    assert outcome.output == {"a": "A", "b": "B"}
    assert list(outcome.output) == ["a", "b"]


async def test_merge_any_output_is_the_first_input() -> None:
    outcome = await Harness().run(fork("any").build(), None)
    assert outcome.output in ("A", "B")


async def test_merge_records_its_sources_as_input() -> None:
    h = Harness()
    await h.run(fork("all").build(), None)
    assert h.store.of("m")[0].input == ["a", "b"]
