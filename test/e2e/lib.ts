// Helpers of the end-to-end suite: deploy rendered stacks with the real deploy script,
// find published ports, generate steady load (autocannon) and summarise it.
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import autocannon from "autocannon";
import type { FlotillaConfig, SecretValueKey } from "../../components/config";
import {
  composeYaml,
  DEPLOY_SCRIPT,
  deployArgs,
  deployStdin,
  REMOVE_SCRIPT,
  removeArgs,
  renderStack,
  SECRET_SOURCES,
  SECRET_TARGETS,
  type SecretTarget,
  STACK_NETWORKS,
  STACK_SECRETS,
  type StackImage,
  type StackName,
  secretName,
  serviceName,
} from "../../components/stacks";

// Programs run through the one test-support helper (bounded, no shell).
import { ok, run } from "../support/process";

export { ok, run };

/**
 * A self-signed ECDSA certificate then its key, as HAProxy's `crt` reads it (openssl
 * writes it to stdout only: the key never touches the disk). For localhost by default.
 */
export function selfSignedPem(subjectAltName = "DNS:localhost,IP:127.0.0.1"): string {
  const out = execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "-",
      "-out",
      "-",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      `subjectAltName=${subjectAltName}`,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const cert = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  const key = out.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/)?.[0];
  if (!cert || !key) throw new Error("openssl req wrote no certificate and key");
  return `${cert}\n${key}\n`;
}

/** Fresh random secrets, in memory only (what the Secrets component would generate). */
export function randomSecrets(): Record<SecretValueKey, string> {
  const pw = () => randomBytes(24).toString("base64url");
  return {
    mysqlRootPassword: pw(),
    mysqlPassword: pw(),
    statsPassword: pw(),
    consulGossipKey: randomBytes(32).toString("base64"),
    consulMasterToken: randomUUID(),
    consulAgentToken: randomUUID(),
    consulHaproxyToken: randomUUID(),
    consulWebappToken: randomUUID(),
    consulPrometheusToken: randomUUID(),
    metricsPassword: pw(),
    monitoringPassword: pw(),
    mysqlExporterPassword: pw(),
    tlsPem: selfSignedPem(),
    secretNameKey: randomBytes(32).toString("base64"),
  };
}

export interface E2eEnv {
  prefix: string;
  config: FlotillaConfig;
  images: Record<StackImage, string>;
  secrets: Record<SecretValueKey, string>;
}

function names(env: E2eEnv): Record<SecretTarget, string> {
  return Object.fromEntries(
    SECRET_TARGETS.map((t) => [
      t,
      secretName(env.prefix, t, env.secrets[SECRET_SOURCES[t]], env.secrets.secretNameKey),
    ]),
  ) as Record<SecretTarget, string>;
}

/** Render one stack exactly as the Pulumi component does, and deploy it with scripts/host/stack-deploy.sh. */
export async function deploy(env: E2eEnv, stack: StackName): Promise<string> {
  const secretNames = names(env);
  const yaml = composeYaml(
    renderStack(stack, {
      config: env.config,
      images: env.images,
      secretNames,
      prefix: env.prefix,
      randomPorts: true,
      containerLabels: { "flotilla.test": "1", "flotilla.suite": "e2e" },
    }),
  );
  const stdin = deployStdin(
    STACK_SECRETS[stack].map((t) => ({ name: secretNames[t], value: env.secrets[SECRET_SOURCES[t]] })),
    yaml,
  );
  const args = deployArgs({
    prefix: env.prefix,
    stack,
    networks: STACK_NETWORKS[stack],
    ensureDirs: stack === "mysql" ? [env.config.mysql.dataPath] : [],
    resolveImage: "never",
    waitSeconds: 240,
  });
  const r = await run("bash", [DEPLOY_SCRIPT, ...args], { input: stdin, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`deploy of ${stack} failed: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Remove one stack with scripts/host/stack-remove.sh (networks and secrets it alone used go too). */
export async function remove(env: E2eEnv, stack: StackName): Promise<void> {
  await run(
    "bash",
    [REMOVE_SCRIPT, ...removeArgs(env.prefix, stack, STACK_NETWORKS[stack], STACK_SECRETS[stack])],
    {
      timeoutMs: 180_000,
    },
  );
}

/**
 * Remove several stacks at once (a suite's teardown): each removal waits out its own
 * containers' grace periods, so side by side they cost the longest one, not the sum. A
 * network two stacks share is kept by whichever removal saw the other's containers still
 * attached; the second pass, in reverse deploy order once every container is gone, takes it.
 */
export async function removeStacks(env: E2eEnv, stacks: readonly StackName[]): Promise<void> {
  await Promise.all(stacks.map((stack) => remove(env, stack)));
  for (const stack of [...stacks].reverse()) await remove(env, stack);
}

/** Running containers of a stack's service (newest first). */
export async function containers(env: E2eEnv, stack: StackName): Promise<string[]> {
  const out = await ok("docker", [
    "ps",
    "-q",
    "--filter",
    `label=com.docker.swarm.service.name=${serviceName(env.prefix, stack)}`,
  ]);
  return out.split("\n").filter(Boolean);
}

/** The host port a HAProxy container's port is published on (host mode, engine-picked). */
export async function publishedPort(env: E2eEnv, target: number): Promise<number> {
  const [id] = await containers(env, "haproxy");
  if (!id) throw new Error("no running HAProxy container");
  const out = await ok("docker", ["port", id, `${target}/tcp`]);
  const m = /:(\d+)$/m.exec(out.split("\n")[0]);
  if (!m) throw new Error(`no published port for ${target}: ${out}`);
  return Number(m[1]);
}

/** Poll until `check` is true or the time runs out; returns the milliseconds it took. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 250) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    try {
      if (await check()) return Date.now() - start;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  seconds: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Steady load through HAProxy: `rate` requests per second over a few keep-alive
 * connections, until stopped. A failure is a connection error, a timeout or a non-2xx.
 */
export function startLoad(url: string, rate = 50): { stop: () => Promise<LoadStats> } {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error("load is for 127.0.0.1 only");
  const latencies: number[] = [];
  let okCount = 0;
  let failed = 0;
  const started = Date.now();
  const instance = autocannon(
    { url, connections: 4, overallRate: rate, duration: 600, timeout: 5 },
    () => {},
  );
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    if (status >= 200 && status < 300) okCount++;
    else failed++;
  });
  instance.on("reqError", () => {
    failed++;
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        instance.on("done", () => {
          const sorted = [...latencies].sort((a, b) => a - b);
          resolve({
            sent: okCount + failed,
            ok: okCount,
            failed,
            p50: percentile(sorted, 50),
            p95: percentile(sorted, 95),
            p99: percentile(sorted, 99),
            seconds: (Date.now() - started) / 1000,
          });
        });
        instance.stop();
      }),
  };
}

/** A browser-like client that keeps its cookies (session and HAProxy stickiness). */
export class Client {
  private cookies = new Map<string, string>();
  constructor(private readonly base: string) {}
  async request(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(`${this.base}${path}`, { ...init, headers, signal: AbortSignal.timeout(5000) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  }
}
