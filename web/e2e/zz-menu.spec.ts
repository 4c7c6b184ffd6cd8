import { expect, test } from "@playwright/test";
import { signIn } from "./support";

// Spec files run in name order: this one runs after workflow.spec.ts, whose first test
// signs up the account used here (a fresh installation's first account is its admin).
test("the app's menu links to the API docs", async ({ page }) => {
  await signIn(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API docs" }).click();
  await expect(page).toHaveURL(/\/docs$/);
  await expect(page.locator(".swagger-ui .info .title")).toContainText("relayflow");
});
