import { describe, expect, it } from "vitest";
import {
  connectionProblem,
  editorReducer,
  fromGraph,
  isDirty,
  toGraph,
  type EditorState,
} from "./editorState";

const start = (): EditorState =>
  fromGraph({
    nodes: [
      { id: "input_1", type: "input", position: { x: 0, y: 0 }, data: {} },
      { id: "output_1", type: "output", position: { x: 400, y: 0 }, data: { value: "{{ input }}" } },
    ],
    edges: [],
  });

const apply = (state: EditorState, ...actions: Parameters<typeof editorReducer>[1][]) =>
  actions.reduce(editorReducer, state);

describe("editor state", () => {
  it("adds a node of a kind with its defaults and a readable id", () => {
    const state = apply(start(), { type: "addNode", kind: "agent", position: { x: 200, y: 0 } });
    const added = state.nodes.find((n) => n.type === "agent");
    expect(added?.id).toBe("agent_1");
    expect(added?.data).toEqual({ prompt: "{{ input }}" });
    expect(isDirty(state)).toBe(true);
    const twice = apply(state, { type: "addNode", kind: "agent", position: { x: 0, y: 90 } });
    expect(twice.nodes.map((n) => n.id)).toContain("agent_2");
  });

  it("ignores unknown kinds", () => {
    const state = apply(start(), { type: "addNode", kind: "teleport", position: { x: 0, y: 0 } });
    expect(state.nodes).toHaveLength(2);
  });

  it("connects nodes and refuses self-loops, duplicates and edges into the input", () => {
    let state = apply(
      start(),
      { type: "addNode", kind: "agent", position: { x: 200, y: 0 } },
      { type: "connect", connection: { source: "input_1", target: "agent_1", sourceHandle: null, targetHandle: null } },
      { type: "connect", connection: { source: "agent_1", target: "output_1", sourceHandle: null, targetHandle: null } },
    );
    expect(toGraph(state.nodes, state.edges).edges).toEqual([
      { id: "e_input_1_agent_1", source: "input_1", target: "agent_1" },
      { id: "e_agent_1_output_1", source: "agent_1", target: "output_1" },
    ]);
    const before = state.edges.length;
    state = apply(
      state,
      { type: "connect", connection: { source: "agent_1", target: "agent_1", sourceHandle: null, targetHandle: null } },
      { type: "connect", connection: { source: "input_1", target: "agent_1", sourceHandle: null, targetHandle: null } },
      { type: "connect", connection: { source: "agent_1", target: "input_1", sourceHandle: null, targetHandle: null } },
    );
    expect(state.edges).toHaveLength(before);
    expect(
      connectionProblem(
        { source: "agent_1", target: "input_1", sourceHandle: null, targetHandle: null },
        state.nodes,
        state.edges,
      ),
    ).toMatch(/input node/);
  });

  it("connects a condition only through the handles its cases declare", () => {
    const state = apply(
      start(),
      { type: "addNode", kind: "condition", position: { x: 200, y: 0 } },
      { type: "connect", connection: { source: "condition_1", target: "output_1", sourceHandle: "yes", targetHandle: null } },
      { type: "connect", connection: { source: "condition_1", target: "output_1", sourceHandle: "maybe", targetHandle: null } },
    );
    expect(state.edges.map((e) => e.sourceHandle)).toEqual(["yes"]);
    // Renaming the case drops the edge that used the old handle.
    const renamed = apply(state, {
      type: "updateData",
      id: "condition_1",
      data: { cases: [{ handle: "high", when: "input.score > 5" }], default: "no" },
    });
    expect(renamed.edges).toHaveLength(0);
  });

  it("deletes a node together with its edges, in one undo step", () => {
    const built = apply(
      start(),
      { type: "addNode", kind: "agent", position: { x: 200, y: 0 } },
      { type: "connect", connection: { source: "input_1", target: "agent_1", sourceHandle: null, targetHandle: null } },
      { type: "connect", connection: { source: "agent_1", target: "output_1", sourceHandle: null, targetHandle: null } },
    );
    const removed = apply(built, { type: "remove", nodeIds: ["agent_1"], edgeIds: [] });
    expect(removed.nodes.map((n) => n.id)).toEqual(["input_1", "output_1"]);
    expect(removed.edges).toEqual([]);
    const undone = apply(removed, { type: "undo" });
    expect(undone.nodes.map((n) => n.id)).toContain("agent_1");
    expect(undone.edges).toHaveLength(2);
  });

  it("undoes and redoes every step back to a clean state", () => {
    const loaded = start();
    const edited = apply(
      loaded,
      { type: "addNode", kind: "transform", position: { x: 100, y: 100 } },
      { type: "connect", connection: { source: "input_1", target: "transform_1", sourceHandle: null, targetHandle: null } },
    );
    const once = apply(edited, { type: "undo" });
    expect(once.edges).toHaveLength(0);
    expect(once.nodes).toHaveLength(3);
    const twice = apply(once, { type: "undo" });
    expect(twice.nodes).toHaveLength(2);
    expect(isDirty(twice)).toBe(false);
    expect(apply(twice, { type: "undo" })).toBe(twice); // nothing left to undo
    const redone = apply(twice, { type: "redo" }, { type: "redo" });
    expect(redone.nodes).toHaveLength(3);
    expect(redone.edges).toHaveLength(1);
    // A new edit after undo drops the redo branch.
    const branched = apply(once, { type: "addNode", kind: "merge", position: { x: 0, y: 0 } });
    expect(apply(branched, { type: "redo" })).toBe(branched);
  });

  it("makes one undo step of typing in one field", () => {
    let state = apply(start(), { type: "addNode", kind: "agent", position: { x: 0, y: 0 } });
    for (const prompt of ["S", "Su", "Sum"]) {
      state = apply(state, { type: "updateData", id: "agent_1", data: { prompt }, coalesceKey: "prompt" });
    }
    expect(state.nodes.find((n) => n.id === "agent_1")?.data).toEqual({ prompt: "Sum" });
    const undone = apply(state, { type: "undo" });
    expect(undone.nodes.find((n) => n.id === "agent_1")?.data).toEqual({ prompt: "{{ input }}" });
  });

  it("is clean again once saved, and selection alone does not dirty it", () => {
    const state = apply(start(), { type: "select", id: "input_1" });
    expect(isDirty(state)).toBe(false);
    const edited = apply(state, { type: "updateData", id: "output_1", data: { value: "done" } });
    expect(isDirty(edited)).toBe(true);
    expect(isDirty(apply(edited, { type: "markSaved", graph: toGraph(edited.nodes, edited.edges) }))).toBe(false);
    expect(toGraph(edited.nodes, edited.edges).nodes[0]).not.toHaveProperty("selected");
  });

  it("keeps an edit made while the save was on its way unsaved", () => {
    const edited = apply(start(), { type: "updateData", id: "output_1", data: { value: "done" } });
    const sent = toGraph(edited.nodes, edited.edges);
    const editedAgain = apply(edited, { type: "updateData", id: "output_1", data: { value: "done!" } });
    expect(isDirty(apply(editedAgain, { type: "markSaved", graph: sent }))).toBe(true);
    const undone = apply(editedAgain, { type: "markSaved", graph: sent }, { type: "undo" });
    expect(isDirty(undone)).toBe(false);
  });
});
