"""A validated graph in the shape the executor walks: nodes with their edges and loops.

Built by `engine.validation.analyse_graph` once every problem is ruled out. A loop
is a strongly connected group of nodes with exactly one head (the node declaring
`max_iterations`); edges from a member back to the head are its back edges, edges
between members are internal, edges from a member to a node outside are exits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from relayflow.engine.nodes import NodeKind
from relayflow.engine.spec import NodeData


@dataclass(eq=False, slots=True)
class Loop:
    head: str
    members: frozenset[str]
    max_iterations: int
    internal_edges: list[Edge] = field(default_factory=list)  # back edges included
    back_edges: list[Edge] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Edge:
    id: str
    source: str
    target: str
    handle: str | None  # the source handle, after the kind's default
    is_back: bool = False
    exits: Loop | None = None  # the loop this edge leaves, if any


@dataclass(eq=False, slots=True)
class Node:
    id: str
    kind: NodeKind
    data: NodeData
    incoming: list[Edge] = field(default_factory=list)
    outgoing: list[Edge] = field(default_factory=list)
    forward_incoming: list[Edge] = field(default_factory=list)  # incoming minus back edges
    loop: Loop | None = None
    is_loop_head: bool = False


@dataclass(eq=False)
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]
    loops: list[Loop]

    @property
    def roots(self) -> list[str]:
        return [node.id for node in self.nodes.values() if not node.forward_incoming]

    @classmethod
    def build(
        cls, nodes: Iterable[Node], edges: Iterable[Edge], loop_groups: Iterable[frozenset[str]]
    ) -> Graph:
        by_id = {node.id: node for node in nodes}
        edge_list = list(edges)
        loops = []
        for members in loop_groups:
            head = next(m for m in members if by_id[m].data.max_iterations)
            max_iterations = by_id[head].data.max_iterations
            assert max_iterations is not None
            loop = Loop(head=head, members=members, max_iterations=max_iterations)
            loops.append(loop)
            by_id[head].is_loop_head = True
            for member in members:
                by_id[member].loop = loop
        for edge in edge_list:
            source, target = by_id[edge.source], by_id[edge.target]
            source_loop = source.loop
            if source_loop is not None and edge.target in source_loop.members:
                source_loop.internal_edges.append(edge)
                if edge.target == source_loop.head:
                    edge.is_back = True
                    source_loop.back_edges.append(edge)
            elif source_loop is not None:
                edge.exits = source_loop
            source.outgoing.append(edge)
            target.incoming.append(edge)
            if not edge.is_back:
                target.forward_incoming.append(edge)
        return cls(nodes=by_id, edges=edge_list, loops=loops)


def strongly_connected(
    node_ids: Iterable[str], successors: Mapping[str, Iterable[str]]
) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (graphs may be deep chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in node_ids:
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, list(successors.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, list(successors.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def ancestors(node_id: str, predecessors: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node with a path to `node_id` (itself only when it sits on a cycle)."""
    seen: set[str] = set()
    todo = list(predecessors.get(node_id, ()))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(predecessors.get(current, ()))
    return seen
