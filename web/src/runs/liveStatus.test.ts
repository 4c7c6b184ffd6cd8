import { describe, expect, it } from "vitest";
import type { NodeRun } from "../api/types";
import { nodeRunAnswer } from "../test/fixtures";
import { applyEvent, statusesFromRuns } from "./liveStatus";

const run = (nodeId: string, status: string, attempt = 1, iteration = 0): NodeRun =>
  nodeRunAnswer(nodeId, status, { attempt, iteration });

describe("live node statuses", () => {
  it("follows the event stream, node by node", () => {
    let statuses = statusesFromRuns(["input_1", "agent_1", "output_1"], []);
    expect([...statuses.values()]).toEqual(["pending", "pending", "pending"]);
    for (const [kind, node] of [
      ["node.started", "input_1"],
      ["node.finished", "input_1"],
      ["node.started", "agent_1"],
      ["agent.delta", "agent_1"],
      ["node.retrying", "agent_1"],
    ]) {
      statuses = applyEvent(statuses, { id: 1, kind, payload: { node_id: node } });
    }
    expect(Object.fromEntries(statuses)).toEqual({ input_1: "finished", agent_1: "retrying", output_1: "pending" });
    const same = applyEvent(statuses, { id: 2, kind: "node.retrying", payload: { node_id: "agent_1" } });
    expect(same).toBe(statuses); // no re-render for no change
  });

  it("takes each node's latest attempt from the stored runs", () => {
    const statuses = statusesFromRuns(
      ["a", "b", "c"],
      [run("a", "completed"), run("b", "failed", 1), run("b", "completed", 2), run("c", "waiting")],
      "waiting",
    );
    expect(Object.fromEntries(statuses)).toEqual({ a: "finished", b: "finished", c: "waiting" });
  });

  it("marks nodes that never ran as skipped once the execution is over", () => {
    const statuses = statusesFromRuns(["a", "b"], [run("a", "failed")], "failed");
    expect(Object.fromEntries(statuses)).toEqual({ a: "failed", b: "skipped" });
  });
});
