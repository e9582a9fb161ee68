import { defineConfig } from "vitest/config";

// Two projects: fast unit and mock tests run in parallel; suites that drive real
// software under Docker (`*.docker.test.ts`) run one file at a time, because two
// cores cannot build images and run clusters for several suites at once.
export default defineConfig({
  test: {
    // Pulumi's mock runtime is process-global state: one test file per worker process.
    pool: "forks",
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.docker.test.ts"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "docker",
          include: ["test/**/*.docker.test.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
