// Shared helpers for suites that run real software under a Docker engine.
import { execFileSync, spawnSync } from "node:child_process";
import { describe } from "vitest";

/** True when a Docker engine answers. */
export function dockerAvailable(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore", timeout: 20_000 }).status === 0;
}

/**
 * `describe` for suites that need a Docker engine. Without one they are skipped
 * locally, but CI sets FLOTILLA_REQUIRE_DOCKER=1 so a missing engine fails loudly
 * instead of passing silently.
 */
export const describeWithDocker: typeof describe =
  process.env.FLOTILLA_REQUIRE_DOCKER === "1" || dockerAvailable()
    ? describe
    : (describe.skip as typeof describe);

/** Run docker with arguments (never a shell string); returns trimmed stdout, throws with stderr on failure. */
export function docker(args: string[], input?: string): string {
  return execFileSync("docker", args, {
    input,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}
