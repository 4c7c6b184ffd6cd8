// Accessibility: axe-core checks every main screen against WCAG 2 A/AA and its best practices.
// A serious or critical violation fails the test; moderate and minor ones are printed.
//
// Named "zx-" so it runs after workflow.spec.ts (spec files run in name order), which needs
// to sign up the installation's first account, the admin; this spec signs up an account of
// its own, so it also runs alone.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { screenshot, watchConsole } from "./support";

const ACCOUNT = { name: "Axel Auditor", email: "axe@example.com", password: "accessible horse battery" };
const DEMO = "Demo: Research, write, review";
const BLOCKING = new Set(["serious", "critical"]);

interface Finding {
  screen: string;
  rule: string;
  impact: string;
  targets: string[];
}

/** Runs axe on the page as it is now and records what it finds under `screen`. */
async function audit(page: Page, screen: string, findings: Finding[]): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    // Experimental in axe, so off unless named: a control's accessible name must contain its visible text.
    .options({ rules: { "label-content-name-mismatch": { enabled: true } } })
    .analyze();
  for (const v of results.violations) {
    findings.push({
      screen,
      rule: v.id,
      impact: v.impact ?? "unknown",
      // Each target with axe's reason, e.g. the contrast ratio and both colours.
      targets: v.nodes.map((n) => `${n.target.join(" ")} (${[...n.any, ...n.all, ...n.none].map((c) => c.message).join("; ")})`),
    });
  }
  const summary = results.violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`).join(", ");
  console.log(`axe ${screen}: ${summary || "no violations"}`);
}

function describe(findings: Finding[]): string {
  return findings.map((f) => `${f.screen}: ${f.rule} [${f.impact}] at ${f.targets.join(" | ")}`).join("\n");
}

test("every main screen has no serious or critical accessibility violations", async ({ page }) => {
  test.setTimeout(180_000);
  const noConsoleErrors = watchConsole(page);
  const findings: Finding[] = [];

  await page.goto("/signin");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await audit(page, "sign-in", findings);
  await screenshot(page, "a11y-sign-in");

  await page.getByRole("link", { name: "Create one" }).click();
  await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();
  await audit(page, "sign-up", findings);
  await page.getByLabel(/Name/).fill(ACCOUNT.name);
  await page.getByLabel("Email").fill(ACCOUNT.email);
  await page.getByLabel(/Password/).fill(ACCOUNT.password);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page.getByRole("heading", { name: "Workflows" })).toBeVisible();
  await expect(page.getByRole("link", { name: DEMO })).toBeVisible();
  await audit(page, "workflows", findings);

  // The editor with the demo workflow open and a node selected.
  await page.getByRole("link", { name: DEMO }).click();
  await expect(page.getByTestId("node-research")).toBeVisible();
  await page.getByTestId("node-research").click();
  await expect(page.getByRole("complementary", { name: "Details" }).getByLabel(/^Prompt/)).toBeVisible();
  await audit(page, "editor", findings);
  const workflowUrl = page.url();

  // The run dialog, then a run to fill the execution screens.
  await page.getByRole("button", { name: "▶ Run" }).click();
  const dialog = page.getByRole("dialog", { name: "Run workflow" });
  await expect(dialog).toBeVisible();
  await audit(page, "run dialog", findings);
  await dialog.getByLabel(/topic/).fill("accessible interfaces");
  await dialog.getByRole("button", { name: "Start run" }).click();
  await expect(page.getByTestId("node-result")).toHaveAttribute("data-status", "finished", { timeout: 60_000 });
  await expect(page.locator(".side .badge.s-completed").first()).toBeVisible();
  await audit(page, "editor after a run", findings);
  await screenshot(page, "a11y-editor-after-run");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Executions" }).click();
  const table = page.getByRole("table", { name: "Executions" });
  await expect(table.locator(".badge.s-completed")).toBeVisible();
  await audit(page, "executions", findings);
  await screenshot(page, "a11y-executions");

  await table.locator("tbody tr").first().click();
  await expect(page.getByLabel("Execution output")).toBeVisible();
  await audit(page, "execution", findings);

  await page.goto(`${workflowUrl}/triggers`);
  await expect(page.getByRole("heading", { name: "Webhooks & schedules" })).toBeVisible();
  await page.getByRole("button", { name: "New webhook" }).click();
  await expect(page.getByTestId("webhook-key")).toBeVisible();
  await audit(page, "new webhook dialog", findings);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("table", { name: "Webhooks" })).toBeVisible();
  await audit(page, "triggers", findings);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Agent templates" }).click();
  await expect(page.getByRole("heading", { name: "Agent templates" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "System templates" })).toBeVisible();
  await audit(page, "templates", findings);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
  await audit(page, "account", findings);
  // The menu's "API docs" goes to /docs, the server's Swagger UI: not a page of this app.

  const blocking = findings.filter((f) => BLOCKING.has(f.impact));
  const advisory = findings.filter((f) => !BLOCKING.has(f.impact));
  if (advisory.length) console.log(`moderate and minor violations:\n${describe(advisory)}`);
  expect(blocking, `serious or critical violations:\n${describe(blocking)}`).toEqual([]);
  noConsoleErrors();
});
