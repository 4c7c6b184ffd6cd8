// Agent templates in a browser: a new user copies a system template to their own and sees
// which templates their workflows use. Signs up its own account, so it runs alone or
// after workflow.spec.ts (whose account is the admin).
import { expect, test } from "@playwright/test";
import { screenshot, watchConsole } from "./support";

const USER = { name: "Tess Templates", email: "tess@example.com", password: "correct horse battery" };

test("a user copies a system template to their own and sees where templates are used", async ({ page }) => {
  const noConsoleErrors = watchConsole(page);
  await page.goto("/signup");
  await page.getByLabel(/Name/).fill(USER.name);
  await page.getByLabel("Email").fill(USER.email);
  await page.getByLabel(/Password/).fill(USER.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Demo: Research, write, review")).toBeVisible();

  await page.getByRole("link", { name: "Templates" }).click();
  await expect(page.getByRole("heading", { name: "Agent templates" })).toBeVisible();
  await expect(page.getByText("No templates of your own yet")).toBeVisible();
  // The demo's writer agent uses the system Writer template; nothing uses the Planner.
  const writer = page.getByRole("row", { name: "Writer", exact: true });
  await expect(writer).toContainText(/used by [1-9]\d* workflows?/);
  await expect(page.getByRole("row", { name: "Planner", exact: true })).toContainText("not used");

  await writer.getByRole("button", { name: "Copy to mine" }).click();
  await expect(page.getByRole("status")).toHaveText("Copied to your templates as “Writer (copy)”.");
  const copy = page.getByRole("row", { name: "Writer (copy)", exact: true });
  await expect(copy).toContainText("not used");
  await expect(copy.getByRole("button", { name: "Edit" })).toBeVisible();
  await screenshot(page, "templates");

  // Its own copy is unused, so deleting it asks nothing about workflows.
  await copy.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete template?" });
  await expect(dialog).toContainText("No workflow uses it.");
  await dialog.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.getByText("No templates of your own yet")).toBeVisible();
  noConsoleErrors();
});
