from __future__ import annotations

from tests.engine.fakes import GraphBuilder, Harness


async def test_output_value_is_the_execution_output() -> None:
    g = GraphBuilder().node("in", "input").node("out", "output", value={"echo": "{{ input }}"})
    outcome = await Harness().run(g.chain("in", "out").build(), "hi")
    assert outcome.output == {"echo": "hi"}


async def test_output_without_value_passes_its_input_on() -> None:
    g = GraphBuilder().node("in", "input").node("out", "output")
    outcome = await Harness().run(g.chain("in", "out").build(), {"k": 1})
    assert outcome.output == {"k": 1}


async def test_output_with_several_inputs_collects_them_by_node() -> None:
    g = GraphBuilder().node("in", "input").node("a", "transform", value=1)
    g.node("b", "transform", value=2).node("out", "output")
    g.edge("in", "a").edge("in", "b").edge("a", "out").edge("b", "out")
    outcome = await Harness().run(g.build(), None)
    assert outcome.output == {"a": 1, "b": 2}


async def test_several_output_nodes_that_ran_are_keyed_by_id() -> None:
    g = GraphBuilder().node("in", "input").node("o1", "output", value="one")
    g.node("o2", "output", value="two").edge("in", "o1").edge("in", "o2")
    outcome = await Harness().run(g.build(), None)
    assert outcome.output == {"o1": "one", "o2": "two"}
