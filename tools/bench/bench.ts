// `npm run bench`: the edge's cost per request (issue 14). Deploys the dev stacks under a
// prefix of its own (2 webapp replicas), starts a load container (wrk, tools/bench/image)
// and a bare HAProxy reference on the stack's edge network, and measures side by side in
// one run: direct to the replicas, through Flotilla's HAProxy, through the bare HAProxy;
// on /healthz and GET /; at saturation (wrk, closed loop) and at fixed rates below it (open
// loop, tools/bench/lua/open.lua). Writes test/artifacts/bench.{json,md} and the plots
// (docs/img/bench-*.svg/png). See docs/bench.md.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs as parseArgv } from "node:util";
import { REPO_ROOT } from "../../components/repo";
import { networkName, PORTS } from "../../components/stacks";
import { serviceContainers } from "../../test/support/deploy";
import { stackImages } from "../../test/support/images";
import { onInterrupt, runAsCommand } from "../cli";
import { PATHS, type PathKey, type Point, summarisePath, TARGETS, type Target } from "./analysis";
import {
  type Deployment,
  deployStack,
  devConfig,
  exec,
  must,
  ORDER,
  randomSecrets,
  removeStack,
} from "./deploy";
import { svgsToPng, toSvg } from "./plots";
import {
  type BenchResult,
  type E2eRow,
  e2eSpec,
  latencySpec,
  type Machine,
  renderMarkdown,
  throughputSpec,
} from "./report";
import { latencyMs, mergeRuns, openLoopPlan, parseWrk, type WrkRun } from "./wrk";

export const LOAD_IMAGE = "flotilla-bench:1";
const VERSION = "0.1.0";

export interface BenchArgs {
  durationSeconds: number;
  rounds: number;
  smoke: boolean;
  keep: boolean;
  reuse?: string;
  connections: number;
  fractions: number[];
  out: string;
  plots: string;
  /** Images: <imageRepo>/<name>:<imageTag>. */
  imageRepo: string;
  imageTag: string;
  /** Deploy the webapp without a read-only root (workaround, see docs/bench.md). */
  webappWritableRoot: boolean;
  /** Re-render the report and plots of an earlier run's bench.json, measuring nothing. */
  fromJson?: string;
}

const USAGE = `usage: npm run bench -- [--duration S] [--rounds N] [--smoke] [--keep] [--reuse PREFIX]
                        [--connections N] [--out DIR] [--plots DIR]

  --duration S     seconds per measured point (default 10; smoke 2)
  --rounds N       rounds, target order reversed every other round (default 2; smoke 1)
  --smoke          a few seconds per point, only the 50 % rate (CI: checks that it works)
  --keep           leave the deployment up afterwards (prints its prefix)
  --reuse PREFIX   measure a running dev deployment with this prefix instead of deploying
  --connections N  wrk connections at saturation (default 32)
  --out DIR        where bench.json and bench.md go (default test/artifacts)
  --plots DIR      where the plots go (default docs/img)
  --image-repo R   deploy images R/<name>:<tag> (default flotilla)
  --image-tag T    (default ${VERSION})
  --webapp-writable-root  deploy the webapp without read_only (a workaround; docs/bench.md)
  --from-json F    re-render the report and plots from an earlier bench.json (no measuring)`;

export function parseArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = {
    durationSeconds: 10,
    rounds: 2,
    smoke: false,
    keep: false,
    connections: 32,
    fractions: [0.25, 0.5, 0.75],
    out: path.join(REPO_ROOT, "test", "artifacts"),
    plots: path.join(REPO_ROOT, "docs", "img"),
    imageRepo: "flotilla",
    imageTag: VERSION,
    webappWritableRoot: false,
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgv({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: "string" },
        rounds: { type: "string" },
        connections: { type: "string" },
        smoke: { type: "boolean" },
        keep: { type: "boolean" },
        "webapp-writable-root": { type: "boolean" },
        reuse: { type: "string" },
        "image-repo": { type: "string" },
        "image-tag": { type: "string" },
        "from-json": { type: "string" },
        out: { type: "string" },
        plots: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    // node:util names the argument in its message ("Unknown option '--fast'", "Option
    // '--out <value>' argument missing", "Unexpected argument 'x'"); the usage follows.
    const { code, message } = e as Error & { code?: string };
    const arg = /'([^' ]+)/.exec(message)?.[1] ?? argv.join(" ");
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new Error(`${arg}: expected a value\n\n${USAGE}`);
    throw new Error(`unknown argument '${arg}'\n\n${USAGE}`);
  }
  if (values.help) throw new Error(USAGE);
  const str = (k: string) => values[k] as string | undefined;
  const int = (flag: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min || n > max)
      throw new Error(`${flag}: expected a whole number from ${min} to ${max}, got '${v ?? ""}'`);
    return n;
  };
  const duration = str("duration") === undefined ? undefined : int("--duration", str("duration"), 1, 600);
  const rounds = str("rounds") === undefined ? undefined : int("--rounds", str("rounds"), 1, 10);
  if (str("connections") !== undefined) a.connections = int("--connections", str("connections"), 2, 1000);
  a.smoke = values.smoke === true;
  a.keep = values.keep === true;
  a.webappWritableRoot = values["webapp-writable-root"] === true;
  const reuse = str("reuse");
  if (reuse !== undefined) {
    if (!/^[a-z][a-z0-9-]*$/.test(reuse))
      throw new Error(`--reuse: expected a deployment prefix like flotilla-e2e, got '${reuse}'`);
    a.reuse = reuse;
  }
  for (const flag of ["image-repo", "image-tag"] as const) {
    const v = str(flag);
    if (v === undefined) continue;
    if (!/^[a-z0-9][a-z0-9._/:-]*$/i.test(v))
      throw new Error(`--${flag}: expected an image repository or tag, got '${v}'`);
    a[flag === "image-repo" ? "imageRepo" : "imageTag"] = v;
  }
  const fromJson = str("from-json");
  if (fromJson !== undefined) {
    if (!fromJson) throw new Error("--from-json: expected the path of a bench.json");
    a.fromJson = path.resolve(fromJson);
  }
  for (const flag of ["out", "plots"] as const) {
    const d = str(flag);
    if (d === undefined) continue;
    if (!d) throw new Error(`--${flag}: expected a directory`);
    a[flag] = path.resolve(d);
  }
  if (a.smoke) a.fractions = [0.5];
  a.durationSeconds = duration ?? (a.smoke ? 2 : 10);
  a.rounds = rounds ?? (a.smoke ? 1 : 2);
  return a;
}

/** Target order of a round: reversed every other round, so no target always goes first. */
export function roundOrder(round: number): Target[] {
  return round % 2 === 1 ? [...TARGETS] : [...TARGETS].reverse();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => console.log(`bench: ${s}`);

async function machine(loadBefore: string): Promise<Omit<Machine, "loadAfter" | "haproxy" | "images">> {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  const docker = (await exec("docker", ["version", "--format", "{{.Server.Version}}"])).stdout;
  const commit = (await exec("git", ["rev-parse", "HEAD"])).stdout;
  const dirty =
    (await exec("git", ["status", "--porcelain", "--", "images", "components", "tools/bench"])).stdout !== "";
  const haproxyImageCommit = (await exec("git", ["log", "-1", "--format=%h %cs %s", "--", "images/haproxy"]))
    .stdout;
  return {
    cpu,
    cores: os.cpus().length,
    kernel: os.release(),
    loadBefore,
    docker,
    commit,
    dirty,
    haproxyImageCommit: haproxyImageCommit.slice(0, 100),
  };
}
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

interface Endpoint {
  target: Target;
  /** host:port addresses: one for a proxy, one per replica for direct. */
  addrs: string[];
}

class Bench {
  readonly tag = randomBytes(3).toString("hex");
  readonly load: string;
  readonly bare: string;
  private tmp = mkdtempSync(path.join(os.tmpdir(), "flotilla-bench-"));
  constructor(
    readonly args: BenchArgs,
    readonly prefix: string,
  ) {
    this.load = `${prefix}-load-${this.tag}`;
    this.bare = `${prefix}-bare-${this.tag}`;
  }

  containersOf(stack: string): Promise<string[]> {
    return serviceContainers(this.prefix, stack);
  }

  async edgeAddress(id: string): Promise<string> {
    const net = networkName(this.prefix, "edge");
    const ip = await must("docker", [
      "inspect",
      "-f",
      `{{with index .NetworkSettings.Networks "${net}"}}{{.IPAddress}}{{end}}`,
      id,
    ]);
    if (!ip) throw new Error(`container ${id} has no address on ${net}`);
    return ip;
  }

  /** The load container and the bare HAProxy (same image as Flotilla's, a minimal config). */
  async start(replicaAddrs: string[], haproxyImage: string): Promise<void> {
    const net = networkName(this.prefix, "edge");
    await must(
      "docker",
      [
        "build",
        "-q",
        "--label",
        "flotilla.test=1",
        "-t",
        LOAD_IMAGE,
        path.join(REPO_ROOT, "tools/bench/image"),
      ],
      { timeoutMs: 600_000 },
    );
    const cfg = path.join(this.tmp, "bare.cfg");
    writeFileSync(cfg, bareConfig(replicaAddrs));
    await must("docker", [
      "run", "-d", "--name", this.bare, "--label", "flotilla.test=1", "--network", net,
      "-v", `${cfg}:/etc/haproxy/bare.cfg:ro`, "--entrypoint", "haproxy", haproxyImage, "-db", "-f", "/etc/haproxy/bare.cfg",
    ]); // biome-ignore format: argv
    await must("docker", [
      "run", "-d", "--name", this.load, "--label", "flotilla.test=1", "--network", net,
      "-v", `${path.join(REPO_ROOT, "tools/bench/lua")}:/bench:ro`, LOAD_IMAGE,
    ]); // biome-ignore format: argv
  }

  async stop(): Promise<void> {
    await exec("docker", ["rm", "-f", this.load, this.bare]);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  async wrk(args: string[], seconds: number): Promise<WrkRun> {
    const r = await exec("docker", ["exec", this.load, "wrk", "--timeout", "5s", ...args], {
      timeoutMs: (seconds + 60) * 1000,
    });
    if (r.code !== 0) throw new Error(`wrk ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
    return parseWrk(r.stdout);
  }

  /** Closed loop: `connections` over the endpoint's addresses (split evenly for direct). */
  async saturate(e: Endpoint, urlPath: string, seconds: number): Promise<WrkRun> {
    const per = Math.max(1, Math.floor(this.args.connections / e.addrs.length));
    const threads = Math.max(1, Math.floor(2 / e.addrs.length));
    const runs = await Promise.all(
      e.addrs.map((a) =>
        this.wrk(
          [
            "-t",
            String(threads),
            "-c",
            String(per),
            "-d",
            `${seconds}s`,
            "-s",
            "/bench/closed.lua",
            `http://${a}${urlPath}`,
          ],
          seconds,
        ),
      ),
    );
    return mergeRuns(runs);
  }

  /** Open loop at `rate` requests/s in total (split evenly over the addresses for direct). */
  async fixedRate(e: Endpoint, urlPath: string, rate: number, seconds: number): Promise<WrkRun> {
    const share = rate / e.addrs.length;
    const plan = openLoopPlan(share, {
      max: Math.floor(64 / e.addrs.length),
      min: Math.max(2, Math.floor(4 / e.addrs.length)),
    });
    const runs = await Promise.all(
      e.addrs.map((a) =>
        this.wrk(
          [
            "-t",
            String(plan.connections),
            "-c",
            String(plan.connections),
            "-d",
            `${seconds}s`,
            "-s",
            "/bench/open.lua",
            `http://${a}${urlPath}`,
            "--",
            String(plan.ratePerConnection),
            String(plan.connections),
          ],
          seconds,
        ),
      ),
    );
    return mergeRuns(runs);
  }

  /**
   * CPU per container of this deployment (and the load container) over `seconds`, in % of
   * one core, from the containers' cgroup v1 cpuacct counters (`docker stats` reads 0 % on
   * this engine); "n/a" where the counter cannot be read.
   */
  async cpu(seconds = 3): Promise<Record<string, string>> {
    const ps = await exec("docker", ["ps", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}"]);
    const mine = ps.stdout
      .split("\n")
      .map((l) => l.split("\t"))
      .filter(([, name]) => name?.startsWith(this.prefix));
    const usage = (id: string) => {
      try {
        return Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, "utf8"));
      } catch {
        return Number.NaN;
      }
    };
    const before = mine.map(([id]) => usage(id));
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const out: Record<string, string> = {};
    mine.forEach(([id, name], i) => {
      const pct = ((usage(id) - before[i]) / elapsedNs) * 100;
      out[containerRole(name, this.prefix, this.load, this.bare)] = Number.isFinite(pct)
        ? `${pct.toFixed(0)}%`
        : "n/a";
    });
    return out;
  }
}

/** A short name for a container: wrk, bare-haproxy, or the stack and task slot (webapp.1, haproxy). */
export function containerRole(name: string, prefix: string, load: string, bare: string): string {
  if (name === load) return "wrk";
  if (name === bare) return "bare-haproxy";
  const m = /^([a-z]+)_[a-z]+\.(\d+)?/.exec(name.slice(prefix.length + 1));
  return m ? `${m[1]}${m[2] ? `.${m[2]}` : ""}` : name;
}

/** The reference proxy: HAProxy with nothing but a static round-robin over the replicas. */
export function bareConfig(replicas: readonly string[]): string {
  return [
    "global",
    "    maxconn 4096",
    "defaults",
    "    mode http",
    "    timeout connect 1s",
    "    timeout client 30s",
    "    timeout server 30s",
    "frontend public",
    "    bind :8081",
    "    default_backend webapp",
    "backend webapp",
    "    balance roundrobin",
    ...replicas.map((a, i) => `    server web${i + 1} ${a}`),
    "",
  ].join("\n");
}

async function measure(
  b: Bench,
  endpoints: Record<Target, Endpoint>,
): Promise<{ points: Point[]; cpu: BenchResult["cpu"] }> {
  const { args } = b;
  const points: Point[] = [];
  const cpu: BenchResult["cpu"] = [];
  const secs = args.durationSeconds;
  const record = (
    p: Omit<Point, "rps" | "requests" | "errors" | "behind" | "seconds" | "latency" | "hist">,
    r: WrkRun,
  ): Point => {
    const point: Point = {
      ...p,
      rps: Math.round((r.requests / r.seconds) * 10) / 10,
      requests: r.requests,
      errors: r.errors,
      behind: r.behind,
      seconds: Math.round(r.seconds * 100) / 100,
      latency: latencyMs(r.hist),
      hist: r.hist,
    };
    points.push(point);
    const l = point.latency;
    log(
      `  ${p.path} ${p.target.padEnd(8)} ${p.mode === "saturation" ? "saturation" : `${p.reference ? "ref " : ""}${Math.round((p.fraction ?? 0) * 100)}% @${p.offered}/s`}: ` +
        `${point.rps} req/s, ${r.errors} errors, p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} p99.9 ${l.p999} ms${r.behind ? `, ${r.behind} late` : ""}`,
    );
    return point;
  };
  for (let round = 1; round <= args.rounds; round++) {
    const order = roundOrder(round);
    log(`round ${round}/${args.rounds}: order ${order.join(", ")}`);
    for (const pathKey of Object.keys(PATHS) as PathKey[]) {
      const urlPath = PATHS[pathKey];
      const sat = {} as Record<Target, number>;
      for (const t of order) {
        await b.saturate(endpoints[t], urlPath, 1); // warm-up, not recorded
        const sampling =
          round === 1 && !args.smoke && t !== "direct"
            ? sleep((secs * 1000) / 2).then(() => b.cpu())
            : Promise.resolve(undefined);
        const [r, c] = await Promise.all([b.saturate(endpoints[t], urlPath, secs), sampling]);
        if (c) cpu.push({ path: pathKey, target: t, containers: c });
        sat[t] = record({ round, path: pathKey, target: t, mode: "saturation" }, r).rps;
        if (r.requests === 0) throw new Error(`no response from ${t} on ${urlPath} at saturation`);
      }
      for (const fraction of args.fractions)
        for (const t of order) {
          const offered = Math.max(1, Math.round(sat[t] * fraction));
          record(
            { round, path: pathKey, target: t, mode: "fixed", fraction, offered },
            await b.fixedRate(endpoints[t], urlPath, offered, secs),
          );
        }
      // Direct and bare at Flotilla's 50 % rate: the added latency is compared at equal load.
      const ref = Math.max(1, Math.round(sat.flotilla * 0.5));
      for (const t of order.filter((x) => x !== "flotilla"))
        record(
          { round, path: pathKey, target: t, mode: "fixed", fraction: 0.5, offered: ref, reference: true },
          await b.fixedRate(endpoints[t], urlPath, ref, secs),
        );
    }
  }
  return { points, cpu };
}

async function imageFacts(images: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const i of images)
    out[i] = (await exec("docker", ["image", "inspect", "-f", "{{.Id}}", i])).stdout || "missing";
  return out;
}

export async function writeArtifacts(
  result: BenchResult,
  args: Pick<BenchArgs, "out" | "plots">,
): Promise<string[]> {
  mkdirSync(args.out, { recursive: true });
  mkdirSync(args.plots, { recursive: true });
  const specs: { name: string; title: string; spec: Record<string, unknown> }[] = [
    { name: "bench-throughput", title: "Throughput at saturation", spec: throughputSpec(result) },
    ...(Object.keys(result.paths) as PathKey[]).map((k) => ({
      name: `bench-latency-${k}`,
      title: `Latency per rate, GET ${PATHS[k]}`,
      spec: latencySpec(result, k),
    })),
  ];
  let e2e: E2eRow[] = [];
  try {
    e2e = JSON.parse(
      readFileSync(path.join(REPO_ROOT, "test/artifacts/e2e-results.json"), "utf8"),
    ) as E2eRow[];
  } catch {
    // no end-to-end results on this machine yet
  }
  if (e2e.length)
    specs.push({ name: "bench-e2e-faults", title: "End-to-end fault scenarios", spec: e2eSpec(e2e) });
  const files: string[] = [];
  const pngs: { svg: string; png: string }[] = [];
  for (const s of specs) {
    const svg = path.join(args.plots, `${s.name}.svg`);
    writeFileSync(svg, await toSvg(s.spec));
    files.push(svg);
    pngs.push({ svg, png: path.join(args.plots, `${s.name}.png`) });
  }
  try {
    files.push(...(await svgsToPng(pngs)));
  } catch (err) {
    log(`PNG rendering skipped: ${err instanceof Error ? err.message : String(err)}`);
  }
  const json = path.join(args.out, "bench.json");
  const md = path.join(args.out, "bench.md");
  const serialisable = { ...result, points: result.points.map(({ hist: _h, ...p }) => p) };
  writeFileSync(json, `${JSON.stringify(serialisable, null, 2)}\n`);
  const rel = (f: string) => path.relative(args.out, f);
  writeFileSync(
    md,
    renderMarkdown(
      result,
      specs.map((s) => ({ title: s.title, file: rel(path.join(args.plots, `${s.name}.svg`)) })),
    ),
  );
  return [json, md, ...files];
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.fromJson) {
    const result = JSON.parse(readFileSync(args.fromJson, "utf8")) as BenchResult;
    const files = await writeArtifacts(result, args);
    log(`re-rendered ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
    return 0;
  }
  const loadBefore = loadavg();
  const prefix = args.reuse ?? `flotilla-bench-${randomBytes(2).toString("hex")}`;
  // Stacks the benchmark does not deploy still have an image name in the render input.
  const images = stackImages(args.imageRepo, args.imageTag);
  const dataDir = mkdtempSync("/tmp/flotilla-bench-mysql-");
  let deployment: Deployment | undefined;
  const b = new Bench(args, prefix);
  let interrupted = false;
  const stopListening = onInterrupt(() => {
    interrupted = true;
    log("interrupted: cleaning up");
  });
  try {
    if (!args.reuse) {
      const config = devConfig({
        "flotilla:mysql": { dataPath: dataDir },
        "flotilla:webapp": { replicas: 2 },
        // Plain HTTP serves the site (no 301 to HTTPS): the benchmark measures HTTP only.
        "flotilla:haproxy": { redirectHttp: false },
      });
      const d: Deployment = {
        prefix,
        config,
        images,
        secrets: randomSecrets(),
      };
      deployment = d;
      await must("bash", ["scripts/host/local-swarm.sh"]);
      const t0 = Date.now();
      for (const s of ORDER) {
        log(`deploying ${s} (${prefix})`);
        await deployStack(d, s, args.webappWritableRoot);
        if (interrupted) throw new Error("interrupted");
      }
      log(`stacks up in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    const config = deployment?.config ?? devConfig({});
    const webapps = await b.containersOf("webapp");
    const [haproxy] = await b.containersOf("haproxy");
    if (webapps.length < 2 || !haproxy)
      throw new Error(
        `expected 2 webapp replicas and a HAProxy of ${prefix}, found ${webapps.length} and ${haproxy ? 1 : 0}`,
      );
    const replicaAddrs = await Promise.all(
      webapps.slice(0, 2).map(async (id) => `${await b.edgeAddress(id)}:${config.webapp.port}`),
    );
    const haproxyImage = (await must("docker", ["inspect", "-f", "{{.Config.Image}}", haproxy])).split(
      "@",
    )[0];
    // The image IDs the measured containers run (a tag may be rebuilt during the run).
    const running: Record<string, string> = {
      [haproxyImage]: await must("docker", ["inspect", "-f", "{{.Image}}", haproxy]),
      [images.webapp]: await must("docker", ["inspect", "-f", "{{.Image}}", webapps[0]]),
    };
    await b.start(replicaAddrs, haproxyImage);
    const endpoints: Record<Target, Endpoint> = {
      direct: { target: "direct", addrs: replicaAddrs },
      flotilla: { target: "flotilla", addrs: [`${await b.edgeAddress(haproxy)}:${PORTS.haproxyHttp}`] },
      bare: { target: "bare", addrs: [`${b.bare}:8081`] },
    };
    // Ready when every target answers GET / with 2xx only (HAProxy has found both replicas).
    for (const t of TARGETS) {
      const deadline = Date.now() + 120_000;
      for (;;) {
        // open.lua counts only 2xx as answered: a redirect or an error page is not "ready".
        const url = `http://${endpoints[t].addrs[0]}/`;
        const r = await b
          .wrk(["-t", "4", "-c", "4", "-d", "1s", "-s", "/bench/open.lua", url, "--", "5", "4"], 1)
          .catch(() => undefined);
        if (r && r.requests > 0 && r.errors === 0) break;
        if (Date.now() > deadline) throw new Error(`${t} did not answer GET / without errors within 120 s`);
        await sleep(1000);
      }
    }
    log(`targets: ${TARGETS.map((t) => `${t} ${endpoints[t].addrs.join(" ")}`).join("; ")}`);
    const haproxyVersion =
      (await exec("docker", ["exec", b.bare, "haproxy", "-v"])).stdout.split("\n")[0] ?? "unknown";
    const m0 = await machine(loadBefore);
    const { points, cpu } = await measure(b, endpoints);
    const result: BenchResult = {
      date: new Date().toISOString(),
      settings: {
        durationSeconds: args.durationSeconds,
        rounds: args.rounds,
        fractions: args.fractions,
        connections: args.connections,
        smoke: args.smoke,
        replicas: 2,
        deployment: prefix,
        webappWritableRoot: args.webappWritableRoot,
      },
      machine: {
        ...m0,
        loadAfter: loadavg(),
        haproxy: haproxyVersion,
        images: { ...running, ...(await imageFacts([LOAD_IMAGE])) },
      },
      paths: { healthz: summarisePath(points, "healthz"), root: summarisePath(points, "root") },
      points,
      cpu,
    };
    const files = await writeArtifacts(result, args);
    for (const p of Object.values(result.paths))
      log(
        `${p.path}: flotilla/direct ${p.ratios.flotillaOverDirect}×, flotilla/bare ${p.ratios.flotillaOverBare}×, added p50 at 50 % ${p.ratios.addedP50VsDirectMs} ms (vs bare ${p.ratios.addedP50VsBareMs} ms)`,
      );
    log(`wrote ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
    return 0;
  } finally {
    await b.stop();
    if (deployment && !args.keep) {
      log(`removing ${prefix}`);
      for (const s of [...ORDER].reverse()) await removeStack(deployment, s);
      const vols = (await exec("docker", ["volume", "ls", "-q", "--filter", `name=${prefix}-`])).stdout
        .split("\n")
        .filter(Boolean);
      for (let i = 0; i < 30 && vols.length; i++) {
        if ((await exec("docker", ["volume", "rm", ...vols])).code === 0) break;
        await sleep(1000);
      }
    } else if (deployment)
      log(`left running: prefix ${prefix} (remove with the stack-remove script or rerun without --keep)`);
    if (!args.keep || !deployment) rmSync(dataDir, { recursive: true, force: true });
    stopListening();
  }
}

if (require.main === module) runAsCommand("bench", main, 1);
