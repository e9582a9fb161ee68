// `npm run up` as a fresh machine runs it: the machine setup `npm test` does too (engine
// packages, a running dockerd, the base image) happens first, and only then the CLI step,
// which on a machine that cannot fetch the CLI stops with the one clear line (exit 69).
// Quick here: the engine runs and the base image exists, so setup only checks them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeWithDocker } from "../support/docker";
import { ROOT } from "../support/pulumi";

const dir = mkdtempSync(path.join(tmpdir(), "flotilla-up-docker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWithDocker("npm run up on a machine with no Pulumi CLI", () => {
  it("prepares the engine and the base image, then reaches the CLI step and stops with one line", async () => {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOME: dir,
      PULUMI_HOME: path.join(dir, "pulumi-home"),
      PATH: (process.env.PATH ?? "")
        .split(":")
        .filter((d) => !d.includes("node_modules/.bin"))
        .join(":"),
    };
    delete env.FLOTILLA_SKIP_SETUP;
    let reachable = true;
    try {
      await fetch("https://get.pulumi.com/", { signal: AbortSignal.timeout(5000) });
    } catch {
      reachable = false;
    }
    if (reachable) {
      const offline = path.join(dir, "offline.cjs");
      writeFileSync(offline, 'globalThis.fetch = async () => { throw new TypeError("fetch failed"); };\n');
      env.NODE_OPTIONS = `--require ${offline}`;
    }
    const r = spawnSync("npm", ["run", "--silent", "up"], {
      cwd: ROOT,
      env,
      encoding: "utf8",
      timeout: 600_000,
    });
    const out = r.stdout;
    console.log(out + r.stderr);
    expect(r.status, r.stderr).toBe(69);
    const engine = out.search(/^dockerd: (already running|started)/m);
    const base = out.search(/^base image: /m);
    const cli = out.search(/^up: fetching the Pulumi CLI/m);
    expect(engine, out).toBeGreaterThanOrEqual(0);
    expect(base, out).toBeGreaterThan(engine);
    expect(cli, out).toBeGreaterThan(base);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^up: could not fetch the Pulumi CLI v[\d.]+ from get\.pulumi\.com/);
  });
});
