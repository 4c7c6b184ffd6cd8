// End-to-end tests in Debian's Chromium (never a downloaded browser) against a real
// `relayflow serve` on 127.0.0.1 with a fresh SQLite data directory.
import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const port = Number(process.env.RELAYFLOW_E2E_PORT ?? 18765);
const dataDir = process.env.RELAYFLOW_E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), "relayflow-e2e-"));
const relayflow = process.env.RELAYFLOW_BIN ?? join(repo, ".venv", "bin", "relayflow");

export default defineConfig({
  testDir: here,
  outputDir: join(here, "..", "test-results"),
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
  webServer: {
    command: `${relayflow} serve --host 127.0.0.1 --port ${port}`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      RELAYFLOW_DATA_DIR: dataDir,
      RELAYFLOW_DATABASE_URL: "",
      RELAYFLOW_WEB_DIST: join(here, "..", "dist"),
    },
  },
});
