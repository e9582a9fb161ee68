// Helpers shared by the webapp, haproxy and keepalived suites: the containers they
// start (MariaDB, a Consul server, webapp replicas), HTTP from the host to published
// loopback ports, and a bounded load loop.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { get as httpGet } from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import { STACK_CATALOG } from "../../components/stacks/catalog";
import { WEBAPP_METRICS_PORT, WEBAPP_USER } from "../../components/stacks/renderWebapp";
import { docker, runContainer } from "../support/docker";
import { image, labels, waitFor } from "./s6Support";

/** The secrets every web suite mounts at /run/secrets (random per run, in RAM). */
export function webSecrets(): Record<string, string> {
  return {
    mysql_root_password: randomBytes(18).toString("base64url"),
    mysql_password: randomBytes(18).toString("base64url"),
    haproxy_stats_password: randomBytes(18).toString("base64url"),
  };
}

/** docker without blocking the event loop (for actions during a load loop); resolves to stdout. */
export async function dockerAsync(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("docker", args, { timeout: 60_000 });
  return stdout.trim();
}

/** "127.0.0.1:NNNN": where a container's port is published on the host. */
export function published(container: string, port: number): string {
  const line = docker(["port", container, `${port}/tcp`]).split("\n")[0];
  if (!line) throw new Error(`${container} publishes no ${port}/tcp`);
  return line.replace("0.0.0.0", "127.0.0.1");
}

export interface HttpResult {
  status: number;
  body: string;
  /** `name=value` of every Set-Cookie. */
  cookies: string[];
  /** Every Set-Cookie header in full (attributes included). */
  setCookies: string[];
}

/** One HTTP request from the test process; throws on network errors and timeouts. */
export async function http(
  url: string,
  options: {
    method?: string;
    cookie?: string;
    json?: unknown;
    auth?: string;
    timeoutMs?: number;
    headers?: Record<string, string>;
  } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.json !== undefined) headers["content-type"] = "application/json";
  if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
  const res = await fetch(url, {
    method: options.method ?? "GET",
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  const setCookies = res.headers.getSetCookie();
  const cookies = setCookies.map((c) => c.split(";")[0]);
  return { status: res.status, body: await res.text(), cookies, setCookies };
}

/** Poll until `url` answers `status` (bounded). */
export async function waitHttp(url: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const r = await http(url, { timeoutMs: 2000 });
      if (r.status === status) return;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} to answer ${status} (last: ${last})`);
}

/** A labelled network; returns its name. */
export function network(suite: string, name: string, extra: string[] = []): string {
  docker(["network", "create", ...labels(suite), ...extra, name]);
  return name;
}

/** The flotilla/mysql container (database app, user app); waits until healthy. */
export async function startMysql(
  suite: string,
  name: string,
  net: string,
  secretsDir: string,
): Promise<void> {
  runContainer({
    name,
    network: net,
    suite,
    env: ["MYSQL_DATABASE=app", "MYSQL_USER=app"],
    volumes: [`${secretsDir}:/run/secrets:ro`],
    image: image("mysql"),
  });
  await waitFor(`${name} healthy`, 120_000, () =>
    docker(["inspect", "-f", "{{.State.Health.Status}}", name]) === "healthy" ? true : undefined,
  );
}

/** A one-server Consul cluster, its HTTP API published on loopback; waits for a leader. */
export async function startConsulServer(suite: string, name: string, net: string): Promise<string> {
  runContainer({
    name,
    hostname: name,
    network: net,
    suite,
    env: ["CONSUL_BOOTSTRAP_EXPECT=1"],
    publish: ["127.0.0.1::8500"],
    image: image("consul"),
  });
  const api = `http://${published(name, 8500)}`;
  await waitFor(`${name} leader`, 60_000, () => {
    const r = docker(["exec", name, "consul", "info"]);
    return /leader_addr = \d/.test(r) ? true : undefined;
  });
  return api;
}

/** The secret files the webapp image reads: its stack's, and the optional session key. */
const WEBAPP_SECRETS = new Set<string>([
  ...(STACK_CATALOG.find((s) => s.name === "webapp")?.secrets ?? []),
  "webapp_session_secret",
]);

/**
 * The webapp's secrets from `secretsDir` (only those), as the rendered stack gives them
 * (owner WEBAPP_USER, mode 0400): copies in a subdirectory `.webapp` of that RAM
 * directory (removed with it). Needs root, as Docker does.
 */
export function webappSecretsDir(secretsDir: string): string {
  const dir = path.join(secretsDir, ".webapp");
  if (existsSync(dir)) return dir;
  if (process.getuid?.() !== 0) {
    throw new Error(`webappSecretsDir: giving ${secretsDir}'s files to uid ${WEBAPP_USER.uid} needs root`);
  }
  mkdirSync(dir, { mode: 0o700 });
  for (const name of readdirSync(secretsDir)) {
    const source = path.join(secretsDir, name);
    if (!WEBAPP_SECRETS.has(name) || !statSync(source).isFile()) continue;
    const copy = path.join(dir, name);
    copyFileSync(source, copy);
    chmodSync(copy, 0o400);
    chownSync(copy, WEBAPP_USER.uid, WEBAPP_USER.gid);
  }
  chownSync(dir, WEBAPP_USER.uid, WEBAPP_USER.gid);
  chmodSync(dir, 0o500);
  return dir;
}

/**
 * A webapp replica (hostname = name) against `mysqlHost`, joining `consul` when given,
 * locked down as the rendered stack runs it: read-only root filesystem, no capabilities
 * (and, as on Swarm, no `--security-opt no-new-privileges`: the image sets it itself).
 * Publishes the app port and the metrics port on loopback unless `publish` is false.
 */
export function startWebapp(
  suite: string,
  name: string,
  net: string,
  secretsDir: string,
  options: {
    mysqlHost: string;
    consul?: string;
    publish?: boolean;
    env?: Record<string, string>;
    /** More `docker run` flags (e.g. a faster `--health-interval`). */
    flags?: string[];
  },
): void {
  const env = {
    MYSQL_HOST: options.mysqlHost,
    MYSQL_DATABASE: "app",
    MYSQL_USER: "app",
    ...(options.consul ? { CONSUL_RETRY_JOIN: options.consul } : {}),
    ...options.env,
  };
  runContainer({
    name,
    hostname: name,
    network: net,
    suite,
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    flags: ["--read-only", "--cap-drop", "ALL", ...(options.flags ?? [])],
    volumes: [`${webappSecretsDir(secretsDir)}:/run/secrets:ro`],
    publish: options.publish === false ? [] : ["127.0.0.1::8080", `127.0.0.1::${WEBAPP_METRICS_PORT}`],
    image: image("webapp"),
  });
}

/** A replica's Prometheus text, fetched inside its container (no published port needed, e.g. on Swarm). */
export async function webappMetrics(container: string): Promise<string> {
  const script = `fetch("http://127.0.0.1:${WEBAPP_METRICS_PORT}/metrics").then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); process.stdout.write(await r.text()); }).catch((e) => { console.error(String(e)); process.exit(1); })`;
  return dockerAsync(["exec", container, "node", "-e", script]);
}

/**
 * GET on a connection of its own (no keep-alive reuse): each request stands for an
 * independent client, and a client-side reuse race cannot pass for a failed request.
 */
function freshConnectionGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/**
 * A bounded load loop: `rate` requests per second for `seconds`, each with a 5 s
 * timeout; `during` runs once `afterMs` into the loop. Returns what was sent, what
 * failed (error or non-2xx) and which hosts answered.
 */
export async function loadLoop(
  url: string,
  rate: number,
  seconds: number,
  during?: { afterMs: number; action: () => Promise<unknown> },
): Promise<{ sent: number; failed: number; failures: string[]; hosts: Map<string, number> }> {
  const total = rate * seconds;
  const hosts = new Map<string, number>();
  const failures: string[] = [];
  const pending: Promise<void>[] = [];
  const start = Date.now();
  let acted: Promise<unknown> | undefined;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    if (during && !acted && Date.now() - start >= during.afterMs) acted = during.action();
    pending.push(
      freshConnectionGet(url, 5000).then(
        (r) => {
          if (r.status < 200 || r.status > 299) failures.push(`${r.status} ${r.body.slice(0, 100)}`);
          else {
            const host = String((JSON.parse(r.body) as { host: string }).host);
            hosts.set(host, (hosts.get(host) ?? 0) + 1);
          }
        },
        (error: unknown) => {
          failures.push(String(error));
        },
      ),
    );
  }
  await Promise.all(pending);
  await acted;
  return { sent: total, failed: failures.length, failures, hosts };
}

/** Poll an async `probe` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
