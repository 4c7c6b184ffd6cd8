import { expect, test } from "@playwright/test";
import { createHmac } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ACCOUNT, connect, dropNode, screenshot, signIn, watchConsole } from "./support";

const WORKFLOW = "E2E research brief";
/** The editor's pictures in the docs. */
const DOC_SHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");

test.describe.serial("relayflow in a browser", () => {
  test("sign up, build a three-node workflow with an agent, run it and read the output", async ({ page }) => {
    const noConsoleErrors = watchConsole(page);

    // Sign up: the first account on a fresh installation becomes the admin.
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin/);
    await page.getByRole("link", { name: "Create one" }).click();
    await page.getByLabel(/Name/).fill(ACCOUNT.name);
    await page.getByLabel("Email").fill(ACCOUNT.email);
    await page.getByLabel(/Password/).fill(ACCOUNT.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Workflows" })).toBeVisible();
    await expect(page.getByText(`${ACCOUNT.name} · admin`)).toBeVisible();
    // A new account starts with the offline demo workflow.
    await expect(page.getByText("Demo: Research, write, review")).toBeVisible();

    // Create a workflow: it starts as input -> output.
    await page.getByRole("button", { name: "New workflow" }).click();
    const dialog = page.getByRole("dialog", { name: "New workflow" });
    await dialog.getByLabel("Name").fill(WORKFLOW);
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await expect(page.locator(".editor-toolbar .title")).toHaveText(WORKFLOW);
    await expect(page.getByTestId("node-input_1")).toBeVisible();

    // Replace the output with input -> agent -> output, drawn on the canvas.
    await page.getByTestId("node-output_1").click();
    await page.keyboard.press("Delete");
    await expect(page.getByTestId("node-output_1")).toHaveCount(0);
    await expect(page.getByText("Unsaved changes")).toBeVisible();
    await dropNode(page, "agent", 420, 180);
    await expect(page.getByTestId("node-agent_1")).toBeVisible();
    await dropNode(page, "output", 760, 180);
    await expect(page.getByTestId("node-output_1")).toBeVisible();
    await connect(page, "input_1", "agent_1");
    await connect(page, "agent_1", "output_1");
    await expect(page.locator(".react-flow__edge")).toHaveCount(2);

    // Undo and redo the last connection.
    await page.getByRole("button", { name: "Undo" }).click();
    await expect(page.locator(".react-flow__edge")).toHaveCount(1);
    await page.getByRole("button", { name: "Redo" }).click();
    await expect(page.locator(".react-flow__edge")).toHaveCount(2);

    // Configure the agent in the side panel: a slow offline model so the run can be watched.
    await page.getByTestId("node-agent_1").click();
    const side = page.getByRole("complementary", { name: "Details" });
    await side.getByLabel(/^Prompt/).fill("Write a short brief about {{ input.topic }}");
    await side.getByLabel(/^Model/).fill("test:sleep-1500");
    await page.getByTestId("node-output_1").click();
    await side.getByLabel(/^Value/).fill("{{ nodes.agent_1.output }}");

    // Leaving with unsaved changes asks first; staying keeps every edit.
    await page.getByRole("link", { name: "← Workflows" }).click();
    const leave = page.getByRole("dialog", { name: "Unsaved changes" });
    await expect(leave).toBeVisible();
    await leave.getByRole("button", { name: "Stay" }).click();
    await expect(page.getByTestId("node-agent_1")).toBeVisible();

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.getByText("Saved", { exact: true })).toBeVisible();
    await expect(page.getByText("Unsaved changes")).toHaveCount(0);

    // Run it with an input and watch the nodes go.
    await page.getByRole("button", { name: "▶ Run" }).click();
    await page.getByLabel("Input (JSON)").fill('{"topic": "durable workflows"}');
    await page.getByRole("button", { name: "Start run" }).click();
    await expect(page.getByTestId("node-agent_1")).toHaveAttribute("data-status", "running");
    await expect(page.getByTestId("node-input_1")).toHaveAttribute("data-status", "finished");
    await screenshot(page, "editor-during-run");
    for (const node of ["input_1", "agent_1", "output_1"]) {
      await expect(page.getByTestId(`node-${node}`)).toHaveAttribute("data-status", "finished");
    }
    await expect(side.getByRole("status").or(side.locator(".badge.s-completed"))).toBeVisible();

    // Open what the agent did.
    await page.getByTestId("node-agent_1").click();
    await expect(side.getByRole("tab", { name: "Run" })).toHaveAttribute("aria-selected", "true");
    await expect(side.getByLabel("Output of agent_1")).toContainText("durable workflows");
    await expect(side.getByLabel("Execution output")).toContainText("durable workflows");
    await screenshot(page, "editor-node-output");

    // The execution view draws the run on its graph.
    await side.getByRole("link", { name: "Open" }).click();
    await expect(page.getByText("Execution", { exact: true })).toBeVisible();
    await expect(page.locator(".badge.s-completed").first()).toBeVisible();
    await expect(page.getByLabel("Execution output")).toContainText("durable workflows");
    await page.getByTestId("node-agent_1").click();
    await expect(page.getByLabel("Output of agent_1")).toContainText("durable workflows");
    await screenshot(page, "execution-view");

    // Rerun from the agent: a new execution that reuses the input node's result.
    const firstRun = page.url();
    await page.getByRole("button", { name: "Rerun from selected node" }).click();
    await page.getByRole("dialog", { name: "Rerun from agent_1" }).getByRole("button", { name: "Start rerun" }).click();
    await expect(page).not.toHaveURL(firstRun);
    await expect(page.locator(".badge.s-completed").first()).toBeVisible();
    await expect(page.getByText("rerun from agent_1")).toBeVisible();
    await expect(page.getByTestId("node-output_1")).toHaveAttribute("data-status", "finished");
    noConsoleErrors();
  });

  test("tidy up lays the demo out left to right; the problems panel shows a node's problem; a new agent is valid", async ({ page }) => {
    const noConsoleErrors = watchConsole(page);
    await signIn(page);
    await page.getByRole("link", { name: "Demo: Research, write, review" }).click();
    await expect(page.getByTestId("node-topic")).toBeVisible();

    // Tidy up is an ordinary edit; every edge then points right and no two nodes overlap.
    // A wider window for the picture: the demo is five layers wide.
    await page.setViewportSize({ width: 1920, height: 900 });
    await page.getByRole("button", { name: "Tidy up" }).click();
    await page.waitForTimeout(300);
    const boxes = async () => {
      const out = new Map<string, { x: number; y: number; width: number; height: number }>();
      for (const id of ["topic", "research", "write", "review", "result"]) {
        const box = await page.getByTestId(`node-${id}`).boundingBox();
        if (box) out.set(id, box);
      }
      return out;
    };
    const placed = await boxes();
    expect(placed.size).toBe(5);
    for (const [source, target] of [["topic", "research"], ["research", "write"], ["write", "review"], ["review", "result"]]) {
      expect(placed.get(target)!.x, `${source} → ${target}`).toBeGreaterThan(placed.get(source)!.x + placed.get(source)!.width);
    }
    const list = [...placed.values()];
    list.forEach((a, i) =>
      list.slice(i + 1).forEach((b) => {
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart).toBe(true);
      }),
    );
    await screenshot(page, "editor-tidy-up");
    await page.screenshot({ path: join(DOC_SHOTS, "editor-tidy-up.png") });
    await page.setViewportSize({ width: 1440, height: 900 });

    // A new agent dropped from the palette comes with the default model: checking finds nothing.
    await dropNode(page, "agent", 420, 560);
    const side = page.getByRole("complementary", { name: "Details" });
    await expect(side.getByLabel(/^Model/)).toHaveValue("test:echo");
    const checked = page.waitForResponse((r) => r.url().endsWith("/api/v1/workflows/validate"));
    await page.getByRole("button", { name: "Check" }).click();
    expect(await (await checked).json()).toMatchObject({ valid: true, problems: [] });
    await expect(side.getByRole("region", { name: "Problems" })).toHaveCount(0);
    await expect(page.getByTestId("node-agent_1")).not.toHaveClass(/has-problems/);

    noConsoleErrors(); // the check below answers 422, which the browser logs

    // Clearing its model makes it invalid: the panel lists the problem in full, and
    // choosing it selects the node.
    await side.getByLabel(/^Model/).fill("");
    await page.getByTestId("node-topic").click();
    await page.getByRole("button", { name: "Check" }).click();
    const panel = side.getByRole("region", { name: "Problems" });
    const problem = panel.getByRole("button", { name: /agent_1/ });
    await expect(problem).toContainText("model");
    await expect(page.getByTestId("node-agent_1")).toHaveClass(/has-problems/);
    await problem.click();
    await expect(page.locator('.react-flow__node[data-id="agent_1"]')).toHaveClass(/selected/);
    await expect(side.getByRole("heading", { name: "Agent" })).toBeVisible();
    await screenshot(page, "editor-problems");
    await page.screenshot({ path: join(DOC_SHOTS, "editor-problems.png") });
  });

  test("a webhook called over HTTP starts a run that shows in the history", async ({ page, request }) => {
    const noConsoleErrors = watchConsole(page);
    await signIn(page);
    await page.getByRole("link", { name: WORKFLOW }).click();
    await page.getByRole("link", { name: "Webhooks & schedules" }).click();
    await expect(page.getByText("No webhooks")).toBeVisible();

    await page.getByRole("button", { name: "New webhook" }).click();
    const key = (await page.getByTestId("webhook-key").textContent())?.trim() ?? "";
    expect(key.length).toBeGreaterThan(20);
    const curl = (await page.getByTestId("webhook-curl").textContent()) ?? "";
    expect(curl).toContain(`X-API-Key: ${key}`);
    const url = /curl -X POST '([^']+)'/.exec(curl)?.[1] ?? "";
    expect(url).toMatch(/\/hooks\//);
    await screenshot(page, "webhook-created");
    await page.getByRole("button", { name: "Done" }).click();
    await expect(page.getByRole("table", { name: "Webhooks" })).toContainText(key.slice(0, 8));

    // An outside system calls the webhook.
    const answer = await request.post(url, {
      headers: { "X-API-Key": key, "Content-Type": "application/json" },
      data: { topic: "webhooks" },
    });
    expect(answer.status()).toBe(202);
    const { execution_id: executionId } = await answer.json();
    expect(executionId).toBeTruthy();

    // The run shows in the workflow's history and finishes.
    await page.getByRole("link", { name: `← ${WORKFLOW}` }).click();
    await page.getByRole("link", { name: "Runs" }).click();
    const table = page.getByRole("table", { name: "Executions" });
    await expect(table.locator("tr", { hasText: "webhook" })).toHaveCount(1);
    // The first test's run, started with the editor's Run button, is named so.
    await expect(table.locator("tr", { hasText: "editor" })).toHaveCount(1);
    await expect(table.locator("tr", { hasText: "webhook" }).locator(".badge.s-completed")).toBeVisible({ timeout: 30_000 });
    await screenshot(page, "execution-history");
    await table.locator("tr", { hasText: "webhook" }).click();
    await expect(page).toHaveURL(new RegExp(`/executions/${executionId}`));
    await expect(page.getByLabel("Execution output")).toContainText("webhooks");
    noConsoleErrors();
  });

  test("a webhook with a signing secret accepts signed deliveries and refuses unsigned ones", async ({ page, request }) => {
    const noConsoleErrors = watchConsole(page);
    await signIn(page);
    await page.getByRole("link", { name: WORKFLOW }).click();
    await page.getByRole("link", { name: "Webhooks & schedules" }).click();

    await page.getByRole("button", { name: "New webhook" }).click();
    const key = (await page.getByTestId("webhook-key").textContent())?.trim() ?? "";
    const curl = (await page.getByTestId("webhook-curl").textContent()) ?? "";
    const url = /curl -X POST '([^']+)'/.exec(curl)?.[1] ?? "";
    await page.getByRole("button", { name: "Done" }).click();
    const row = page.getByRole("table", { name: "Webhooks" }).locator("tr", { hasText: key.slice(0, 8) });
    await expect(row.getByText("Not signed")).toBeVisible();

    // Create a signing secret that is required from now on; it is shown once, with how to sign.
    await row.getByRole("button", { name: "Create signing secret" }).click();
    const ask = page.getByRole("dialog", { name: "Create signing secret" });
    await expect(ask.getByLabel(/Require signatures/)).toBeChecked();
    await ask.getByRole("button", { name: "Create secret" }).click();
    const shown = page.getByRole("dialog", { name: "Signing secret" });
    const secret = (await shown.getByTestId("signing-secret").textContent())?.trim() ?? "";
    expect(secret).toMatch(/^whsec_/);
    await expect(shown.getByLabel("How to sign")).toContainText("X-Relayflow-Signature");
    await expect(shown.getByLabel("How to sign")).toContainText("X-Relayflow-Timestamp");
    await expect(shown.getByTestId("signing-example")).toContainText(`SECRET='${secret}'`);
    await expect(shown.getByTestId("signing-example")).toContainText(url);
    await screenshot(page, "webhook-signing");
    await shown.getByRole("button", { name: "Done" }).click();
    await expect(row.getByText("Signed", { exact: true })).toBeVisible();
    await expect(row.getByRole("checkbox", { name: "required" })).toBeChecked();

    // An outside system signs `${timestamp}.${body}` with the secret: accepted.
    const body = JSON.stringify({ topic: "signed webhooks" });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
    const headers = { "X-API-Key": key, "Content-Type": "application/json" };
    const signed = await request.post(url, {
      headers: { ...headers, "X-Relayflow-Timestamp": timestamp, "X-Relayflow-Signature": `sha256=${signature}` },
      data: body,
    });
    expect(signed.status()).toBe(202);
    expect((await signed.json()).execution_id).toBeTruthy();

    // The right key without a signature is refused while signatures are required.
    const unsigned = await request.post(url, { headers, data: body });
    expect(unsigned.status()).toBe(401);
    expect(JSON.stringify(await unsigned.json())).toContain("signature");

    // Switching "required" off in the UI lets unsigned deliveries in again.
    // (The box flips at once; the delivery waits for the change to be saved.)
    const saved = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/api/v1/webhooks/"));
    await row.getByRole("checkbox", { name: "required" }).uncheck();
    await expect(row.getByRole("checkbox", { name: "required" })).not.toBeChecked();
    expect((await saved).ok()).toBe(true);
    expect((await request.post(url, { headers, data: body })).status()).toBe(202);
    await screenshot(page, "webhook-signing-list");

    // Removing the secret asks first.
    await row.getByRole("button", { name: "Remove signing secret" }).click();
    await page.getByRole("dialog", { name: "Remove signing secret?" }).getByRole("button", { name: "Confirm" }).click();
    await expect(row.getByText("Not signed")).toBeVisible();
    noConsoleErrors();
  });

  test("an approval pauses the run until someone approves it in place", async ({ page }) => {
    const noConsoleErrors = watchConsole(page);
    await signIn(page);
    await page.getByRole("button", { name: "New workflow" }).click();
    const dialog = page.getByRole("dialog", { name: "New workflow" });
    await dialog.getByLabel("Name").fill("E2E approval");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await expect(page.getByTestId("node-output_1")).toBeVisible();

    // input -> approval -> output, the approval added from the keyboard.
    await page.getByTestId("node-output_1").click();
    await page.keyboard.press("Delete");
    await page.getByRole("button", { name: "Add Approval node" }).focus();
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("node-approval_1")).toBeVisible();
    await dropNode(page, "output", 760, 320);
    await connect(page, "input_1", "approval_1");
    await connect(page, "approval_1", "output_1");
    await page.keyboard.press("Control+s");
    await expect(page.getByText("Saved", { exact: true })).toBeVisible();

    await page.getByRole("button", { name: "▶ Run" }).click();
    await page.getByLabel("Input (JSON)").fill('{"amount": 120}');
    await page.getByRole("button", { name: "Start run" }).click();
    await expect(page.getByTestId("node-approval_1")).toHaveAttribute("data-status", "waiting");
    await expect(page.getByTestId("node-output_1")).toHaveAttribute("data-status", "pending");

    await page.getByTestId("node-approval_1").click();
    const side = page.getByRole("complementary", { name: "Details" });
    await side.getByLabel(/Comment/).fill("looks right");
    await side.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("node-approval_1")).toHaveAttribute("data-status", "finished");
    await expect(page.getByTestId("node-output_1")).toHaveAttribute("data-status", "finished");
    await expect(side.getByLabel("Output of approval_1")).toContainText("looks right");
    noConsoleErrors();
  });
});
