// The templates page as a user meets it, served by the scripted API (test/fakeApi.ts).
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { setToken } from "../api/session";
import type { AgentTemplate } from "../api/types";
import { AuthProvider } from "../auth/AuthContext";
import { errorReply, fakeApi } from "../test/fakeApi";
import { TemplatesPage } from "./TemplatesPage";

const LIST = "/api/v1/agent-templates";

function template(id: string, name: string, changes: Partial<AgentTemplate> = {}): AgentTemplate {
  return {
    id,
    name,
    role: name.toLowerCase(),
    model: "test:echo",
    system_prompt: null,
    parameters: {},
    is_system: false,
    user_id: "u1",
    credential_id: null,
    created_at: "2026-01-01T00:00:00Z",
    used_by: 0,
    ...changes,
  };
}

const WRITER = template("t-writer", "Writer", { is_system: true, user_id: null, used_by: 3 });
const MINE = template("t-mine", "Triage", { used_by: 1 });

async function openPage(role: "user" | "admin", items: AgentTemplate[]) {
  setToken("token");
  fakeApi.on("GET", "/api/v1/auth/me", {
    body: { id: "u1", email: "u@example.com", name: null, role, created_at: null },
  });
  fakeApi.on("GET", LIST, { body: { items, next_cursor: null } });
  render(
    <AuthProvider>
      <MemoryRouter>
        <TemplatesPage />
      </MemoryRouter>
    </AuthProvider>,
  );
  await screen.findByRole("heading", { name: "System templates" });
}

const row = (name: string) => screen.getByRole("row", { name });

describe("TemplatesPage", () => {
  it("shows how many workflows use each template, and copies a system template to mine", async () => {
    await openPage("user", [MINE, WRITER]);
    expect(within(row("Writer")).getByText("used by 3 workflows")).toBeInTheDocument();
    expect(within(row("Triage")).getByText("used by 1 workflow")).toBeInTheDocument();
    // a user may copy a system template but not change it
    expect(within(row("Writer")).queryByRole("button", { name: "Delete" })).toBeNull();

    const copy = template("t-copy", "Writer (copy)");
    fakeApi.on("POST", `${LIST}/t-writer/copy`, { status: 201, body: copy });
    fakeApi.on("GET", LIST, { body: { items: [copy, MINE, WRITER], next_cursor: null } });
    await userEvent.click(within(row("Writer")).getByRole("button", { name: "Copy to mine" }));

    expect(await screen.findByRole("status")).toHaveTextContent("Copied to your templates as “Writer (copy)”.");
    expect(within(row("Writer (copy)")).getByText("not used")).toBeInTheDocument();
    expect(fakeApi.made("POST", `${LIST}/t-writer/copy`)).toHaveLength(1);
  });

  it("gives admins the copy action on system templates too, beside edit and delete", async () => {
    await openPage("admin", [WRITER]);

    const actions = within(row("Writer")).getAllByRole("button").map((b) => b.textContent);

    expect(actions).toEqual(["Copy to mine", "Edit", "Delete"]);
  });

  it("lists the workflows using a template before deleting it, then deletes with force", async () => {
    await openPage("user", [MINE, WRITER]);
    fakeApi.on("GET", `${LIST}/t-mine/usage`, {
      body: { used_by: 2, workflows: [{ id: "wf-1", name: "Support router" }], others: 1 },
    });
    fakeApi.on("DELETE", `${LIST}/t-mine`, { status: 204 });

    await userEvent.click(within(row("Triage")).getByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete template?" });
    const listed = await within(dialog).findByRole("list", { name: "Workflows using it" });
    expect(within(listed).getByRole("link", { name: "Support router" })).toHaveAttribute("href", "/workflows/wf-1");
    expect(listed).toHaveTextContent("1 workflow of other users");
    fakeApi.on("GET", LIST, { body: { items: [WRITER], next_cursor: null } });
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete anyway" }));

    await screen.findByText("No templates of your own yet");
    const [deleted] = fakeApi.made("DELETE", `${LIST}/t-mine`);
    expect(deleted.query.get("force")).toBe("true");
  });

  it("deletes an unused template without force, and shows the server's refusal if it became used", async () => {
    const unused = template("t-unused", "Spare");
    await openPage("user", [unused]);
    fakeApi.on("GET", `${LIST}/t-unused/usage`, { body: { used_by: 0, workflows: [], others: 0 } });
    fakeApi.on(
      "DELETE",
      `${LIST}/t-unused`,
      errorReply(409, "conflict", "agent template 'Spare' is used by 'New flow'", {
        workflows: [{ id: "wf-2", name: "New flow" }],
        others: 0,
      }),
    );

    await userEvent.click(within(row("Spare")).getByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete template?" });
    await within(dialog).findByText(/No workflow uses it/);
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete" }));

    expect(await within(dialog).findByText(/is used by 'New flow'/)).toBeInTheDocument();
    expect(fakeApi.made("DELETE", `${LIST}/t-unused`)[0].query.get("force")).toBe("false");
  });
});
