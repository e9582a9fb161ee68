// `npm run up` / `npm run preview` (scripts/dev/up-dev.sh), run through npm as a user runs
// them, with the machine setup skipped (FLOTILLA_SKIP_SETUP=1: no Docker needed here).
// - Where the CLI cannot be fetched (this machine: no get.pulumi.com), the real `pulumi`
//   npm launcher fails and the script stops with one line on stderr and exit code 69.
// - With a CLI present (a test double recording its argv, since no real CLI can be had
//   here), every update and preview carries `--policy-pack policy`.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/pulumi";

const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
const PINNED = pkg.devDependencies.pulumi;
const dir = mkdtempSync(path.join(tmpdir(), "flotilla-up-"));
/** PATH without any `pulumi` but the launcher npm adds (node, npm, bash, git stay reachable). */
const basePath = (process.env.PATH ?? "")
  .split(":")
  .filter((d) => !d.includes("node_modules/.bin"))
  .join(":");

function npmRun(script: string, args: string[], env: Record<string, string>) {
  const r = spawnSync("npm", ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: {
      HOME: dir,
      PATH: basePath,
      FLOTILLA_SKIP_SETUP: "1",
      PULUMI_CONFIG_PASSPHRASE_FILE: path.join(dir, "passphrase"),
      ...env,
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether get.pulumi.com answers from here (it does not on the project's build machine). */
async function pulumiReachable(): Promise<boolean> {
  try {
    await fetch("https://get.pulumi.com/", { signal: AbortSignal.timeout(5000) });
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => writeFileSync(path.join(dir, "passphrase"), "test-only\n"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the Pulumi CLI from npm", () => {
  it("the official launcher is pinned exactly, and up/preview go through up-dev.sh", () => {
    expect(PINNED).toMatch(/^\d+\.\d+\.\d+$/);
    const launcher = JSON.parse(readFileSync(path.join(ROOT, "node_modules/pulumi/package.json"), "utf8"));
    expect(launcher.version).toBe(PINNED);
    expect(launcher.repository.url).toContain("github.com/pulumi/pulumi");
    // After the one-line description `npm run` lists (`: <description>; `), the launcher.
    expect(pkg.scripts.up).toMatch(/^: [^;]+; bash scripts\/dev\/up-dev\.sh up$/);
    expect(pkg.scripts.preview).toMatch(/^: [^;]+; bash scripts\/dev\/up-dev\.sh preview$/);
  });

  it("where the CLI cannot be fetched, stops with one clear line and exit code 69", async () => {
    const home = path.join(dir, "empty-pulumi-home");
    const env: Record<string, string> = { PULUMI_HOME: home };
    if (await pulumiReachable()) {
      // Elsewhere, take the network away from the launcher the way this machine does.
      const offline = path.join(dir, "offline.cjs");
      writeFileSync(offline, 'globalThis.fetch = async () => { throw new TypeError("fetch failed"); };\n');
      env.NODE_OPTIONS = `--require ${offline}`;
    }
    for (const [script, args] of [
      ["up", []],
      ["preview", ["--stack", "helion"]],
    ] as const) {
      const r = npmRun(script, [...args], env);
      expect(r.status, r.stderr).toBe(69);
      const lines = r.stderr.trim().split("\n");
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`${script}: could not fetch the Pulumi CLI v${PINNED} from get.pulumi.com`);
      expect(lines[0]).toContain("https://get.pulumi.com");
      expect(lines[0]).toContain(`${home}/versions/${PINNED}/bin`);
      expect(lines[0]).toContain(`npm run demo -- --stack ${args.length ? "helion" : "dev"}`);
    }
  });
});

describe("with a CLI present, every update and preview runs the policy pack", () => {
  // A stand-in for the CLI (none can be installed here): records each call's argv and backend.
  const fakeBin = path.join(dir, "bin");
  const calls = path.join(dir, "calls.log");
  const fake = `#!/usr/bin/env bash\necho "$* | backend=\${PULUMI_BACKEND_URL:-}" >>"${calls}"\n`;
  const run = (script: string, args: string[], env: Record<string, string> = {}) => {
    writeFileSync(calls, "");
    const r = npmRun(script, args, { PULUMI_HOME: path.join(dir, "home"), ...env });
    return { ...r, calls: readFileSync(calls, "utf8").trim().split("\n").filter(Boolean) };
  };
  beforeAll(() => {
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(path.join(fakeBin, "pulumi"), fake);
    chmodSync(path.join(fakeBin, "pulumi"), 0o755);
  });

  it("npm run up: dev stack in .pulumi-state, created on first use, policy pack, --yes", () => {
    const r = run("up", [], { PATH: `${fakeBin}:${basePath}` });
    expect(r.status, r.stderr).toBe(0);
    const backend = `backend=file://${ROOT}/.pulumi-state`;
    expect(r.calls).toEqual([
      `stack select --create --secrets-provider passphrase dev | ${backend}`,
      `up --stack dev --policy-pack policy --yes | ${backend}`,
    ]);
    expect(r.stdout).toContain(`using the Pulumi CLI at ${fakeBin}/pulumi`);
  });

  it("npm run preview -- --stack helion --diff: the OpenStack stack on your own backend, flags passed on", () => {
    const r = run("preview", ["--stack", "helion", "--diff"], { PATH: `${fakeBin}:${basePath}` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual([
      "stack select --create --secrets-provider passphrase helion | backend=",
      "preview --stack helion --policy-pack policy --diff | backend=",
    ]);
  });

  it("npm run up -- --stack=helion asks before changing anything (no --yes)", () => {
    const r = run("up", ["--stack=helion"], { PATH: `${fakeBin}:${basePath}` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls.at(-1)).toBe("up --stack helion --policy-pack policy | backend=");
  });

  it("prefers the pinned CLI the launcher cached under PULUMI_HOME", () => {
    const home = path.join(dir, "cached-home");
    const bin = path.join(home, "versions", PINNED, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, "pulumi"), fake);
    chmodSync(path.join(bin, "pulumi"), 0o755);
    const r = run("preview", ["--stack", "lab"], { PULUMI_HOME: home });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls.at(-1)).toBe(
      `preview --stack lab --policy-pack policy | backend=file://${ROOT}/.pulumi-state`,
    );
    expect(r.stdout).not.toContain("fetching");
  });

  it("refuses an unknown stack and a different policy pack, naming the argument", () => {
    const unknown = run("up", ["--stack", "nope"], { PATH: `${fakeBin}:${basePath}` });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(
      /--stack nope: no Pulumi\.nope\.yaml in the repository \(expected one of: .*helion/,
    );
    const pack = run("preview", ["--policy-pack", "elsewhere"], { PATH: `${fakeBin}:${basePath}` });
    expect(pack.status).toBe(2);
    expect(pack.stderr).toContain("the policy pack is always 'policy'");
    expect(unknown.calls).toEqual([]);
    expect(pack.calls).toEqual([]);
  });
});
