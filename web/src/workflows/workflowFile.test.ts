import { describe, expect, it } from "vitest";
import { parseWorkflowFile, toWorkflowFile } from "./workflowFile";

describe("workflow files", () => {
  it("round-trips an export", () => {
    const file = toWorkflowFile({
      name: "Triage",
      description: "sorts tickets",
      nodes: [{ id: "input_1", type: "input", position: { x: 0, y: 0 }, data: {} }],
      edges: [],
      metadata: { tag: "x" },
    });
    const parsed = parseWorkflowFile(JSON.stringify(file), "fallback");
    expect(parsed.name).toBe("Triage");
    expect(parsed.nodes).toHaveLength(1);
    expect(parsed.metadata).toEqual({ tag: "x" });
  });

  it("names the problem in a broken file", () => {
    expect(() => parseWorkflowFile("{oops", "x")).toThrow(/not valid JSON/);
    expect(() => parseWorkflowFile('{"nodes": []}', "x")).toThrow(/"edges"/);
    expect(() => parseWorkflowFile('{"nodes": [{"id": 1}], "edges": []}', "x")).toThrow(/nodes\[0\]/);
  });

  it("uses the file name when the file has none", () => {
    expect(parseWorkflowFile('{"nodes": [], "edges": []}', "from-file").name).toBe("from-file");
  });
});
