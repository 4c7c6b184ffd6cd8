import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { mcpServerProblems } from "./McpServersField";
import { NodeForm, type NodeData } from "./NodeForm";

function renderAgentForm(initial: NodeData) {
  const seen: NodeData[] = [];
  function Harness() {
    const [data, setData] = useState(initial);
    return (
      <NodeForm
        kind="agent"
        data={data}
        templates={[]}
        workflows={[]}
        onChange={(next) => {
          seen.push(next);
          setData(next);
        }}
      />
    );
  }
  render(<Harness />);
  return { last: () => seen[seen.length - 1] };
}

describe("MCP servers field", () => {
  it("sets the agent node's mcp_servers from the JSON typed in", () => {
    const form = renderAgentForm({ model: "test:echo", prompt: "hi" });
    const servers = [
      { name: "files", url: "https://tools.example.com/mcp", tools: ["read"] },
      { name: "local", stdio: "git" },
    ];
    fireEvent.change(screen.getByLabelText(/^MCP servers/), { target: { value: JSON.stringify(servers) } });
    expect(form.last()).toEqual({ model: "test:echo", prompt: "hi", mcp_servers: servers });
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("names what is wrong with a server while typing", () => {
    renderAgentForm({ model: "test:echo", prompt: "hi", mcp_servers: [{ name: "files", url: "https://x/mcp" }] });
    fireEvent.change(screen.getByLabelText(/^MCP servers/), {
      target: { value: '[{"name": "files", "url": "file:///etc/passwd"}]' },
    });
    expect(screen.getByRole("alert")).toHaveTextContent('server 1: "url" must start with http:// or https://');
  });

  it("checks each rule", () => {
    expect(mcpServerProblems(undefined)).toEqual([]);
    expect(mcpServerProblems({})).toEqual(["must be a list of servers"]);
    expect(mcpServerProblems([{ name: "a", url: "http://h/mcp", stdio: "x" }])).toEqual([
      'server 1: give exactly one of "url" or "stdio"',
    ]);
    expect(mcpServerProblems([{ name: "a", stdio: "x" }, { name: "a", stdio: "y", tools: "all" }])).toEqual([
      'server 2: another server is named "a"',
      'server 2: "tools" must be a list of tool names',
    ]);
  });
});
