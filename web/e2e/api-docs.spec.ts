import { expect, test } from "@playwright/test";
import { watchConsole } from "./support";

// The API's documentation pages work with no internet: every file they load comes from
// relayflow itself, and the pages render the API (no blank page, no console errors).
test.describe("the API documentation", () => {
  const foreign: string[] = [];
  test.beforeEach(async ({ page }) => {
    foreign.length = 0;
    // Requests anywhere but the relayflow server fail, as on a machine without internet.
    await page.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/)/, (route) => {
      foreign.push(route.request().url());
      return route.abort("internetdisconnected");
    });
  });

  test("Swagger UI at /docs renders the operations offline", async ({ page }) => {
    const noConsoleErrors = watchConsole(page);
    await page.goto("/docs");
    await expect(page.locator(".swagger-ui .info .title")).toContainText("relayflow");
    await expect(page.locator(".opblock-summary-path", { hasText: "/api/v1/workflows" }).first()).toBeVisible();
    // Open one operation: its parameters and responses render.
    await page.locator(".opblock-summary", { hasText: "/healthz" }).first().click();
    await expect(page.locator(".opblock-body .responses-wrapper").first()).toBeVisible();
    expect(foreign, "requests that left the machine").toEqual([]);
    noConsoleErrors();
  });

  test("ReDoc at /redoc renders the reference offline", async ({ page }) => {
    const noConsoleErrors = watchConsole(page);
    await page.goto("/redoc");
    await expect(page.getByRole("heading", { level: 1 }).first()).toContainText("relayflow");
    await expect(page.locator("[data-section-id]").first()).toBeAttached();
    expect(foreign, "requests that left the machine").toEqual([]);
    noConsoleErrors();
  });
});
