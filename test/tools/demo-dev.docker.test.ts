// `npm run demo -- --stack dev` for real: the `dev` stack brought up from nothing by the
// rehearsal executor running the program's own resources (docker:Image builds, the local
// Swarm, the stacks' deploy commands), then HAProxy answers on the stack's published
// port, the stats page wants the password from the RAM-backed secrets file, and
// `--down` removes every stack, secret and network the bring-up created; a second
// `--down` does nothing. Uses the real `flotilla` prefix and the ports of Pulumi.dev.yaml.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { certificateFile, secretsFile } from "../../tools/demo";
import { journalPath } from "../../tools/executor/journal";
import { basicAuth, request } from "../support/https";

const ROOT = path.resolve(__dirname, "..", "..");
const ARTIFACT = path.join(ROOT, "test", "artifacts", "demo-dev.json");

function dockerOk(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}
const available = dockerOk();
if (!available && process.env.FLOTILLA_REQUIRE_DOCKER)
  throw new Error("FLOTILLA_REQUIRE_DOCKER is set but the Docker engine does not answer");

const devConfig = parseYaml(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config as Record<
  string,
  unknown
>;
const haproxy = (devConfig["flotilla:haproxy"] ?? {}) as {
  httpPort?: number;
  httpsPort?: number;
  statsPort?: number;
};
const HTTP_PORT = haproxy.httpPort ?? 8080;
const HTTPS_PORT = haproxy.httpsPort ?? 8443;
const STATS_PORT = haproxy.statsPort ?? 8404;
const STACKS = ["consul", "mysql", "webapp", "haproxy"].map((s) => `flotilla-${s}`);

function lines(argv: string[]): string[] {
  return execFileSync("docker", argv, { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}
const stacks = () => lines(["stack", "ls", "--format", "{{.Name}}"]);
const secrets = () => lines(["secret", "ls", "--format", "{{.Name}}"]);
const networks = () => lines(["network", "ls", "--format", "{{.Name}}"]);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}

function demo(...args: string[]): { code: number; out: string; seconds: number } {
  const t0 = Date.now();
  // One node process (no npx/tsx wrapper), so a timeout's SIGTERM reaches the demo, which
  // then stops its running actions and keeps its journal for the --down in afterAll.
  const r = spawnSync(process.execPath, ["--import", "tsx", "tools/demo.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 1_500_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
}

/** Status (and Location) of a GET; https URLs are verified against the stack's own certificate, written by the demo. */
function answer(url: string, auth?: string) {
  const ca = url.startsWith("https:") ? readFileSync(certificateFile("dev")) : undefined;
  return request(url, { ca, headers: auth ? basicAuth(auth) : {} });
}
const get = async (url: string, auth?: string) => (await answer(url, auth)).status;

/** First 200 from the URL within `seconds` (the stack converged, HAProxy may still be resolving its backends). */
async function firstOk(url: string, seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let last = 0;
  while (Date.now() < deadline) {
    last = await get(url).catch(() => 0);
    if (last === 200) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

describe.skipIf(!available)("demo --stack dev: the dev stack from nothing by the rehearsal executor", () => {
  const before = { stacks: [] as string[], secrets: [] as string[], networks: [] as string[] };
  let up: ReturnType<typeof demo>;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    // Preconditions, each a failure with its reason rather than a silent skip.
    if (existsSync(journalPath(ROOT, "dev")))
      throw new Error(
        "a dev rehearsal is already up here (.rehearsal/dev): run `npm run demo -- --stack dev --down` first",
      );
    const ours = STACKS.filter((s) => stacks().includes(s));
    if (ours.length)
      throw new Error(
        `stacks ${ours.join(", ")} already exist (a dev stack deployed by other means): remove them first`,
      );
    for (const port of [HTTP_PORT, HTTPS_PORT, STATS_PORT])
      if (!(await portFree(port)))
        throw new Error(
          `port ${port} (Pulumi.dev.yaml) is taken by something that is not this test's: free it to run the dev rehearsal`,
        );
    before.stacks = stacks();
    before.secrets = secrets();
    before.networks = networks();
    up = demo("--stack", "dev");
    figures.upSeconds = up.seconds;
    // Each action's own duration, from the executor's progress lines ("✓ <type> <name> (12.3 s)").
    for (const m of up.out.matchAll(/✓ (\S+) (\S+) \(([\d.]+) s\)/g))
      figures[`${m[2]} (${m[1]})`] = Number(m[3]);
    // From nothing with every image in the layer cache this is a few minutes; a cold image
    // build (the webapp's npm ci) on a busy 2-core machine can take much longer.
  }, 1_560_000);

  afterAll(() => {
    // Leave nothing behind even when an assertion failed.
    if (existsSync(journalPath(ROOT, "dev"))) demo("--stack", "dev", "--down");
    if (Object.keys(figures).length) {
      execFileSync("mkdir", ["-p", path.dirname(ARTIFACT)]);
      writeFileSync(ARTIFACT, `${JSON.stringify(figures, null, 2)}\n`);
      console.log(`demo-dev figures: ${JSON.stringify(figures)}`);
    }
  });

  it("brings the stack up, prints the URLs and where the passwords are, never a password", async () => {
    expect(up.out, up.out).toContain("is up in");
    expect(up.code, up.out).toBe(0);
    expect(up.out).toContain("REHEARSAL without Pulumi state");
    expect(up.out).toContain("`npm run up` is the real thing");
    expect(up.out).toContain(`publicUrl: https://localhost:${HTTPS_PORT}/`);
    expect(up.out).toContain(`statsUrl: https://localhost:${STATS_PORT}/stats`);
    expect(up.out).toMatch(/tlsCertificate: self-signed/);
    expect(readFileSync(certificateFile("dev"), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const file = secretsFile("dev");
    expect(file).toBeDefined();
    expect(up.out).toContain(`in ${file} (RAM only, mode 0600)`);
    const st = statSync(String(file));
    expect(st.mode & 0o777).toBe(0o600);
    const password = JSON.parse(readFileSync(String(file), "utf8")).statsPassword as string;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(up.out).not.toContain(password);
    expect(stacks()).toEqual(expect.arrayContaining(STACKS));
  });

  it("serves the app over HTTPS with the stack's certificate (HTTP redirects there), and the stats page wants the password", async () => {
    const t0 = Date.now();
    // localhost: the name the certificate was made for (verified against it, not skipped).
    expect(await firstOk(`https://localhost:${HTTPS_PORT}/`, 60)).toBe(200);
    figures.firstOkAfterUpSeconds = (Date.now() - t0) / 1000;
    const file = String(secretsFile("dev"));
    const password = JSON.parse(readFileSync(file, "utf8")).statsPassword as string;
    const user = String(
      (devConfig["flotilla:haproxy"] as { statsUser?: string } | undefined)?.statsUser ?? "admin",
    );
    const plain = await answer(`http://127.0.0.1:${HTTP_PORT}/`);
    expect(plain.status).toBe(301);
    expect(plain.location).toMatch(/^https:\/\//);
    expect(await get(`https://localhost:${STATS_PORT}/stats`)).toBe(401);
    expect(await get(`https://localhost:${STATS_PORT}/stats`, `${user}:wrong-password`)).toBe(401);
    expect(await get(`https://localhost:${STATS_PORT}/stats`, `${user}:${password}`)).toBe(200);
  });

  it("refuses a second bring-up while the first is up", () => {
    const again = demo("--stack", "dev");
    expect(again.code).toBe(1);
    expect(again.out).toContain("is already up");
    expect(again.out).toContain("--down");
  });

  it("--down removes every stack, secret and network it created; a second --down is a no-op", () => {
    // Only the dev stack's own names: other work on this engine creates secrets meanwhile.
    const created = {
      secrets: secrets().filter((s) => !before.secrets.includes(s) && /^flotilla-[a-z]+_/.test(s)),
      networks: networks().filter((n) => !before.networks.includes(n) && /^flotilla-[a-z]+$/.test(n)),
    };
    expect(created.secrets.length).toBeGreaterThan(0);
    const down = demo("--stack", "dev", "--down");
    figures.downSeconds = down.seconds;
    expect(down.code, down.out).toBe(0);
    expect(stacks().filter((s) => STACKS.includes(s))).toEqual([]);
    expect(secrets().filter((s) => created.secrets.includes(s))).toEqual([]);
    expect(networks().filter((n) => created.networks.includes(n))).toEqual([]);
    expect(existsSync(journalPath(ROOT, "dev"))).toBe(false);
    expect(existsSync(String(secretsFile("dev")))).toBe(false);
    const again = demo("--stack", "dev", "--down");
    expect(again.code).toBe(0);
    expect(again.out).toContain("nothing of stack 'dev' to remove");
  });
});
