// `npm run demo -- --stack dev` for real: the `dev` stack brought up from nothing by the
// rehearsal executor running the program's own resources (docker:Image builds, the local
// Swarm, the stacks' deploy commands), then HAProxy answers on the stack's published
// port and the stats page wants the password from the RAM-backed secrets file. Then the
// second `pulumi up` (issue 20), by the same executor from its state, each under 50 req/s
// of HTTPS: unchanged (nothing runs), a rotated stats password (HAProxy's stack updated in
// place, the others untouched) and an images.version bump (every stack rolled in place,
// none removed); what ran is read from the executor's steps, the figures go to
// test/artifacts/demo-dev.json. Last, `--down` removes every stack, secret and network
// the bring-up created; a second `--down` does nothing. Uses the real `flotilla` prefix
// and the ports of Pulumi.dev.yaml.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { certificateFile, secretsFile } from "../../tools/demo";
import type { Step } from "../../tools/executor/engine";
import { execute } from "../../tools/executor/executor";
import { journalPath } from "../../tools/executor/journal";
import { basicAuth, request } from "../support/https";
import { startLoad } from "../support/load";

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
const MONITORING_PORT = (devConfig["flotilla:monitoring"] as { port?: number } | undefined)?.port ?? 9090;
/** The release the version-bump row moves to (the committed stacks run the default, 0.1.0). */
const BUMPED = "0.1.1";
const STACKS = ["consul", "mysql", "webapp", "haproxy"].map((s) => `flotilla-${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lines(argv: string[]): string[] {
  return execFileSync("docker", argv, { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}
const stacks = () => lines(["stack", "ls", "--format", "{{.Name}}"]);
const secrets = () => lines(["secret", "ls", "--format", "{{.Name}}"]);
const networks = () => lines(["network", "ls", "--format", "{{.Name}}"]);
/** The dev stacks' services by name, with their IDs. */
function serviceIds(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines(["service", "ls", "--format", "{{.Name}} {{.ID}}"])) {
    const [name, id] = l.split(" ");
    if (/^flotilla-[a-z]+_/.test(name)) out[name] = id;
  }
  return out;
}

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
  const secondUps: Record<string, unknown>[] = [];

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
      writeFileSync(ARTIFACT, `${JSON.stringify({ ...figures, secondUps }, null, 2)}\n`);
      console.log(`demo-dev figures: ${JSON.stringify(figures)}`);
    }
  });

  it("brings the stack up, prints the URLs and where the passwords are, never a password", async () => {
    expect(up.out, up.out).toContain("is up in");
    expect(up.code, up.out).toBe(0);
    expect(up.out).toContain("REHEARSAL with its own state");
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

  /**
   * One second `up` (the engine's second run, by the rehearsal executor from its state)
   * under 50 req/s of HTTPS GET / (keep-alive, verified against the stack's certificate),
   * with the services' IDs before and after: a stack removed and deployed again would
   * give new IDs.
   */
  const secondUp = async (row: string, options: { replace?: string[]; config?: Record<string, unknown> }) => {
    const before = serviceIds();
    const load = startLoad({
      url: `https://127.0.0.1:${HTTPS_PORT}/`,
      rate: 50,
      connection: "keep-alive",
      ca: readFileSync(certificateFile("dev"), "utf8"),
    });
    await sleep(2000);
    const log: string[] = [];
    const t0 = Date.now();
    const result = await execute({ stack: "dev", log: (l) => log.push(l), ...options });
    const seconds = (Date.now() - t0) / 1000;
    // Until the rolled services answer again, then a little more.
    expect(await firstOk(`https://localhost:${HTTPS_PORT}/`, 120)).toBe(200);
    await sleep(3000);
    const { summary } = await load.stop();
    const ran = result.steps.filter((s) => s.op !== "same");
    const rowFigures = {
      row,
      seconds,
      sent: summary.sent,
      failed: summary.failed + summary.unknown,
      p99: summary.p99,
      steps: ran.map((s) => `${s.op} ${s.name}`),
      failures: summary.failures.slice(0, 5),
    };
    secondUps.push(rowFigures);
    console.log(`second up: ${JSON.stringify(rowFigures)}`);
    writeFileSync(
      path.join(path.dirname(ARTIFACT), `demo-dev-up-${secondUps.length + 1}.log`),
      `${log.join("\n")}\n`,
    );
    return { result, ran, before, after: serviceIds(), summary };
  };
  const deploys = (ran: Step[], op: string) =>
    ran
      .filter((s) => s.op === op && s.name.endsWith("-deploy"))
      .map((s) => s.name)
      .sort();

  it("an unchanged second up runs nothing: every resource the same, no request failed", async () => {
    const { ran, before, after, summary } = await secondUp("unchanged", {});
    expect(ran.map((s) => `${s.op} ${s.name}`)).toEqual([]);
    expect(after).toEqual(before);
    expect(summary.failed + summary.unknown, summary.failures.join("\n")).toBe(0);
  }, 600_000);

  it("a rotated monitoring password (--replace of its RandomPassword): only the monitoring stack updated in place, no request failed; the new password opens Prometheus", async () => {
    // Not the stats password: dev has one HAProxy on host ports, so any change of its stack
    // closes the port while the task is replaced (docs/edge.md); the lab's rows cover it.
    const old = JSON.parse(readFileSync(String(secretsFile("dev")), "utf8")).monitoringPassword as string;
    const { result, ran, before, after, summary } = await secondUp("monitoring password rotated", {
      replace: ["flotilla-monitoringPassword"],
    });
    expect(ran.find((s) => s.name === "flotilla-monitoringPassword")?.op).toBe("replace");
    expect(deploys(ran, "update")).toEqual(["flotilla-monitoring-deploy"]);
    // No removal ran (its delete is `docker stack rm`), no other deploy ran.
    expect(ran.filter((s) => s.name.endsWith("-removal"))).toEqual([]);
    expect(ran.filter((s) => s.name.endsWith("-deploy") && s.op !== "update")).toEqual([]);
    // In place: the same services (a stack removed and deployed again would have new IDs).
    expect(after).toEqual(before);
    expect(summary.failed + summary.unknown, summary.failures.join("\n")).toBe(0);
    const fresh = result.secretOutputs.monitoringPassword as string;
    expect(fresh).not.toBe(old);
    const user = String((devConfig["flotilla:monitoring"] as { user?: string } | undefined)?.user ?? "admin");
    const prometheus = `http://127.0.0.1:${MONITORING_PORT}/api/v1/status/buildinfo`;
    expect(await get(prometheus, `${user}:${fresh}`)).toBe(200);
    expect(await get(prometheus, `${user}:${old}`)).toBe(401);
  }, 900_000);

  it("Swarm drift put back: a hand-run scale is reported by --check-drift, and an up that replaces the stack's deploy command re-applies its document in place, no request failed", async () => {
    // docs/operations.md ("Drift inside Swarm"): an unchanged up runs no deploy (a Command
    // has no read), so the way back is to replace the deploy, whose replacement has no delete.
    const drift = () =>
      spawnSync("bash", ["scripts/host/stack-deploy.sh", "--stack", "flotilla-webapp", "--check-drift"], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      });
    const service = "flotilla-webapp_webapp";
    const replicas = () =>
      lines(["service", "inspect", "-f", "{{.Spec.Mode.Replicated.Replicas}}", service])[0];
    const deployed = replicas();
    expect(drift().status).toBe(0);
    lines(["service", "scale", "--detach", `${service}=${Number(deployed) + 1}`]);
    const seen = drift();
    expect(seen.status, seen.stderr).toBe(3);
    expect(seen.stdout).toMatch(new RegExp(`^\\+${service} .*replicas=${Number(deployed) + 1}`, "m"));
    const { ran, before, after, summary } = await secondUp("Swarm drift put back", {
      replace: ["flotilla-webapp-deploy"],
    });
    // The deploy replaced (and its original's delete, which has no command): nothing else.
    expect([...new Set(ran.map((s) => s.name))]).toEqual(["flotilla-webapp-deploy"]);
    expect(ran.map((s) => s.op)).toContain("replace");
    expect(replicas()).toBe(deployed);
    const clean = drift();
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(after).toEqual(before);
    expect(summary.failed + summary.unknown, summary.failures.join("\n")).toBe(0);
  }, 600_000);

  it("an images.version bump: every image rebuilt and every stack rolled in place, none removed (dev's one MariaDB and one HAProxy restart: failures counted, not asserted)", async () => {
    const { ran, before, after, summary } = await secondUp("images.version bumped", {
      config: { "flotilla:images": JSON.stringify({ version: BUMPED }) },
    });
    const stacks = Object.keys(before)
      .map((s) => s.split("_")[0])
      .filter((s, i, all) => all.indexOf(s) === i);
    expect(deploys(ran, "update")).toEqual(stacks.map((s) => `${s}-deploy`).sort());
    expect(ran.filter((s) => s.name.endsWith("-removal"))).toEqual([]);
    expect(after).toEqual(before);
    // Every service runs a new-version image: locally a service names its image by ID
    // (no registry digest here), so each must be the ID of a flotilla/<name>:BUMPED.
    const bumped = new Set(
      lines(["image", "ls", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        .filter((l) => l.split(" ")[0].endsWith(`:${BUMPED}`))
        .map((l) => l.split(" ")[1]),
    );
    for (const service of Object.keys(after)) {
      const image = lines([
        "service",
        "inspect",
        "-f",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        service,
      ])[0];
      expect(bumped.has(image.match(/sha256:[0-9a-f]{64}$/)?.[0] ?? image), `${service}: ${image}`).toBe(
        true,
      );
    }
    // dev has one MariaDB and one HAProxy: their restarts are seen by requests (each
    // GET / writes its session row). Counted, not hidden: see the printed row.
    expect(summary.sent).toBeGreaterThan(0);
  }, 1_200_000);

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
