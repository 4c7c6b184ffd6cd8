import { ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { CanvasOverlayContext, type LiveStatus } from "./canvasOverlay";
import { nodeTypes } from "./nodeTypes";

const nodes = [
  { id: "input_1", type: "input", position: { x: 0, y: 0 }, data: {} },
  { id: "agent_1", type: "agent", position: { x: 200, y: 0 }, data: { label: "Researcher", prompt: "" } },
  { id: "condition_1", type: "condition", position: { x: 400, y: 0 }, data: { cases: [{ handle: "high", when: "x" }], default: "low" } },
];

function renderCanvas(problems: Map<string, string[]>, statuses = new Map<string, LiveStatus>()) {
  return render(
    <div style={{ width: 800, height: 600 }}>
      <ReactFlowProvider>
        <CanvasOverlayContext.Provider value={{ problems, statuses }}>
          <ReactFlow nodes={nodes} edges={[]} nodeTypes={nodeTypes} />
        </CanvasOverlayContext.Provider>
      </ReactFlowProvider>
    </div>,
  );
}

describe("nodes on the canvas", () => {
  it("show the API's validation problems on the nodes they name", () => {
    renderCanvas(new Map([["agent_1", ["prompt: is required", "template t-9 does not exist"]]]));
    const agent = screen.getByTestId("node-agent_1");
    // Nodes stay unmeasured (hidden) in jsdom, so query without the accessibility filter.
    const alert = within(agent).getByRole("alert", { hidden: true });
    expect(alert).toHaveTextContent("prompt: is required");
    expect(alert).toHaveTextContent("template t-9 does not exist");
    expect(agent).toHaveClass("has-problems");
    expect(within(screen.getByTestId("node-input_1")).queryByRole("alert", { hidden: true })).toBeNull();
  });

  it("show live run status and a condition's handles", () => {
    renderCanvas(new Map(), new Map<string, LiveStatus>([["agent_1", "running"], ["input_1", "finished"]]));
    expect(screen.getByTestId("node-agent_1")).toHaveAttribute("data-status", "running");
    expect(screen.getByTestId("node-agent_1")).toHaveTextContent("running…");
    expect(screen.getByTestId("node-input_1")).toHaveClass("st-finished");
    const condition = screen.getByTestId("node-condition_1");
    expect(condition).toHaveTextContent("high");
    expect(condition).toHaveTextContent("low (default)");
    expect(screen.getByTestId("node-agent_1")).toHaveTextContent("Researcher");
  });
});
