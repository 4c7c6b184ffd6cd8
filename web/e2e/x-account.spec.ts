// Runs after workflow.spec.ts (which signs up the account): credentials and API tokens.
import { expect, test } from "@playwright/test";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ACCOUNT, connect, dropNode, screenshot, signIn, watchConsole } from "./support";

const KEY = "sk-e2e-credential-7d3f9b1c5a";
const ANSWER = "Answered with the key from your credential.";

/** A small OpenAI-compatible server on 127.0.0.1 that answers only requests carrying KEY. */
function fakeOpenAI(): Promise<{ server: Server; baseUrl: string; keys: string[] }> {
  const keys: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      keys.push(key);
      if (key !== KEY) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "bad key", code: "invalid_api_key" } }));
        return;
      }
      const body = JSON.parse(raw || "{}");
      const base = { id: "chatcmpl-e2e", object: "chat.completion", created: 1_700_000_000, model: body.model };
      const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const chunk = (choices: unknown[], extra: object = {}) =>
          res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, ...extra })}\n\n`);
        chunk([{ index: 0, delta: { role: "assistant", content: ANSWER }, finish_reason: null }]);
        chunk([{ index: 0, delta: {}, finish_reason: "stop" }]);
        chunk([], { usage });
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          ...base,
          choices: [{ index: 0, message: { role: "assistant", content: ANSWER }, finish_reason: "stop" }],
          usage,
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, baseUrl: `http://127.0.0.1:${port}/v1`, keys });
    }),
  );
}

test.describe.serial("your account", () => {
  test("a credential made on the account page runs an agent node with its key", async ({ page }) => {
    const noConsoleErrors = watchConsole(page);
    const fake = await fakeOpenAI();
    try {
      await signIn(page);
      await page.getByRole("link", { name: "Account" }).click();
      await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();

      const form = page.getByRole("form", { name: "New credential" });
      await form.getByLabel("Kind").selectOption("openai_compatible");
      await form.getByLabel("Name", { exact: true }).fill("E2E server");
      await form.getByLabel("Base URL", { exact: true }).fill(fake.baseUrl);
      await form.getByLabel("API key", { exact: true }).fill(KEY);
      await form.getByRole("button", { name: "Add credential" }).click();
      const row = page.getByRole("table", { name: "Credentials" }).getByRole("row", { name: /E2E server/ });
      await expect(row).toBeVisible();
      await expect(row.getByTestId("credential-hint")).toHaveText(`••••${KEY.slice(-4)}`);
      await expect(page.getByText(KEY)).toHaveCount(0);
      await screenshot(page, "account-credentials");

      // A workflow whose agent uses it: input -> agent -> output.
      await page.getByRole("link", { name: "Workflows" }).click();
      await page.getByRole("button", { name: "New workflow" }).click();
      const dialog = page.getByRole("dialog", { name: "New workflow" });
      await dialog.getByLabel("Name").fill("E2E with my key");
      await dialog.getByRole("button", { name: "Create", exact: true }).click();
      await expect(page.getByTestId("node-output_1")).toBeVisible();
      await page.getByTestId("node-output_1").click();
      await page.keyboard.press("Delete");
      await dropNode(page, "agent", 420, 180);
      await dropNode(page, "output", 760, 180);
      await connect(page, "input_1", "agent_1");
      await connect(page, "agent_1", "output_1");
      await page.getByTestId("node-agent_1").click();
      const side = page.getByRole("complementary", { name: "Details" });
      await side.getByLabel(/^Prompt/).fill("Say hello to {{ input.name }}");
      await side.getByLabel(/^Model/).fill("openai:e2e-model");
      await side.getByLabel(/^Credential/).selectOption({ label: "E2E server" });
      await page.getByTestId("node-output_1").click();
      await side.getByLabel(/^Value/).fill("{{ nodes.agent_1.output }}");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await expect(page.getByText("Saved", { exact: true })).toBeVisible();

      await page.getByRole("button", { name: "▶ Run" }).click();
      await page.getByLabel("Input (JSON)").fill('{"name": "Ada"}');
      await page.getByRole("button", { name: "Start run" }).click();
      for (const node of ["input_1", "agent_1", "output_1"]) {
        await expect(page.getByTestId(`node-${node}`)).toHaveAttribute("data-status", "finished");
      }
      await expect(side.getByLabel("Execution output")).toContainText(ANSWER);
      expect(fake.keys).toEqual([KEY]);

      // The account page says where the credential is used.
      await page.goto("/account");
      await page.getByRole("row", { name: /E2E server/ }).getByRole("button", { name: "Where used" }).click();
      await expect(page.getByTestId("credential-usage")).toContainText("E2E with my key");
      noConsoleErrors();
    } finally {
      fake.server.close();
    }
  });

  test("an API token is shown once and calls the API with its scopes", async ({ page, request }) => {
    const noConsoleErrors = watchConsole(page);
    await signIn(page);
    await page.goto("/account");
    const form = page.getByRole("form", { name: "New API token" });
    await form.getByLabel("Token name").fill("e2e script");
    await form.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("new-token").textContent()) ?? "";
    expect(token).toMatch(/^rfp_/);
    await screenshot(page, "account-token");

    const me = await request.get("/api/v1/auth/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status()).toBe(200);
    expect((await me.json()).email).toBe(ACCOUNT.email);
    const write = await request.post("/api/v1/workflows", {
      headers: { Authorization: `Bearer ${token}` },
      data: { name: "not allowed", nodes: [], edges: [] },
    });
    expect(write.status()).toBe(403);

    // Revoked: refused at once.
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByRole("table", { name: "API tokens" }).getByRole("row", { name: /e2e script/ })
      .getByRole("button", { name: "Revoke" }).click();
    await expect(page.getByRole("row", { name: /e2e script/ })).toHaveCount(0);
    const after = await request.get("/api/v1/auth/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(after.status()).toBe(401);
    noConsoleErrors();
  });
});
