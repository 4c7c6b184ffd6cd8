import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ToolCalls, type ToolCall } from "./ToolCalls";

const lookup: ToolCall = {
  agent: "researcher",
  tool: "lookup",
  kind: "subworkflow",
  args: { input: { q: "otters" } },
  status: "completed",
  result: { found: "river otters" },
  error: null,
  duration_ms: 12.5,
};

describe("ToolCalls", () => {
  it("lists each call in order with its arguments and result", () => {
    const failed: ToolCall = { ...lookup, tool: "fetch", kind: "http", status: "failed", result: null, error: "HTTP 500" };
    render(<ToolCalls nodeId="n1" calls={[lookup, failed]} />);
    const items = within(screen.getByRole("list", { name: "Tool calls of n1" })).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("lookup");
    expect(items[0]).toHaveTextContent("sub-workflow · by researcher · 13 ms");
    expect(items[0]).toHaveTextContent("otters");
    expect(items[0]).toHaveTextContent("river otters");
    expect(items[1]).toHaveTextContent("HTTP tool");
    expect(within(items[1]).getByRole("alert")).toHaveTextContent("HTTP 500");
  });

  it("shows nothing for a node that called no tools", () => {
    const { container } = render(<ToolCalls nodeId="n0" calls={[]} />);
    expect(container).toBeEmptyDOMElement();
  });
});
