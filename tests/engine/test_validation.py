"""Every validation problem, each naming its node or edge and field, all reported at once."""

from __future__ import annotations

import json
from typing import Any

from relayflow.engine.validation import (
    GraphAnalyses,
    GraphProblem,
    analyse_graph,
    validate_graph,
)
from tests.engine.fakes import GraphBuilder


def base() -> GraphBuilder:
    return GraphBuilder().node("in", "input").node("out", "output")


def problems(graph: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return [p.as_dict() for p in validate_graph(graph, **kwargs)]


def only(graph: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    found = problems(graph, **kwargs)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_graph_has_no_problems_and_is_ready_to_run() -> None:
    g = base().agent("a", "{{ input }}").chain("in", "a", "out").build()
    analysis = analyse_graph(g)
    assert analysis.problems == []
    assert analysis.graph is not None
    assert analysis.graph.roots == ["in"]


def test_the_analysis_of_a_graph_seen_before_is_reused() -> None:
    analyses = GraphAnalyses(limit=2)
    g = base().agent("a", "{{ input }}").chain("in", "a", "out").build()
    first = analyses.of(g)
    assert analyses.of(json.loads(json.dumps(g))) is first  # equal, not the same
    other = base().agent("b", "{{ input }}").chain("in", "b", "out").build()
    assert analyses.of(other) is not first
    broken = {"nodes": {}, "edges": "x"}
    assert analyses.of(broken).graph is None  # the third graph: `g`, the oldest, is forgotten
    assert analyses.of(broken).problems == analyse_graph(broken).problems
    assert analyses.of(g) is not first
    assert GraphAnalyses().of(g) is not analyses.of(g)  # nothing shared between owners


def test_the_graph_must_be_an_object_with_node_and_edge_lists() -> None:
    assert problems({"nodes": {}, "edges": "x"}) == [
        {
            "node_id": None,
            "edge_id": None,
            "field": "nodes",
            "message": "nodes must be a list of nodes",
        },
        {
            "node_id": None,
            "edge_id": None,
            "field": "edges",
            "message": "edges must be a list of edges",
        },
        {
            "node_id": None,
            "edge_id": None,
            "field": "nodes",
            "message": "the graph has no input node",
        },
        {
            "node_id": None,
            "edge_id": None,
            "field": "nodes",
            "message": "the graph has no output node",
        },
    ]
    assert validate_graph([]) == [GraphProblem(None, None, None, "a graph must be an object")]  # type: ignore[arg-type]


def test_malformed_nodes_and_edges_name_index_and_field() -> None:
    g = base().chain("in", "out").build()
    g["nodes"].append({"id": "x", "data": {}})
    g["edges"].append({"id": "e9", "source": "in"})
    found = problems(g)
    assert {
        "node_id": "x",
        "edge_id": None,
        "field": "nodes[2].type",
        "message": "Field required",
    } in found
    assert {
        "node_id": None,
        "edge_id": "e9",
        "field": "edges[1].target",
        "message": "Field required",
    } in found


def test_unknown_node_type() -> None:
    g = base().node("x", "teleport").chain("in", "x", "out").build()
    problem = only(g)
    assert problem["node_id"] == "x"
    assert problem["field"] == "type"
    assert problem["message"].startswith("unknown node type 'teleport' (known: agent, approval,")


def test_duplicate_node_and_edge_ids() -> None:
    g = base().node("in", "transform", value=1).chain("in", "out").build()
    g["edges"].append(dict(g["edges"][0]))
    found = problems(g)
    assert {
        "node_id": "in",
        "edge_id": None,
        "field": "nodes[2].id",
        "message": "duplicate node id 'in' (first used by nodes[0])",
    } in found
    assert {
        "node_id": None,
        "edge_id": "in->out",
        "field": "edges[1].id",
        "message": "duplicate edge id 'in->out'",
    } in found


def test_edges_to_missing_nodes() -> None:
    g = base().chain("in", "out").edge("in", "ghost").edge("phantom", "out").build()
    found = problems(g)
    assert {
        "node_id": None,
        "edge_id": "in->ghost",
        "field": "target",
        "message": "target 'ghost' is not a node",
    } in found
    assert {
        "node_id": None,
        "edge_id": "phantom->out",
        "field": "source",
        "message": "source 'phantom' is not a node",
    } in found


def test_missing_input_and_output_nodes() -> None:
    g = GraphBuilder().node("t", "transform", value=1).build()
    messages = [p["message"] for p in problems(g)]
    assert messages == ["the graph has no input node", "the graph has no output node"]


def test_invalid_data_names_the_node_and_field() -> None:
    g = base().node("a", "agent", model="fake:x", retries=-1).node("h", "http", method="BREW")
    g.node("m", "map", items="input", template_id="t", workflow_id="w", concurrency=0)
    found = problems(g.chain("in", "a", "h", "m", "out").build())
    assert {
        "node_id": "a",
        "edge_id": None,
        "field": "data.prompt",
        "message": "Field required",
    } in found
    assert {
        "node_id": "a",
        "edge_id": None,
        "field": "data.retries",
        "message": "Input should be greater than or equal to 0",
    } in found
    assert {
        "node_id": "h",
        "edge_id": None,
        "field": "data.url",
        "message": "Field required",
    } in found
    assert any(
        p["node_id"] == "h" and p["field"] == "data.method" and "must be one of GET" in p["message"]
        for p in found
    )
    assert {
        "node_id": "m",
        "edge_id": None,
        "field": "data.concurrency",
        "message": "Input should be greater than or equal to 1",
    } in found


def test_model_level_rules_name_data() -> None:
    g = base().node("a", "agent", prompt="x").node("m", "map", items="input")
    found = problems(g.chain("in", "a", "m", "out").build())
    assert {
        "node_id": "a",
        "edge_id": None,
        "field": "data",
        "message": "an agent node needs a template_id or a model",
    } in found
    assert {
        "node_id": "m",
        "edge_id": None,
        "field": "data",
        "message": "a map node needs exactly one of template_id or workflow_id",
    } in found


def test_a_cycle_without_max_iterations_is_refused() -> None:
    g = base().agent("a").agent("b").chain("in", "a", "b", "out").edge("b", "a").build()
    problem = only(g)
    assert problem["node_id"] == "a"
    assert problem["message"] == (
        "nodes 'a', 'b' form a cycle; a cycle must pass through a node that declares max_iterations"
    )


def test_a_self_loop_is_a_cycle_too() -> None:
    g = base().agent("a").chain("in", "a", "out").edge("a", "a").build()
    assert "form a cycle" in only(g)["message"]


def test_a_cycle_through_a_max_iterations_node_is_a_loop() -> None:
    g = base().agent("a", max_iterations=3).agent("b")
    g.node("c", "condition", cases=[{"handle": "again", "when": "true"}], default="done")
    g.chain("in", "a", "b", "c").edge("c", "a", "again").edge("c", "out", "done")
    analysis = analyse_graph(g.build())
    assert analysis.problems == []
    assert analysis.graph is not None
    (loop,) = analysis.graph.loops
    assert loop.head == "a"
    assert loop.members == {"a", "b", "c"}


def test_a_loop_needs_exactly_one_max_iterations_node() -> None:
    g = base().agent("a", max_iterations=3).agent("b", max_iterations=2)
    g.chain("in", "a", "b", "out").edge("b", "a")
    problem = only(g.build())
    assert problem["node_id"] == "b"
    assert problem["field"] == "data.max_iterations"
    assert "'a', 'b' all declare max_iterations in the same loop" in problem["message"]


def test_an_inner_cycle_that_skips_the_head_is_refused() -> None:
    g = base().agent("h", max_iterations=3).agent("x").agent("y")
    g.chain("in", "h", "x", "y", "out").edge("y", "h").edge("y", "x")
    problem = only(g.build())
    assert problem["message"] == (
        "nodes 'x', 'y' form a cycle that does not pass through 'h', the loop's node with "
        "max_iterations"
    )


def test_condition_handles_must_match_edges() -> None:
    g = base().node(
        "c",
        "condition",
        cases=[{"handle": "yes", "when": "true"}, {"handle": "maybe", "when": "true"}],
        default="no",
    )
    g.edge("in", "c").edge("c", "out", "yes").edge("c", "out", "sideways").edge("c", "out")
    found = problems(g.build())
    assert {
        "node_id": "c",
        "edge_id": None,
        "field": "data.cases[1].handle",
        "message": "handle 'maybe' has no outgoing edge",
    } in found
    assert {
        "node_id": "c",
        "edge_id": None,
        "field": "data.default",
        "message": "handle 'no' has no outgoing edge",
    } in found
    assert {
        "node_id": None,
        "edge_id": "c->out#sideways",
        "field": "sourceHandle",
        "message": "condition 'c' has no handle 'sideways' (handles: yes, maybe, no)",
    } in found
    assert {
        "node_id": None,
        "edge_id": "c->out",
        "field": "sourceHandle",
        "message": "an edge from condition 'c' must name its sourceHandle (one of: yes, maybe, no)",
    } in found


def test_condition_handles_must_be_distinct() -> None:
    cases = [{"handle": "a", "when": "true"}, {"handle": "a", "when": "false"}]
    g = base().node("c", "condition", cases=cases).edge("in", "c").edge("c", "out", "a")
    assert only(g.build())["message"] == "handle 'a' is declared more than once"


def test_approval_edges_use_approved_or_rejected() -> None:
    g = base().node("ok", "approval").edge("in", "ok").edge("ok", "out", "maybe")
    problem = only(g.build())
    assert problem["message"] == "approval 'ok' has no handle 'maybe' (handles: approved, rejected)"


def test_template_references_must_be_upstream() -> None:
    g = base().agent("a", "{{ nodes.b.output }} {{ nodes['ghost'] }}").agent("b")
    g.chain("in", "a", "b", "out")
    found = problems(g.build())
    assert found == [
        {
            "node_id": "a",
            "edge_id": None,
            "field": "data.prompt",
            "message": "refers to nodes.b, which is not upstream of 'a'",
        },
        {
            "node_id": "a",
            "edge_id": None,
            "field": "data.prompt",
            "message": "refers to nodes.ghost, which is not a node",
        },
    ]


def test_loop_members_may_refer_to_each_other() -> None:
    g = base().agent("a", "{{ nodes.b.output }}", max_iterations=2).agent("b")
    g.node("c", "condition", cases=[{"handle": "again", "when": "true"}], default="done")
    g.chain("in", "a", "b", "c").edge("c", "a", "again").edge("c", "out", "done")
    assert problems(g.build()) == []


def test_template_syntax_errors_and_unknown_names() -> None:
    g = base().agent("a", "{{ input.x + }}").node("t", "transform", value={"k": "{{ secret }}"})
    g.node("c", "condition", cases=[{"handle": "y", "when": "input.x >"}], default="n")
    g.chain("in", "a", "t", "c").edge("c", "out", "y").edge("c", "out", "n")
    found = problems(g.build())
    assert {
        "node_id": "a",
        "edge_id": None,
        "field": "data.prompt",
        "message": "syntax error: unexpected 'end of print statement' (line 1)",
    } in found
    assert {
        "node_id": "t",
        "edge_id": None,
        "field": "data.value.k",
        "message": "unknown name 'secret' (available: execution, input, iteration, nodes, secrets)",
    } in found
    assert any(p["field"] == "data.cases[0].when" and "syntax error" in p["message"] for p in found)


def test_map_prompts_may_use_item_and_index() -> None:
    g = base().node("m", "map", items="input", template_id="t", prompt="{{ index }} {{ item }}")
    assert problems(g.chain("in", "m", "out").build()) == []


def test_invalid_json_schemas() -> None:
    g = base().agent("a", output_schema={"type": "thing"})
    g.nodes[0]["data"]["schema"] = {"properties": []}
    found = problems(g.chain("in", "a", "out").build())
    assert [(p["node_id"], p["field"]) for p in found] == [
        ("in", "data.schema"),
        ("a", "data.output_schema"),
    ]
    assert all(p["message"].startswith("invalid JSON Schema: ") for p in found)


def test_unknown_agent_template_ids_when_known_ids_are_given() -> None:
    g = base().node("a", "agent", template_id="writer", prompt="x", delegates=["critic", "ghost"])
    g.node("m", "map", items="input", template_id="nobody").chain("in", "a", "m", "out")
    graph = g.build()
    assert problems(graph) == []  # not checked without a list of known ids
    found = problems(graph, template_ids={"writer", "critic"})
    assert found == [
        {
            "node_id": "a",
            "edge_id": None,
            "field": "data.delegates[1]",
            "message": "unknown agent template 'ghost'",
        },
        {
            "node_id": "m",
            "edge_id": None,
            "field": "data.template_id",
            "message": "unknown agent template 'nobody'",
        },
    ]


def test_every_problem_is_reported_at_once() -> None:
    g = GraphBuilder().node("a", "agent", prompt="{{ nope }}").node("x", "warp")
    g.edge("a", "zz").edge("a", "a")
    found = problems(g.build())
    assert len(found) >= 5
    assert str(validate_graph(g.build())[0]).startswith("node 'a': data: ")


def test_node_ids_may_not_use_the_characters_reserved_for_nested_runs() -> None:
    g = base().node("a/b", "transform", value=1).chain("in", "a/b", "out").build()
    problem = only(g)
    assert problem["node_id"] == "a/b"
    assert problem["field"] == "nodes[2].id"
    assert problem["message"] == (
        "node id 'a/b' uses '/'; the characters '/[]@#' are reserved for naming the runs "
        "inside a node"
    )
