import { expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });

export const ACCOUNT = { name: "Ada Admin", email: "ada@example.com", password: "correct horse battery" };

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Collects console errors and uncaught exceptions; the test asserts there were none. */
export function watchConsole(page: Page): () => void {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return () => expect(problems, "the page logged errors").toEqual([]);
}

/** Drags a palette entry onto the canvas at a point relative to the canvas' top-left. */
export async function dropNode(page: Page, kind: string, x: number, y: number): Promise<void> {
  const canvas = page.locator(".react-flow__pane");
  await page.locator(`.palette-item[data-kind="${kind}"]`).dragTo(canvas, { targetPosition: { x, y } });
}

/** Draws an edge from a node's (default) source handle to another node's target handle. */
export async function connect(page: Page, source: string, target: string): Promise<void> {
  const from = page.locator(`.react-flow__handle.source[data-nodeid="${source}"]`).first();
  const to = page.locator(`.react-flow__handle.target[data-nodeid="${target}"]`).first();
  await from.dragTo(to);
}

export async function signIn(page: Page): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(ACCOUNT.email);
  await page.getByLabel("Password").fill(ACCOUNT.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Workflows" })).toBeVisible();
}
