// CI smoke run of the edge benchmark (`npm run bench -- --smoke`): the dev stacks deployed
// under a prefix of its own, a few seconds per point, one rate. Checks that it works and
// writes a report with plots: responses on every target, ratio fields present. Not a timed
// assertion: the figures of a smoke run on a shared box mean nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { BenchResult } from "../../tools/bench/report";
import { run } from "../e2e/lib";
import { describeWithDocker } from "../support/docker";

describeWithDocker("npm run bench -- --smoke", () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "flotilla-bench-smoke-"));
  let result: BenchResult;
  let log = "";

  beforeAll(async () => {
    const built = await run("bash", ["images/build.sh", "--version", "0.1.0"], { timeoutMs: 900_000 });
    if (built.code !== 0) throw new Error(`images/build.sh failed: ${built.stderr}`);
    // FLOTILLA_BENCH_ARGS: extra flags, e.g. "--webapp-writable-root" (docs/bench.md).
    const extra = (process.env.FLOTILLA_BENCH_ARGS ?? "").split(/\s+/).filter(Boolean);
    const args = ["tsx", "tools/bench/bench.ts", "--smoke", "--out", out, "--plots", out, ...extra];
    const r = await run("npx", args, {
      timeoutMs: 600_000,
    });
    log = `${r.stdout}\n${r.stderr}`;
    console.log(log);
    if (r.code !== 0) throw new Error(`bench --smoke failed (${r.code}):\n${log}`);
    result = JSON.parse(readFileSync(path.join(out, "bench.json"), "utf8")) as BenchResult;
  }, 900_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("measured every target on both paths, at saturation and at the fixed rate", () => {
    expect(result.settings.smoke).toBe(true);
    for (const key of ["healthz", "root"] as const) {
      const p = result.paths[key];
      for (const t of ["direct", "flotilla", "bare"] as const) {
        expect(p.targets[t].saturation.rps, `${key} ${t}`).toBeGreaterThan(0);
        expect(p.targets[t].rates).toHaveLength(1);
        expect(p.targets[t].rates[0].rps, `${key} ${t} at 50 %`).toBeGreaterThan(0);
        expect(p.targets[t].rates[0].latency.p50).toBeGreaterThan(0);
      }
      for (const v of Object.values(p.ratios)) expect(Number.isFinite(v)).toBe(true);
      expect(p.goals).toHaveLength(3);
    }
    const sat = result.points.filter((p) => p.mode === "saturation");
    expect(sat).toHaveLength(6);
    for (const p of sat) expect(p.requests).toBeGreaterThan(0);
  });

  it("recorded the machine and the images", () => {
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.machine.haproxy).toMatch(/^HAProxy version 3\./);
    expect(result.machine.loadBefore).toMatch(/^\d/);
    expect(Object.values(result.machine.images).every((id) => id.startsWith("sha256:"))).toBe(true);
  });

  it("wrote the Markdown report and the plots (SVG, PNG when Chromium is there)", () => {
    const md = readFileSync(path.join(out, "bench.md"), "utf8");
    expect(md).toContain("## Ratios and goals");
    expect(md).toContain("flotilla/direct");
    expect(md).toContain("](bench-throughput.svg)");
    for (const name of ["bench-throughput", "bench-latency-healthz", "bench-latency-root"]) {
      expect(readFileSync(path.join(out, `${name}.svg`), "utf8")).toMatch(/^<svg/);
      if (existsSync("/usr/bin/chromium")) expect(existsSync(path.join(out, `${name}.png`))).toBe(true);
    }
  });

  it("cleaned up: none of its services or containers are left", async () => {
    const prefix = result.settings.deployment;
    const services = await run("docker", ["service", "ls", "-q", "--filter", `name=${prefix}-`]);
    const containers = await run("docker", ["ps", "-aq", "--filter", `name=${prefix}-`]);
    expect(services.stdout).toBe("");
    expect(containers.stdout).toBe("");
  });
});
