import { describe, expect, it } from "vitest";
import { editorReducer, fromGraph, isDirty } from "./editorState";
import { layoutGraph, placedGraph, UNMEASURED, type LayoutNode } from "./layout";

const at = (id: string, x = 0, y = 0, size?: { width: number; height: number }): LayoutNode => ({
  id,
  position: { x, y },
  ...(size ? { measured: size } : {}),
});
const edge = (source: string, target: string) => ({ source, target });

type Placed = { id: string; position: { x: number; y: number }; measured?: { width?: number; height?: number } };
function box(n: Placed) {
  const width = n.measured?.width ?? UNMEASURED.width;
  const height = n.measured?.height ?? UNMEASURED.height;
  return { left: n.position.x, top: n.position.y, right: n.position.x + width, bottom: n.position.y + height };
}
function overlaps(nodes: Placed[]): string[] {
  const found: string[] = [];
  nodes.forEach((a, i) =>
    nodes.slice(i + 1).forEach((b) => {
      const p = box(a);
      const q = box(b);
      if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) found.push(`${a.id}/${b.id}`);
    }),
  );
  return found;
}

// A branching workflow stacked on one spot, the way a graph without positions arrives.
const NODES = ["input", "classify", "route", "billing", "tech", "merge", "output"].map((id) => at(id));
const EDGES = [
  edge("input", "classify"),
  edge("classify", "route"),
  edge("route", "billing"),
  edge("route", "tech"),
  edge("billing", "merge"),
  edge("tech", "merge"),
  edge("merge", "output"),
];

describe("layout", () => {
  it("places every edge's target to the right of its source", () => {
    const placed = layoutGraph(NODES, EDGES);
    const x = new Map(placed.map((n) => [n.id, n.position.x]));
    for (const e of EDGES) expect(x.get(e.target)!, `${e.source} → ${e.target}`).toBeGreaterThan(x.get(e.source)! + UNMEASURED.width);
    // Branches share a layer, one above the other.
    expect(x.get("billing")).toBe(x.get("tech"));
    expect(placed.find((n) => n.id === "billing")!.position.y).not.toBe(placed.find((n) => n.id === "tech")!.position.y);
  });

  it("leaves no two boxes overlapping, using the sizes the canvas measured", () => {
    const measured = NODES.map((n, i) => ({ ...n, measured: { width: 170 + i * 10, height: 60 + (i % 3) * 40 } }));
    const placed = layoutGraph(measured, EDGES);
    expect(overlaps(placed)).toEqual([]);
    // Unconnected nodes get a place too, clear of the others.
    const withLoose = layoutGraph([...NODES, at("note"), at("other")], EDGES);
    expect(overlaps(withLoose)).toEqual([]);
    expect(Math.min(...withLoose.map((n) => n.position.x))).toBe(0);
    expect(Math.min(...withLoose.map((n) => n.position.y))).toBe(0);
  });

  it("stacks a condition's branches in the order of its handles, so their edges do not cross", () => {
    const route = { ...at("route"), type: "condition", data: { cases: [{ handle: "billing", when: "a" }, { handle: "technical", when: "b" }], default: "general" } };
    const sizes = { billing: 60, technical: 100, general: 60 };
    const branches = Object.entries(sizes).map(([id, height]) => at(id, 0, 0, { width: 170 + height, height }));
    const edges = ["general", "technical", "billing"].map((h) => ({ source: "route", target: h, sourceHandle: h }));
    const placed = layoutGraph([route, ...branches], edges);
    const y = (id: string) => placed.find((n) => n.id === id)!.position.y;
    expect(y("billing")).toBeLessThan(y("technical"));
    expect(y("technical")).toBeLessThan(y("general"));
    expect(overlaps(placed)).toEqual([]);
  });

  it("keeps each node's other fields and survives cycles and dangling edges", () => {
    const nodes = [{ ...at("a"), data: { label: "A" } }, at("b")];
    const placed = layoutGraph(nodes, [edge("a", "b"), edge("b", "a"), edge("a", "gone"), edge("a", "a")]);
    expect(placed[0]).toMatchObject({ id: "a", data: { label: "A" } });
    expect(overlaps(placed)).toEqual([]);
    expect(layoutGraph([], [])).toEqual([]);
  });

  it("lays out a stored graph whose nodes have no positions, and leaves positioned ones alone", () => {
    const unplaced = {
      nodes: [
        { id: "in", type: "input", data: {} },
        { id: "out", type: "output", data: {} },
      ],
      edges: [{ id: "e", source: "in", target: "out" }],
    };
    const graph = placedGraph(unplaced);
    expect(graph.nodes[1].position.x).toBeGreaterThan(graph.nodes[0].position.x);
    const positioned = { ...unplaced, nodes: unplaced.nodes.map((n, i) => ({ ...n, position: { x: 5, y: i * 500 } })) };
    expect(placedGraph(positioned).nodes.map((n) => n.position)).toEqual([
      { x: 5, y: 0 },
      { x: 5, y: 500 },
    ]);
  });

  it("tidying up is one edit: the workflow becomes dirty and undo puts the nodes back", () => {
    const state = fromGraph({
      nodes: NODES.map((n) => ({ ...n, type: "transform", data: {} })),
      edges: EDGES.map((e, i) => ({ id: `e${i}`, ...e })),
    });
    const tidy = editorReducer(state, { type: "layout" });
    expect(isDirty(tidy)).toBe(true);
    expect(overlaps(tidy.nodes)).toEqual([]);
    const undone = editorReducer(tidy, { type: "undo" });
    expect(undone.nodes.map((n) => n.position)).toEqual(state.nodes.map((n) => n.position));
    expect(isDirty(undone)).toBe(false);
    // Already tidy: nothing changes and no undo step is added.
    expect(editorReducer(tidy, { type: "layout" })).toBe(tidy);
  });
});
