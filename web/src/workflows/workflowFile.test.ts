import { describe, expect, it } from "vitest";
import { importMessage, parseWorkflowFile, toWorkflowFile } from "./workflowFile";

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

  it("carries the exported version, which an import names in its first version's note", () => {
    const file = toWorkflowFile({ name: "Triage", nodes: [], edges: [], draft_version: 7 });
    const parsed = parseWorkflowFile(JSON.stringify(file), "fallback");

    expect(file.workflow_version).toBe(7);
    expect(parsed.workflow_version).toBe(7);
    expect(importMessage(parsed)).toBe('Imported from version 7 of "Triage"');
    expect(importMessage(parseWorkflowFile('{"nodes": [], "edges": []}', "x"))).toBe("Imported from a file");
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
