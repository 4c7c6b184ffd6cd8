import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// In development the API runs on relayflow's own port; the dev server forwards to it.
const api = process.env.RELAYFLOW_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/hooks": { target: api, changeOrigin: false },
    },
  },
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 1000 },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // Page tests render React Flow and talk HTTP to the fake API; on a busy shared CI
    // machine the first one alone can take longer than vitest's 5 s default.
    testTimeout: 30_000,
  },
});
