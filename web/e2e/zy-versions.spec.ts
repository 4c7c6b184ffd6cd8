import { expect, test } from "@playwright/test";
import { ACCOUNT, screenshot, signIn, watchConsole } from "./support";

// Runs after workflow.spec.ts (name order: "zy-"), whose first test signs the account up; run
// alone, the account is made here.
test("edit, save, publish, edit again, compare in History and restore", async ({ page, request }) => {
  await request.post("/api/v1/auth/register", {
    data: { email: ACCOUNT.email, password: ACCOUNT.password, name: ACCOUNT.name },
  });
  const noConsoleErrors = watchConsole(page);
  await signIn(page);

  // A new workflow is version 1, published.
  await page.getByRole("button", { name: "New workflow" }).click();
  const dialog = page.getByRole("dialog", { name: "New workflow" });
  await dialog.getByLabel("Name").fill("E2E versions");
  await dialog.getByRole("button", { name: "Create", exact: true }).click();
  const badge = page.getByTestId("version-badge");
  await expect(badge).toHaveText("v1 · published");
  const side = page.getByRole("complementary", { name: "Details" });

  // Edit and save: version 2 is the draft, version 1 still published.
  await page.getByTestId("node-output_1").click();
  await side.getByLabel(/^Value/).fill("first: {{ input }}");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(badge).toHaveText("v2 draft · v1 published");

  // Publish the draft.
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await expect(page.getByText("Published v2")).toBeVisible();
  await expect(badge).toHaveText("v2 · published");

  // Edit again: the output changes.
  await page.getByTestId("node-output_1").click();
  await side.getByLabel(/^Value/).fill("second: {{ input }}");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(badge).toHaveText("v3 draft · v2 published");

  // History lists the versions; selecting the published one draws what changed since.
  await page.getByRole("button", { name: "History" }).click();
  const history = page.getByRole("complementary", { name: "History" });
  await expect(history.getByRole("button", { name: /^v3/ })).toContainText("draft");
  await expect(history.getByRole("button", { name: /^v2/ })).toContainText("published");
  await history.getByRole("button", { name: /^v2/ }).click();
  await expect(history.getByText("Changes from v2 to v3 (draft)")).toBeVisible();
  await expect(page.getByTestId("node-output_1")).toHaveAttribute("data-diff", "changed");
  await expect(page.getByTestId("node-output_1")).toHaveClass(/diff-changed/);
  await expect(page.getByTestId("node-input_1")).toHaveAttribute("data-diff", "");
  const changes = history.getByTestId("changes-output_1");
  await expect(changes.locator("dt")).toHaveText("value");
  await expect(changes.locator("del")).toHaveText("first: {{ input }}");
  await expect(changes.locator("ins")).toHaveText("second: {{ input }}");
  await screenshot(page, "version-diff");

  // Restore version 2: it becomes the draft again as version 4.
  await history.getByRole("button", { name: "Restore v2" }).click();
  await expect(page.getByText("Restored v2 as v4")).toBeVisible();
  await expect(badge).toHaveText("v4 draft · v2 published");
  await expect(page.getByTestId("node-output_1")).toHaveAttribute("data-diff", "");
  await expect(history.getByRole("button", { name: /^v4/ })).toContainText("Restored from version 2");
  await history.getByRole("button", { name: "Close" }).click();
  await page.getByTestId("node-output_1").click();
  await expect(side.getByLabel(/^Value/)).toHaveValue("first: {{ input }}");
  await expect(page.getByText("Unsaved changes")).toHaveCount(0);
  noConsoleErrors();
});
