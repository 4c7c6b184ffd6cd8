from __future__ import annotations

import itertools

from relayflow.engine.graph import ancestors, strongly_connected


def test_strongly_connected_groups() -> None:
    successors = {"a": ["b"], "b": ["c", "a"], "c": ["d"], "d": ["d"], "e": []}
    groups = sorted(sorted(g) for g in strongly_connected(successors, successors))
    assert groups == [["a", "b"], ["c"], ["d"], ["e"]]


def test_deep_chains_do_not_hit_the_recursion_limit() -> None:
    ids = [f"n{i}" for i in range(5000)]
    successors = {a: [b] for a, b in itertools.pairwise(ids)}
    assert len(strongly_connected(ids, successors)) == 5000


def test_ancestors_include_a_node_only_on_a_cycle() -> None:
    predecessors = {"b": ["a"], "c": ["b"], "x": ["y"], "y": ["x"]}
    assert ancestors("c", predecessors) == {"a", "b"}
    assert ancestors("a", predecessors) == set()
    assert ancestors("x", predecessors) == {"x", "y"}
