import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "images/**/test/*.test.ts"],
    // Pulumi's mock runtime is process-global state: one test file per worker process.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Two cores: Docker-backed suites must not fight each other for the engine.
    fileParallelism: process.env.FLOTILLA_SERIAL === "1" ? false : true,
  },
});
