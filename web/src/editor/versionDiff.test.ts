import { describe, expect, it } from "vitest";
import type { Graph, VersionDiff } from "../api/types";
import { diffCanvas, diffSummary, shownValue } from "./versionDiff";

const node = (id: string, data: Record<string, unknown> = {}, type = "transform") => ({
  id,
  type,
  position: { x: 0, y: 0 },
  data,
});

const older: Graph = {
  nodes: [node("input_1", {}, "input"), node("agent_1", { prompt: "old" }, "agent"), node("gone_1")],
  edges: [
    { id: "e1", source: "input_1", target: "agent_1" },
    { id: "e2", source: "agent_1", target: "gone_1" },
  ],
};
const newer: Graph = {
  nodes: [node("input_1", {}, "input"), node("agent_1", { prompt: "new" }, "agent"), node("output_1")],
  edges: [
    { id: "e1", source: "input_1", target: "agent_1" },
    { id: "e2", source: "agent_1", target: "output_1" },
  ],
};
const diff: VersionDiff = {
  from_version: 1,
  to_version: 2,
  nodes: {
    added: [newer.nodes[2]],
    removed: [older.nodes[2]],
    changed: [{ id: "agent_1", type: "agent", fields: [{ field: "prompt", old: "old", new: "new" }] }],
    moved: [],
  },
  edges: { added: [newer.edges[1]], removed: [older.edges[1]] },
};

describe("diffCanvas", () => {
  it("marks added nodes green, removed red and changed amber, leaving the rest plain", () => {
    const canvas = diffCanvas(older, newer, diff);

    expect(Object.fromEntries(canvas.marks)).toEqual({ output_1: "added", gone_1: "removed", agent_1: "changed" });
    expect(canvas.marks.has("input_1")).toBe(false);
  });

  it("draws the newer graph plus the removed nodes, none of them movable", () => {
    const canvas = diffCanvas(older, newer, diff);

    expect(canvas.nodes.map((n) => n.id)).toEqual(["input_1", "agent_1", "output_1", "gone_1"]);
    expect(canvas.nodes.every((n) => n.draggable === false && n.connectable === false)).toBe(true);
  });

  it("colours added and removed edges, with unique ids even when an id was reused", () => {
    const canvas = diffCanvas(older, newer, diff);
    const byId = new Map(canvas.edges.map((e) => [e.id, e]));

    expect([...byId.keys()]).toEqual(["e1", "e2", "removed:e2"]);
    expect(byId.get("e1")?.className).toBeUndefined();
    expect(byId.get("e2")?.className).toBe("diff-added");
    expect(byId.get("e2")?.style?.stroke).toBe("var(--ok)");
    expect(byId.get("removed:e2")?.className).toBe("diff-removed");
    expect(byId.get("removed:e2")?.style?.stroke).toBe("var(--danger)");
  });

  it("matches edges by what they connect, not by id", () => {
    const renamed: Graph = { ...newer, edges: [{ id: "other", source: "input_1", target: "agent_1" }] };
    const none: VersionDiff = { ...diff, edges: { added: [], removed: [] } };

    const canvas = diffCanvas(older, renamed, none);

    expect(canvas.edges).toHaveLength(1);
    expect(canvas.edges[0].className).toBeUndefined();
  });
});

describe("the change list", () => {
  it("counts each kind of change", () => {
    expect(diffSummary(diff)).toEqual([
      "1 node added",
      "1 node removed",
      "1 node changed",
      "1 connection added",
      "1 connection removed",
    ]);
  });

  it("says when nothing changed", () => {
    const same: VersionDiff = {
      ...diff,
      nodes: { added: [], removed: [], changed: [], moved: [] },
      edges: { added: [], removed: [] },
    };
    expect(diffSummary(same)).toEqual(["No changes"]);
  });

  it("shows strings as they are and other values as JSON", () => {
    expect(shownValue("Summarise {{ input }}")).toBe("Summarise {{ input }}");
    expect(shownValue({ temperature: 0.2 })).toBe('{"temperature":0.2}');
    expect(shownValue(null)).toBe("(not set)");
  });
});
