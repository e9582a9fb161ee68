import { defineConfig } from "vitest/config";

// The fast suites (unit and Pulumi mock tests, `unit`) run first and in parallel: a failure
// there shows in minutes. The suites that drive real software under Docker
// (`*.docker.test.ts`) run in lanes, each lane one file at a time, each owning its own
// deployment and names (prefixes, ports). `npm test` runs them one project after another,
// and the lab apart (`npm run test:lab`,
// scripts/dev/test.sh); CI jobs on separate machines run
// projects of their own (`npx vitest run --project docker-lab`, .github/workflows/preview.yml).
const DOCKER = {
  fileParallelism: false,
  testTimeout: 300_000,
  hookTimeout: 900_000,
  sequence: { groupOrder: 1 },
};

/**
 * The Docker projects, by the directories their suites live in; `docker-misc` takes every
 * other Docker suite. `npm test` runs them one after another (scripts/dev/test.sh): dev,
 * misc, then cluster (discovery, then Galera); the lab is `npm run test:lab`.
 */
const LANES = {
  // The helion topology on VM containers, the heaviest by far.
  "docker-lab": ["test/lab/**/*.docker.test.ts"],
  // The dev stacks on the host's Swarm: the program's own up, its rehearsal (second ups,
  // drift, teardown), end to end, the edge, monitoring.
  "docker-dev": [
    "test/dev/**/*.docker.test.ts",
    "test/e2e/**/*.docker.test.ts",
    "test/tools/demo-dev.docker.test.ts",
    "test/edge/**/*.docker.test.ts",
    "test/monitoring/**/*.docker.test.ts",
  ],
  // Consul servers and Galera members under faults. `npm test` runs it by directory
  // (discovery, then galera: scripts/dev/test.sh LANES): a suite under another directory
  // needs its own lane entry there.
  "docker-cluster": [
    "test/cluster/**/*.docker.test.ts",
    "test/galera/**/*.docker.test.ts",
    "test/discovery/**/*.docker.test.ts",
  ],
} as const;

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
          sequence: { groupOrder: 0 },
        },
      },
      ...Object.entries(LANES).map(([name, include]) => ({
        test: { name, include: [...include], ...DOCKER },
      })),
      {
        test: {
          name: "docker-misc",
          include: ["test/**/*.docker.test.ts"],
          exclude: Object.values(LANES).flat(),
          ...DOCKER,
        },
      },
    ],
  },
});
