import { expect, test } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ACCOUNT, signIn, watchConsole } from "./support";

const DOCS_SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");

// An input schema with required fields of several types: a body of `{}` would be refused.
const SCHEMA = {
  type: "object",
  required: ["customer", "items"],
  properties: {
    customer: { type: "string", examples: ["Ada Lovelace"] },
    items: { type: "array", minItems: 1, items: { type: "object", required: ["sku"], properties: { sku: { type: "string" }, qty: { type: "integer", minimum: 1 } } } },
  },
};

// Runs after workflow.spec.ts (name order); run alone, the account is made here.
test("the try-it curl sends a body from the input schema; a schedule is edited in place and read in words", async ({ page, request }) => {
  await request.post("/api/v1/auth/register", { data: { email: ACCOUNT.email, password: ACCOUNT.password, name: ACCOUNT.name } });
  const login = await request.post("/api/v1/auth/login", { data: { email: ACCOUNT.email, password: ACCOUNT.password } });
  const auth = { Authorization: `Bearer ${(await login.json()).access_token}` };
  const created = await request.post("/api/v1/workflows", {
    headers: auth,
    data: {
      name: "E2E triggers",
      nodes: [
        { id: "input_1", type: "input", position: { x: 0, y: 0 }, data: { schema: SCHEMA } },
        { id: "output_1", type: "output", position: { x: 300, y: 0 }, data: { value: "{{ input }}" } },
      ],
      edges: [{ id: "e1", source: "input_1", target: "output_1" }],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const workflow = await created.json();

  const noConsoleErrors = watchConsole(page);
  await signIn(page);
  await page.goto(`/workflows/${workflow.id}/triggers`);

  // The webhook's try-it curl sends an example of the schema, which the server accepts.
  await page.getByRole("button", { name: "New webhook" }).click();
  const key = (await page.getByTestId("webhook-key").textContent())?.trim() ?? "";
  const curl = (await page.getByTestId("webhook-curl").textContent()) ?? "";
  const body = /-d '([^']*)'/.exec(curl)?.[1] ?? "";
  expect(JSON.parse(body)).toEqual({ customer: "Ada Lovelace", items: [{ sku: "example", qty: 1 }] });
  const url = /curl -X POST '([^']+)'/.exec(curl)?.[1] ?? "";
  const delivered = await request.post(url, { headers: { "X-API-Key": key, "Content-Type": "application/json" }, data: body });
  expect(delivered.status(), await delivered.text()).toBe(202);
  await page.getByRole("button", { name: "Done" }).click();

  // A new schedule, then edited in place: its description follows.
  await page.getByRole("button", { name: "New schedule" }).click();
  const dialog = page.getByRole("dialog", { name: "New schedule" });
  await dialog.getByLabel("Cron expression").fill("0 9 * * 1-5");
  await dialog.getByLabel("Time zone").fill("Europe/Paris");
  await dialog.getByRole("button", { name: "Create" }).click();
  const table = page.getByRole("table", { name: "Schedules" });
  await expect(table.getByTestId("schedule-description")).toHaveText("every weekday at 09:00, Europe/Paris");

  await table.getByRole("button", { name: /^Edit schedule/ }).click();
  const form = page.getByRole("form", { name: "Edit schedule" });
  await expect(form.getByLabel("Cron expression")).toHaveValue("0 9 * * 1-5");
  await form.getByLabel("Cron expression").fill("30 8 * * 1,3,5");
  await form.getByLabel("Name (optional)").fill("Order digest");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form).toHaveCount(0);
  await expect(table.getByTestId("schedule-description")).toHaveText("every Monday, Wednesday and Friday at 08:30, Europe/Paris");
  await expect(table).toContainText("Order digest");
  await expect(table.locator("code")).toHaveText("30 8 * * 1,3,5");

  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(DOCS_SCREENSHOTS, "triggers.png"), fullPage: true });
  noConsoleErrors();
});
