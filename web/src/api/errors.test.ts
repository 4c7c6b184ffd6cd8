import { describe, expect, it } from "vitest";
import { ApiError, graphProblems } from "./errors";

describe("API errors", () => {
  it("reads the API's error body", () => {
    const error = ApiError.fromBody(422, {
      error: { code: "invalid_input", message: "name: too long", details: [{ field: "name", message: "too long" }] },
    });
    expect(error.status).toBe(422);
    expect(error.code).toBe("invalid_input");
    expect(error.message).toBe("name: too long");
    expect(error.problems).toEqual([{ field: "name", message: "too long", node_id: null, edge_id: null }]);
  });

  it("falls back to a readable message for bodies it does not know", () => {
    expect(ApiError.fromBody(502, "<html>bad gateway</html>").message).toMatch(/server failed \(502\)/);
    expect(ApiError.network(new TypeError("Failed to fetch")).message).toMatch(/Cannot reach/);
  });

  it("puts graph problems on the nodes and edges they name, by id or by position", () => {
    const error = ApiError.fromBody(422, {
      error: {
        code: "graph_invalid",
        message: "The workflow graph is invalid.",
        details: [
          { node_id: "agent_1", field: "prompt", message: "is required" },
          { field: "nodes[2].data.url", message: "not a URL" },
          { edge_id: "e2", message: "points to a missing node" },
          { field: "edges[0].target", message: "unknown node" },
          { node_id: null, message: "the graph has no output node" },
        ],
      },
    });
    const problems = graphProblems(error, ["input_1", "agent_1", "http_1"], ["e1", "e2"]);
    expect(problems.byNode.get("agent_1")).toEqual(["prompt: is required"]);
    expect(problems.byNode.get("http_1")).toEqual(["data.url: not a URL"]);
    expect(problems.byEdge.get("e2")).toEqual(["points to a missing node"]);
    expect(problems.byEdge.get("e1")).toEqual(["target: unknown node"]);
    expect(problems.general).toEqual(["the graph has no output node"]);
  });
});
