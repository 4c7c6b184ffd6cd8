"""Graph validation: every problem at once, each naming its node or edge and field.

Checks: the shape of nodes and edges, duplicate ids (and ids using the characters
reserved by `engine.naming`), unknown node types, each
kind's `data` (with the field that is wrong), edges to missing nodes, outgoing
handles (a condition's unused handles and edges from undeclared ones), cycles
(allowed only through one node declaring `max_iterations`), a missing `input` or
`output` node, template syntax and unknown names, template references to nodes
that are not upstream, JSON Schemas (checked against their meta-schema) and, when
a set of known ids is given, agent template ids.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, SchemaError, validators
from pydantic import BaseModel, ValidationError

from relayflow.engine import templating
from relayflow.engine.graph import Edge, Graph, Node, ancestors, strongly_connected
from relayflow.engine.naming import RESERVED, reserved_characters_in
from relayflow.engine.nodes import NODE_KINDS, NodeKind
from relayflow.engine.spec import EdgeSpec, NodeData, NodeSpec

REQUIRED_KINDS = ("input", "output")


@dataclass(frozen=True)
class GraphProblem:
    node_id: str | None
    edge_id: str | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "edge_id": self.edge_id,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"node {self.node_id!r}" if self.node_id else ""
        if self.edge_id:
            where = f"edge {self.edge_id!r}"
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return f"{where}: {self.message}" if where else self.message


@dataclass
class GraphAnalysis:
    problems: list[GraphProblem] = field(default_factory=list)
    graph: Graph | None = None  # set when there are no problems


def validate_graph(
    graph: Mapping[str, Any], *, template_ids: Collection[str] | None = None
) -> list[GraphProblem]:
    return analyse_graph(graph, template_ids=template_ids).problems


def _loc(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _pydantic_problems(
    exc: ValidationError, *, prefix: str, node_id: str | None = None, edge_id: str | None = None
) -> list[GraphProblem]:
    problems = []
    for error in exc.errors():
        where = _loc(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(
            GraphProblem(node_id, edge_id, f"{prefix}.{where}" if where else prefix, message)
        )
    return problems


def _parse(model: type[BaseModel], raw: Any) -> tuple[Any, ValidationError | None]:
    try:
        return model.model_validate(raw), None
    except ValidationError as exc:
        return None, exc


class _Analyser:
    def __init__(self, raw: Mapping[str, Any], template_ids: Collection[str] | None) -> None:
        self.raw = raw
        self.template_ids = template_ids
        self.problems: list[GraphProblem] = []
        self.nodes: dict[str, NodeSpec] = {}
        self.data: dict[str, NodeData] = {}
        self.edges: list[EdgeSpec] = []
        self.successors: dict[str, list[str]] = {}
        self.predecessors: dict[str, list[str]] = {}
        # Ids of nodes whose shape is invalid: edges to them are not reported again.
        self.broken_ids: set[str] = set()

    def problem(
        self,
        message: str,
        *,
        node: str | None = None,
        edge: str | None = None,
        field_name: str | None = None,
    ) -> None:
        self.problems.append(GraphProblem(node, edge, field_name, message))

    def run(self) -> GraphAnalysis:
        raw_nodes, raw_edges = self.raw.get("nodes"), self.raw.get("edges", [])
        if not isinstance(raw_nodes, list):
            self.problem("nodes must be a list of nodes", field_name="nodes")
            raw_nodes = []
        if not isinstance(raw_edges, list):
            self.problem("edges must be a list of edges", field_name="edges")
            raw_edges = []
        self.check_nodes(raw_nodes)
        self.check_edges(raw_edges)
        self.check_required_kinds()
        self.check_handles()
        loop_groups = self.check_cycles()
        self.check_templates()
        self.check_schemas_and_templates_ids()
        if self.problems:
            return GraphAnalysis(self.problems)
        return GraphAnalysis(graph=self.build(loop_groups))

    # ------------------------------------------------------------ nodes and edges
    def check_nodes(self, raw_nodes: list[Any]) -> None:
        first_index: dict[str, int] = {}
        for index, raw in enumerate(raw_nodes):
            node_id = raw.get("id") if isinstance(raw, dict) else None
            node_id = node_id if isinstance(node_id, str) else None
            spec, error = _parse(NodeSpec, raw)
            if error is not None:
                prefix = f"nodes[{index}]"
                self.problems += _pydantic_problems(error, prefix=prefix, node_id=node_id)
                if node_id is not None:
                    self.broken_ids.add(node_id)
                continue
            if spec.id in first_index:
                self.problem(
                    f"duplicate node id {spec.id!r} (first used by nodes[{first_index[spec.id]}])",
                    node=spec.id,
                    field_name=f"nodes[{index}].id",
                )
                continue
            first_index[spec.id] = index
            reserved = reserved_characters_in(spec.id)
            if reserved:
                self.problem(
                    f"node id {spec.id!r} uses {reserved!r}; the characters {RESERVED!r} are "
                    "reserved for naming the runs inside a node",
                    node=spec.id,
                    field_name=f"nodes[{index}].id",
                )
            self.nodes[spec.id] = spec
            self.successors[spec.id] = []
            self.predecessors[spec.id] = []
            kind = NODE_KINDS.get(spec.type)
            if kind is None:
                known = ", ".join(sorted(NODE_KINDS))
                self.problem(
                    f"unknown node type {spec.type!r} (known: {known})",
                    node=spec.id,
                    field_name="type",
                )
                continue
            data, error = _parse(kind.data_model, spec.data)
            if error is not None:
                self.problems += _pydantic_problems(error, prefix="data", node_id=spec.id)
                continue
            self.data[spec.id] = data

    def check_edges(self, raw_edges: list[Any]) -> None:
        seen: set[str] = set()
        for index, raw in enumerate(raw_edges):
            edge_id = raw.get("id") if isinstance(raw, dict) else None
            edge_id = edge_id if isinstance(edge_id, str) else None
            spec, error = _parse(EdgeSpec, raw)
            if error is not None:
                prefix = f"edges[{index}]"
                self.problems += _pydantic_problems(error, prefix=prefix, edge_id=edge_id)
                continue
            if spec.id in seen:
                self.problem(
                    f"duplicate edge id {spec.id!r}", edge=spec.id, field_name=f"edges[{index}].id"
                )
                continue
            seen.add(spec.id)
            missing = False
            for end in ("source", "target"):
                node_id = getattr(spec, end)
                if node_id not in self.nodes:
                    if node_id not in self.broken_ids:
                        self.problem(
                            f"{end} {node_id!r} is not a node", edge=spec.id, field_name=end
                        )
                    missing = True
            if missing:
                continue
            self.edges.append(spec)
            self.successors[spec.source].append(spec.target)
            self.predecessors[spec.target].append(spec.source)

    def check_required_kinds(self) -> None:
        kinds = {spec.type for spec in self.nodes.values()}
        for kind in REQUIRED_KINDS:
            if kind not in kinds:
                self.problem(f"the graph has no {kind} node", field_name="nodes")

    def check_handles(self) -> None:
        used: dict[str, set[str | None]] = {node_id: set() for node_id in self.nodes}
        for edge in self.edges:
            source = self.nodes[edge.source]
            kind, data = NODE_KINDS.get(source.type), self.data.get(edge.source)
            if kind is None or data is None:
                continue
            declared = data.source_handles()
            handle = edge.source_handle or kind.default_handle
            used[edge.source].add(handle)
            if declared is None:
                continue
            choices = ", ".join(declared)
            if handle is None and kind.requires_handle:
                self.problem(
                    f"an edge from {source.type} {edge.source!r} must name its sourceHandle "
                    f"(one of: {choices})",
                    edge=edge.id,
                    field_name="sourceHandle",
                )
            elif handle not in declared:
                self.problem(
                    f"{source.type} {edge.source!r} has no handle {handle!r} (handles: {choices})",
                    edge=edge.id,
                    field_name="sourceHandle",
                )
        for node_id, spec in self.nodes.items():
            data = self.data.get(node_id)
            kind = NODE_KINDS.get(spec.type)
            if data is None or kind is None or not kind.requires_handle:
                continue
            for handle in data.source_handles() or ():
                if handle not in used[node_id]:
                    self.problem(
                        f"handle {handle!r} has no outgoing edge",
                        node=node_id,
                        field_name=_handle_field(data, handle),
                    )

    def check_cycles(self) -> list[frozenset[str]]:
        loops = []
        for group in strongly_connected(self.nodes, self.successors):
            if len(group) == 1 and group[0] not in self.successors[group[0]]:
                continue
            members = sorted(group, key=list(self.nodes).index)
            heads = [m for m in members if (d := self.data.get(m)) and d.max_iterations]
            names = ", ".join(repr(m) for m in members)
            if not heads:
                self.problem(
                    f"nodes {names} form a cycle; a cycle must pass through a node that "
                    "declares max_iterations",
                    node=members[0],
                )
            elif len(heads) > 1:
                self.problem(
                    f"nodes {', '.join(map(repr, heads))} all declare max_iterations in the same "
                    f"loop ({names}); a loop has exactly one",
                    node=heads[1],
                    field_name="data.max_iterations",
                )
            else:
                loops.append(frozenset(members))
        for loop in loops:
            # With its head taken out, a loop must be acyclic (every cycle passes the head).
            head = next(m for m in loop if (d := self.data.get(m)) and d.max_iterations)
            body = [m for m in self.nodes if m in loop and m != head]
            inner = {m: [s for s in self.successors[m] if s in loop and s != head] for m in body}
            for group in strongly_connected(body, inner):
                if len(group) > 1 or group[0] in inner[group[0]]:
                    self.problem(
                        f"nodes {', '.join(map(repr, sorted(group)))} form a cycle that does not "
                        f"pass through {head!r}, the loop's node with max_iterations",
                        node=sorted(group)[0],
                    )
        return loops

    # ------------------------------------------------------------ data contents
    def check_templates(self) -> None:
        upstream_cache: dict[str, set[str]] = {}
        for node_id, data in self.data.items():
            for template in data.templates():
                check = templating.check_template(
                    template.source, mode=template.mode, extra_names=template.extra_names
                )
                for message in check.problems:
                    self.problem(message, node=node_id, field_name=template.field)
                for ref in sorted(check.node_refs):
                    if ref not in self.nodes:
                        self.problem(
                            f"refers to nodes.{ref}, which is not a node",
                            node=node_id,
                            field_name=template.field,
                        )
                        continue
                    if node_id not in upstream_cache:
                        upstream_cache[node_id] = ancestors(node_id, self.predecessors)
                    if ref not in upstream_cache[node_id]:
                        self.problem(
                            f"refers to nodes.{ref}, which is not upstream of {node_id!r}",
                            node=node_id,
                            field_name=template.field,
                        )

    def check_schemas_and_templates_ids(self) -> None:
        for node_id, data in self.data.items():
            for field_name, schema in data.json_schemas():
                validator = validators.validator_for(schema, default=Draft202012Validator)
                try:
                    validator.check_schema(schema)
                except SchemaError as exc:
                    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
                    self.problem(
                        f"invalid JSON Schema: {exc.message}"
                        + (f" (at {path.lstrip('.')})" if path else ""),
                        node=node_id,
                        field_name=field_name,
                    )
            if self.template_ids is None:
                continue
            for field_name, template_id in data.template_ids():
                if template_id not in self.template_ids:
                    self.problem(
                        f"unknown agent template {template_id!r}",
                        node=node_id,
                        field_name=field_name,
                    )

    # ------------------------------------------------------------ the result
    def build(self, loop_groups: list[frozenset[str]]) -> Graph:
        nodes = [
            Node(id=node_id, kind=NODE_KINDS[spec.type], data=self.data[node_id])
            for node_id, spec in self.nodes.items()
        ]
        edges = [
            Edge(
                id=spec.id,
                source=spec.source,
                target=spec.target,
                handle=spec.source_handle or _kind_of(self.nodes[spec.source]).default_handle,
            )
            for spec in self.edges
        ]
        return Graph.build(nodes, edges, loop_groups)


def _kind_of(spec: NodeSpec) -> NodeKind:
    return NODE_KINDS[spec.type]


def _handle_field(data: NodeData, handle: str) -> str:
    for index, case in enumerate(getattr(data, "cases", ())):
        if case.handle == handle:
            return f"data.cases[{index}].handle"
    return "data.default"


def analyse_graph(
    graph: Mapping[str, Any], *, template_ids: Collection[str] | None = None
) -> GraphAnalysis:
    """All problems of a raw `{nodes, edges}` graph, or the graph ready to execute."""
    if not isinstance(graph, Mapping):
        return GraphAnalysis([GraphProblem(None, None, None, "a graph must be an object")])
    return _Analyser(graph, template_ids).run()


REMEMBERED_GRAPHS = 128


class GraphAnalyses:
    """`analyse_graph`, remembered by the graph's JSON text (for the executor).

    Every execution of a workflow pins the same graph, and analysing it costs more
    than running a small one. Runs share the result: nothing changes a built
    `Graph` (the executor keeps its state apart). Whoever runs executions owns one
    (a worker keeps one for all its runs) and passes it to each `Executor`.
    """

    def __init__(self, limit: int = REMEMBERED_GRAPHS) -> None:
        self._limit = max(1, limit)
        self._remembered: dict[str, GraphAnalysis] = {}

    def of(self, graph: Mapping[str, Any]) -> GraphAnalysis:
        try:
            key = json.dumps(graph)
        except (TypeError, ValueError):
            return analyse_graph(graph)
        analysis = self._remembered.get(key)
        if analysis is None:
            analysis = analyse_graph(graph)
            if len(self._remembered) >= self._limit:
                del self._remembered[next(iter(self._remembered))]  # the oldest
            self._remembered[key] = analysis
        return analysis


__all__ = [
    "GraphAnalyses",
    "GraphAnalysis",
    "GraphProblem",
    "analyse_graph",
    "validate_graph",
]
