import { describe, expect, it } from "vitest";
import { parseSseChunk, toStreamEvent } from "./sse";

describe("SSE parsing", () => {
  it("splits events across chunk boundaries and keeps the tail", () => {
    const seen: { id: string | null; event: string; data: string }[] = [];
    let tail = parseSseChunk('id: 1\nevent: node.started\ndata: {"node_id": "a"}\n\nid: 2\nev', (e) => seen.push(e));
    expect(seen).toEqual([{ id: "1", event: "node.started", data: '{"node_id": "a"}' }]);
    tail = parseSseChunk(tail + 'ent: node.finished\ndata: {"node_id":\ndata: "a"}\n\n: keep-alive\n\n', (e) => seen.push(e));
    expect(tail).toBe("");
    expect(seen[1]).toEqual({ id: "2", event: "node.finished", data: '{"node_id":\n"a"}' });
    expect(seen).toHaveLength(2);
  });

  it("reads either framing: kind in the event name, or a whole stored event as data", () => {
    expect(toStreamEvent({ id: "7", event: "node.failed", data: '{"node_id": "x", "error": "boom"}' })).toEqual({
      id: 7,
      kind: "node.failed",
      payload: { node_id: "x", error: "boom" },
    });
    expect(
      toStreamEvent({ id: null, event: "message", data: '{"id": 9, "kind": "execution.status", "payload": {"status": "completed"}}' }),
    ).toEqual({ id: 9, kind: "execution.status", payload: { status: "completed" } });
  });
});
