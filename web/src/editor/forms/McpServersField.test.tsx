import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { setToken } from "../../api/session";
import type { AgentTemplate } from "../../api/types";
import { TemplateDialog } from "../../templates/TemplateDialog";
import { fakeApi } from "../../test/fakeApi";
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

describe("template dialog: MCP servers", () => {
  it("shows the template's servers in their own field and saves them in its parameters", async () => {
    setToken("token");
    const saved: AgentTemplate = {
      id: "t-1",
      name: "Researcher",
      role: "researcher",
      model: "test:echo",
      system_prompt: null,
      parameters: { temperature: 0.2, mcp_servers: [{ name: "docs", url: "https://docs.example.com/mcp" }] },
      is_system: false,
      user_id: "u1",
      credential_id: null,
      created_at: null,
      used_by: 0,
    };
    fakeApi.on("PATCH", "/api/v1/agent-templates/t-1", { body: saved });
    let closed = false;
    render(<TemplateDialog template={saved} onClose={() => undefined} onSaved={async () => void (closed = true)} />);

    expect(screen.getByLabelText(/^Parameters/)).toHaveValue(JSON.stringify({ temperature: 0.2 }, null, 2));
    const servers = [{ name: "local", stdio: "git", tools: ["log"] }];
    fireEvent.change(screen.getByLabelText(/^MCP servers/), { target: { value: JSON.stringify(servers) } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));

    const request = await fakeApi.received("PATCH", "/api/v1/agent-templates/t-1");
    expect(request.body).toMatchObject({ parameters: { temperature: 0.2, mcp_servers: servers } });
    await waitFor(() => expect(closed).toBe(true));
  });
});
