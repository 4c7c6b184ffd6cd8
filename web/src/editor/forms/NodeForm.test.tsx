import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { AgentTemplate } from "../../api/types";
import { NodeForm, type NodeData } from "./NodeForm";

const TEMPLATES: AgentTemplate[] = [
  { id: "t-writer", name: "Writer", role: "writer", model: "test:echo", system_prompt: "You write.", parameters: { temperature: 0.7 }, is_system: true, user_id: null, created_at: null },
  { id: "t-mine", name: "My critic", role: "critic", model: "openai:gpt-4o", system_prompt: null, parameters: {}, is_system: false, user_id: "u-1", created_at: null },
];

/** Renders a form over live state, the way the editor does, and records every change. */
function renderForm(kind: string, initial: NodeData) {
  const changes: { data: NodeData; field: string }[] = [];
  function Harness() {
    const [data, setData] = useState(initial);
    return (
      <NodeForm
        kind={kind}
        data={data}
        templates={TEMPLATES}
        workflows={[{ id: "wf-2", name: "Summarise" }]}
        onChange={(next, field) => {
          changes.push({ data: next, field });
          setData(next);
        }}
      />
    );
  }
  render(<Harness />);
  return { changes, last: () => changes[changes.length - 1]?.data };
}

describe("node forms", () => {
  it("agent: picks a template and overrides its model and system prompt", async () => {
    const form = renderForm("agent", { prompt: "{{ input }}" });
    // Without a template the placeholder says there is no model rather than showing one.
    expect(screen.getByLabelText(/^Model/)).toHaveAttribute("placeholder", "none: set one or pick a template");
    await userEvent.selectOptions(screen.getByLabelText(/Agent template/), "t-writer");
    expect(form.last()).toMatchObject({ template_id: "t-writer" });
    // The template's values show as placeholders until overridden.
    expect(screen.getByLabelText(/^Model/)).toHaveAttribute("placeholder", "from the template: test:echo");
    expect(screen.getByLabelText(/System prompt/)).toHaveAttribute("placeholder", "You write.");
    await userEvent.type(screen.getByLabelText(/^Model/), "openai:gpt-4o");
    await userEvent.type(screen.getByLabelText(/System prompt/), "Be brief.");
    expect(form.last()).toEqual({
      prompt: "{{ input }}",
      template_id: "t-writer",
      model: "openai:gpt-4o",
      system_prompt: "Be brief.",
    });
    // Typing in one field is reported under that field's name (one undo step).
    expect(new Set(form.changes.slice(1).map((c) => c.field))).toEqual(new Set(["model", "system_prompt"]));
  });

  it("agent: clearing an override removes the key so the template applies again", async () => {
    const form = renderForm("agent", { prompt: "x", model: "test:echo" });
    await userEvent.clear(screen.getByLabelText(/^Model/));
    expect(form.last()).toEqual({ prompt: "x" });
  });

  it("agent: sets parameters, keeping the ones already there", async () => {
    const form = renderForm("agent", { prompt: "x", parameters: { max_tokens: 200 } });
    fireEvent.change(screen.getByLabelText(/Temperature/), { target: { value: "0.2" } });
    expect(form.last()?.parameters).toEqual({ max_tokens: 200, temperature: 0.2 });
  });

  it("JSON fields change data only when the text parses, and say why not", async () => {
    const form = renderForm("agent", { prompt: "x" });
    const field = screen.getByLabelText(/Output schema/);
    fireEvent.change(field, { target: { value: '{"type": "object"' } });
    expect(screen.getByRole("alert")).toHaveTextContent(/Not valid JSON/);
    expect(form.changes).toHaveLength(0);
    fireEvent.change(field, { target: { value: '{"type": "object"}' } });
    expect(screen.queryByRole("alert")).toBeNull();
    expect(form.last()).toEqual({ prompt: "x", output_schema: { type: "object" } });
  });

  it("condition: lists cases with their handles; adds, edits and removes them", async () => {
    const form = renderForm("condition", { cases: [{ handle: "yes", when: "input.score > 5" }], default: "no" });
    expect(screen.getByLabelText("Case 1 handle")).toHaveValue("yes");
    expect(screen.getByLabelText("Case 1 expression")).toHaveValue("input.score > 5");
    await userEvent.click(screen.getByRole("button", { name: "Add case" }));
    expect(form.last()?.cases).toEqual([
      { handle: "yes", when: "input.score > 5" },
      { handle: "case_2", when: "" },
    ]);
    await userEvent.type(screen.getByLabelText("Case 2 expression"), "input.urgent");
    await userEvent.click(screen.getByRole("button", { name: "Remove case 1" }));
    expect(form.last()).toEqual({ cases: [{ handle: "case_2", when: "input.urgent" }], default: "no" });
  });

  it("http: method, URL and headers", async () => {
    const form = renderForm("http", { method: "GET", url: "https://" });
    await userEvent.selectOptions(screen.getByLabelText("Method"), "POST");
    await userEvent.type(screen.getByLabelText(/^URL/), "example.com/{{{{ input.id }}");
    fireEvent.change(screen.getByLabelText(/Headers/), { target: { value: '{"Accept": "application/json"}' } });
    expect(form.last()).toEqual({
      method: "POST",
      url: "https://example.com/{{ input.id }}",
      headers: { Accept: "application/json" },
    });
  });

  it("map: switches between an agent template and a workflow per item", async () => {
    const form = renderForm("map", { items: "{{ input.items }}", template_id: "t-mine", prompt: "{{ item }}" });
    await userEvent.selectOptions(screen.getByLabelText("Run for each item"), "workflow");
    expect(form.last()).not.toHaveProperty("template_id");
    await userEvent.selectOptions(screen.getByLabelText("Workflow"), "wf-2");
    expect(form.last()).toMatchObject({ workflow_id: "wf-2" });
  });

  it("every kind has a form, with retries and timeout for all", () => {
    for (const kind of ["input", "agent", "http", "condition", "transform", "merge", "map", "subworkflow", "approval", "output"]) {
      const { unmount } = render(<NodeForm kind={kind} data={{}} templates={[]} workflows={[]} onChange={() => {}} />);
      expect(screen.getByLabelText("Retries")).toBeInTheDocument();
      expect(screen.queryByText(/Unknown node kind/)).toBeNull();
      unmount();
    }
  });

  it("is disabled for read-only workflows", () => {
    render(<NodeForm kind="output" data={{ value: "x" }} templates={[]} workflows={[]} onChange={() => {}} readOnly />);
    expect(screen.getByLabelText(/^Value/)).toBeDisabled();
  });
});
