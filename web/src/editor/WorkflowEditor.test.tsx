// The editor as a user meets it, served by the scripted API (test/fakeApi.ts) over HTTP.
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { graphOf } from "../api/graph";
import type { Execution, Graph } from "../api/types";
import { errorReply, fakeApi } from "../test/fakeApi";
import { executionAnswer, nodeRunAnswer, workflowAnswer } from "../test/fixtures";
import { EditorPage } from "./EditorPage";

const WORKFLOW = "/api/v1/workflows/wf-1";

const GRAPH: Graph = {
  nodes: [
    { id: "input_1", type: "input", position: { x: 0, y: 0 }, data: {} },
    { id: "agent_1", type: "agent", position: { x: 300, y: 0 }, data: { prompt: "" } },
    { id: "output_1", type: "output", position: { x: 600, y: 0 }, data: { value: "{{ nodes.agent_1.output }}" } },
  ],
  edges: [
    { id: "e_input_1_agent_1", source: "input_1", target: "agent_1" },
    { id: "e_agent_1_output_1", source: "agent_1", target: "output_1" },
  ],
};

const ME = {
  id: "u-1",
  email: "ada@example.com",
  name: "Ada",
  role: "admin",
  created_at: null,
  default_model: "test:echo",
};

/** Opens the editor at `path` the way the app routes to it, with "/workflows" to leave to. */
async function openEditor(path = "/workflows/wf-1") {
  fakeApi.on("GET", WORKFLOW, { body: workflowAnswer("wf-1", GRAPH) });
  fakeApi.on("GET", "/api/v1/agent-templates", { body: { items: [], next_cursor: null } });
  fakeApi.on("GET", "/api/v1/credentials", { body: [] });
  fakeApi.on("GET", "/api/v1/auth/me", { body: ME });
  fakeApi.on("GET", "/api/v1/workflows", { body: { items: [], next_cursor: null } });
  const router = createMemoryRouter(
    [
      { path: "/workflows/:workflowId", element: <EditorPage /> },
      { path: "/workflows", element: <h1>Your workflows</h1> },
    ],
    { initialEntries: [path] },
  );
  render(<RouterProvider router={router} />);
  await screen.findByRole("toolbar", { name: "Workflow" });
}

const toolbar = () => screen.getByRole("toolbar", { name: "Workflow" });
const details = () => screen.getByRole("complementary", { name: "Details" });
// React Flow cannot measure nodes in jsdom, so it keeps them hidden: query them by test id.
const node = (id: string) => screen.getByTestId(`node-${id}`);
/** The graph in a save's body, read the way the app reads graphs. */
const savedGraph = (body: unknown): Graph => graphOf(body);

afterEach(() => {
  vi.useRealTimers();
});

describe("saving", () => {
  it("marks the problems the server found on their nodes, and clears them once a save succeeds", async () => {
    await openEditor();
    fakeApi.on(
      "PATCH",
      WORKFLOW,
      errorReply(422, "graph_invalid", "the workflow graph is invalid", [
        { node_id: "agent_1", edge_id: null, field: "data.prompt", message: "is required" },
        { node_id: null, edge_id: null, field: null, message: "the graph needs at least one agent with a model" },
      ]),
    );
    await userEvent.click(screen.getByRole("button", { name: "Add Transform node" }));
    await userEvent.click(within(toolbar()).getByRole("button", { name: "Save" }));

    const marked = await within(node("agent_1")).findByRole("alert", { hidden: true });
    expect(marked).toHaveTextContent("data.prompt: is required");
    expect(node("agent_1")).toHaveClass("has-problems");
    const banner = within(details()).getAllByRole("alert")[0];
    expect(banner).toHaveTextContent("The workflow is not valid: 1 problem, listed below.");
    expect(banner).toHaveTextContent("the graph needs at least one agent with a model");
    expect(within(toolbar()).getByRole("status")).toHaveTextContent("Unsaved changes");
    const sent = savedGraph(fakeApi.made("PATCH", WORKFLOW)[0].body);
    expect(sent.nodes.map((n) => n.id)).toEqual(["input_1", "agent_1", "output_1", "transform_1"]);

    fakeApi.on("PATCH", WORKFLOW, (request) => ({ body: workflowAnswer("wf-1", savedGraph(request.body)) }));
    await userEvent.click(within(toolbar()).getByRole("button", { name: "Save" }));
    expect(await within(toolbar()).findByRole("status")).toHaveTextContent("Saved");
    expect(within(node("agent_1")).queryByRole("alert", { hidden: true })).toBeNull();
    expect(within(details()).queryByRole("alert")).toBeNull();
  });

  it("says so when a check finds no problems", async () => {
    await openEditor();
    fakeApi.on("POST", "/api/v1/workflows/validate", { body: { valid: true, problems: [] } });
    await userEvent.click(within(toolbar()).getByRole("button", { name: "Check" }));
    expect(await within(toolbar()).findByRole("status")).toHaveTextContent("No problems found");
  });
});

describe("the problems panel", () => {
  it("lists every problem in full with its node; choosing one selects the node and centres the canvas on it", async () => {
    await openEditor();
    const long = "needs a template_id or a model: pick an agent template, or write provider:model such as openai:gpt-4o";
    fakeApi.on(
      "POST",
      "/api/v1/workflows/validate",
      { body: { valid: false, problems: [
        { node_id: "agent_1", edge_id: null, field: null, message: long },
        { node_id: null, edge_id: "e_agent_1_output_1", field: null, message: "leads nowhere useful" },
        { node_id: null, edge_id: null, field: null, message: "the graph needs an output" },
      ] } },
    );
    const viewport = () => document.querySelector(".react-flow__viewport")?.getAttribute("style") ?? "";
    const before = viewport();
    await userEvent.click(within(toolbar()).getByRole("button", { name: "Check" }));

    const panel = await within(details()).findByRole("region", { name: "Problems" });
    expect(within(panel).getByRole("heading")).toHaveTextContent("3 problems");
    const agentProblem = within(panel).getByRole("button", { name: new RegExp(`agent_1.*${long.slice(0, 40)}`) });
    expect(agentProblem).toHaveTextContent(long);
    expect(within(panel).getByRole("button", { name: /connection agent_1 → output_1/ })).toHaveTextContent("leads nowhere useful");
    expect(panel).toHaveTextContent("the graph needs an output");

    await userEvent.click(agentProblem);
    await waitFor(() => expect(node("agent_1").closest(".react-flow__node")).toHaveClass("selected"));
    expect(within(details()).getByRole("heading", { name: "Agent" })).toBeInTheDocument();
    await waitFor(() => expect(viewport()).not.toBe(before));
    // The panel stays while the node is edited, so the next problem is one click away.
    expect(within(details()).getByRole("region", { name: "Problems" })).toBeInTheDocument();
  });
});

describe("new nodes and tidying up", () => {
  it("a new agent starts with the server's default model, and Tidy up is an undoable edit", async () => {
    await openEditor();
    await userEvent.click(screen.getByRole("button", { name: "Add Agent node" }));
    expect(within(details()).getByLabelText(/^Model/)).toHaveValue("test:echo");
    fakeApi.on("PATCH", WORKFLOW, (request) => ({ body: workflowAnswer("wf-1", savedGraph(request.body)) }));
    await userEvent.click(within(toolbar()).getByRole("button", { name: "Save" }));
    expect(await within(toolbar()).findByRole("status")).toHaveTextContent("Saved");
    const sent = savedGraph(fakeApi.made("PATCH", WORKFLOW).at(-1)!.body);
    expect(sent.nodes.find((n) => n.id === "agent_2")?.data).toMatchObject({ model: "test:echo" });

    await userEvent.click(within(toolbar()).getByRole("button", { name: "Tidy up" }));
    expect(within(toolbar()).getByRole("status")).toHaveTextContent("Unsaved changes");
    await userEvent.click(within(toolbar()).getByRole("button", { name: "Undo" }));
    expect(within(toolbar()).queryByText("Unsaved changes")).toBeNull();
  });
});

describe("leaving with unsaved changes", () => {
  it("leaves at once when nothing changed", async () => {
    await openEditor();
    await userEvent.click(screen.getByRole("link", { name: "← Workflows" }));
    expect(await screen.findByRole("heading", { name: "Your workflows" })).toBeInTheDocument();
  });

  it("asks first: staying keeps the edits, discarding leaves without saving", async () => {
    await openEditor();
    await userEvent.click(screen.getByRole("button", { name: "Add Transform node" }));
    await userEvent.click(screen.getByRole("link", { name: "← Workflows" }));
    const dialog = await screen.findByRole("dialog", { name: "Unsaved changes" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Stay" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(node("transform_1")).toBeInTheDocument();
    expect(within(toolbar()).getByRole("status")).toHaveTextContent("Unsaved changes");

    await userEvent.click(screen.getByRole("link", { name: "← Workflows" }));
    await userEvent.click(
      within(await screen.findByRole("dialog", { name: "Unsaved changes" })).getByRole("button", { name: "Discard changes" }),
    );
    expect(await screen.findByRole("heading", { name: "Your workflows" })).toBeInTheDocument();
    expect(fakeApi.made("PATCH", WORKFLOW)).toHaveLength(0);
  });

  it("save and leave: a failed save keeps the user in the editor with the problem, a good one leaves", async () => {
    await openEditor();
    fakeApi.on("PATCH", WORKFLOW, errorReply(503, "unavailable", "The database is restarting"));
    await userEvent.click(screen.getByRole("button", { name: "Add Transform node" }));
    await userEvent.click(screen.getByRole("link", { name: "← Workflows" }));
    let dialog = await screen.findByRole("dialog", { name: "Unsaved changes" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Save and leave" }));
    expect(await within(details()).findByRole("alert")).toHaveTextContent("The database is restarting");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(node("transform_1")).toBeInTheDocument();

    fakeApi.on("PATCH", WORKFLOW, (request) => ({ body: workflowAnswer("wf-1", savedGraph(request.body)) }));
    await userEvent.click(screen.getByRole("link", { name: "← Workflows" }));
    dialog = await screen.findByRole("dialog", { name: "Unsaved changes" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Save and leave" }));
    expect(await screen.findByRole("heading", { name: "Your workflows" })).toBeInTheDocument();
    const sent = savedGraph(fakeApi.made("PATCH", WORKFLOW)[1].body);
    expect(sent.nodes.map((n) => n.id)).toContain("transform_1");
  });
});

describe("keyboard shortcuts", () => {
  it("leave a text field's own undo alone, undo the graph elsewhere, and save from anywhere", async () => {
    await openEditor();
    fakeApi.on("PATCH", WORKFLOW, (request) => ({ body: workflowAnswer("wf-1", savedGraph(request.body)) }));
    await userEvent.click(screen.getByRole("button", { name: "Add Transform node" }));
    const label = within(details()).getByLabelText(/^Label/);
    await userEvent.type(label, "Summary");
    expect(node("transform_1")).toHaveTextContent("Summary");

    // In the field, Ctrl+Z belongs to the field: the graph keeps the label.
    await userEvent.keyboard("{Control>}z{/Control}");
    expect(node("transform_1")).toHaveTextContent("Summary");
    expect(label).toHaveValue("Summary");

    // Ctrl+S saves even from inside the field.
    await userEvent.keyboard("{Control>}s{/Control}");
    expect(await within(toolbar()).findByRole("status")).toHaveTextContent("Saved");
    const sent = savedGraph(fakeApi.made("PATCH", WORKFLOW)[0].body);
    expect(sent.nodes.find((n) => n.id === "transform_1")?.data).toMatchObject({ label: "Summary" });

    // Outside a field, Ctrl+Z undoes the last edit of the graph and Ctrl+Shift+Z redoes it.
    await userEvent.click(within(details()).getByRole("heading", { name: "Transform" }));
    expect(label).not.toHaveFocus();
    await userEvent.keyboard("{Control>}z{/Control}");
    expect(node("transform_1")).not.toHaveTextContent("Summary");
    expect(within(details()).getByLabelText(/^Label/)).toHaveValue("");
    expect(within(toolbar()).getByRole("status")).toHaveTextContent("Unsaved changes");
    await userEvent.keyboard("{Control>}{Shift>}z{/Shift}{/Control}");
    expect(node("transform_1")).toHaveTextContent("Summary");
    expect(within(toolbar()).getByRole("status")).toHaveTextContent("Saved");
  });
});

describe("a run shown on the canvas", () => {
  it("follows the run's events, and polls for its progress while the event stream is down", async () => {
    // Only the polling timer is faked: the page's requests and the stream's retries run for real.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let execution: Execution = executionAnswer("ex-1", "wf-1");
    fakeApi.on("GET", "/api/v1/executions/ex-1", () => ({ body: execution }));
    const stream = fakeApi.stream("/api/v1/executions/ex-1/events");
    await openEditor("/workflows/wf-1?run=ex-1");
    const run = within(details()).getByRole("region", { name: "Run" });
    expect(await within(run).findByText("processing")).toBeInTheDocument();
    await stream.connected(1);

    stream.send("node.started", { node_id: "agent_1" });
    expect(await within(node("agent_1")).findByText("● running…")).toBeInTheDocument();
    expect(node("input_1")).toHaveTextContent("● pending");

    stream.breakDown();
    await stream.connected(2); // the page noticed and is retrying
    execution = executionAnswer("ex-1", "wf-1", {
      status: "completed",
      output: { brief: "Durable workflows survive restarts." },
      node_runs: ["input_1", "agent_1", "output_1"].map((id) => nodeRunAnswer(id, "completed")),
    });
    await act(() => vi.advanceTimersByTimeAsync(5000));

    expect(await within(run).findByText("completed")).toBeInTheDocument();
    expect(node("agent_1")).toHaveTextContent("● finished");
    expect(within(run).getByLabelText("Execution output")).toHaveTextContent("Durable workflows survive restarts.");
  });
});
