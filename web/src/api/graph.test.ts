import { describe, expect, it } from "vitest";
import { graphOf } from "./graph";

describe("graphs read from the API", () => {
  it("keeps each node's and edge's own keys", () => {
    const graph = graphOf({
      nodes: [{ id: "agent_1", type: "agent", position: { x: 10, y: 20 }, data: { prompt: "hi" }, width: 170 }],
      edges: [{ id: "e1", source: "input_1", target: "agent_1", sourceHandle: "high", label: "when high" }],
    });
    expect(graph.nodes).toEqual([
      { id: "agent_1", type: "agent", position: { x: 10, y: 20 }, data: { prompt: "hi" }, width: 170 },
    ]);
    expect(graph.edges).toEqual([{ id: "e1", source: "input_1", target: "agent_1", sourceHandle: "high", label: "when high" }]);
  });

  it("gives a node without a position or data the canvas' defaults", () => {
    expect(graphOf({ nodes: [{ id: "input_1", type: "input" }], edges: [] }).nodes).toEqual([
      { id: "input_1", type: "input", position: { x: 0, y: 0 }, data: {} },
    ]);
  });

  it("leaves out what is not a node or an edge, and reads a missing graph as empty", () => {
    const graph = graphOf({ nodes: [{ id: 1, type: "agent" }, "agent_2", null], edges: [{ id: "e1", source: "a" }] });
    expect(graph).toEqual({ nodes: [], edges: [] });
    expect(graphOf(null)).toEqual({ nodes: [], edges: [] });
  });
});
