import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { UseAsToolDialog } from "./UseAsToolDialog";

const WORKFLOW = { id: "wf-1", name: "Greeter", chat_model: false, mcp_tool: true };

describe("UseAsToolDialog", () => {
  it("shows the model name, the MCP URL and snippets, and switches the flags", async () => {
    const update = vi.fn(() => Promise.resolve({}));
    render(<UseAsToolDialog workflow={WORKFLOW} origin="http://rf.test" update={update} onClose={() => {}} />);
    expect(screen.getByRole("dialog", { name: "Use “Greeter” as a tool" })).toBeInTheDocument();
    expect(screen.getByTestId("model-name")).toHaveTextContent("workflow/wf-1");
    expect(screen.getByTestId("mcp-url")).toHaveTextContent("http://rf.test/mcp");
    expect(screen.getByTestId("python-snippet")).toHaveTextContent('base_url="http://rf.test/v1"');
    expect(screen.getByTestId("mcp-config")).toHaveTextContent('"url": "http://rf.test/mcp"');
    expect(screen.getByLabelText(/MCP tool/)).toBeChecked();

    const chat = screen.getByLabelText(/Chat model/);
    expect(chat).not.toBeChecked();
    await userEvent.click(chat);
    expect(update).toHaveBeenCalledWith({ chat_model: true });
    expect(chat).toBeChecked();
  });
});
