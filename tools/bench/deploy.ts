// The dev stacks for the benchmark, deployed the way the end-to-end suite does it: the
// stacks rendered by components/stacks, deployed with scripts/host/stack-deploy.sh under a
// prefix of our own, secrets generated in memory and handed over on stdin.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { type FlotillaConfig, parseConfig } from "../../components/config";
import { REPO_ROOT } from "../../components/repo";
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
  STACK_NETWORKS,
  STACK_SECRETS,
  type StackImage,
  type StackName,
  secretName,
} from "../../components/stacks";

export const ORDER: StackName[] = ["consul", "mysql", "webapp", "haproxy"];

// The one way tools and tests run a program (test/support/process.ts), under the names
// the bench has always used.
import { run as exec, ok as must } from "../../test/support/process";

export { exec, must };

/** The dev stack's config (Pulumi.dev.yaml) with overrides, validated. */
export function devConfig(overrides: Record<string, unknown>): FlotillaConfig {
  const file = parseYaml(readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
    config?: Record<string, unknown>;
  };
  const merged: Record<string, unknown> = { ...(file.config ?? {}) };
  // One level deep: an override of flotilla:haproxy keeps the file's other haproxy keys.
  for (const [k, v] of Object.entries(overrides)) {
    const base = merged[k];
    merged[k] =
      base && typeof base === "object" && v && typeof v === "object" && !Array.isArray(v)
        ? { ...(base as Record<string, unknown>), ...(v as Record<string, unknown>) }
        : v;
  }
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  return parseConfig(raw).config;
}

/** A self-signed certificate and its key as one PEM (HAProxy's `crt`), made in RAM and read back. */
async function selfSignedPem(): Promise<string> {
  const dir = mkdtempSync(path.join("/dev/shm", "flotilla-bench-"));
  try {
    await must("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-subj", "/CN=localhost", "-days", "2",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
    ]); // biome-ignore format: argv
    return readFileSync(path.join(dir, "cert.pem"), "utf8") + readFileSync(path.join(dir, "key.pem"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fresh secrets for every secret the deployed stacks use, in memory only. */
export async function makeSecrets(stacks: readonly StackName[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const target of new Set(stacks.flatMap((s) => STACK_SECRETS[s]))) {
    const key = SECRET_SOURCES[target];
    if (key === "tlsPem") out[key] = await selfSignedPem();
    else if (key === "consulGossipKey") out[key] = randomBytes(32).toString("base64");
    else if (/Token$/.test(key)) out[key] = randomUUID();
    else if (key === "keepalivedPassword") out[key] = randomBytes(12).toString("base64url").slice(0, 16);
    else out[key] = randomBytes(24).toString("base64url");
  }
  // The key of the secret names' HMAC (the Secrets component's secretNameKey).
  out.secretNameKey = randomBytes(32).toString("base64");
  return out;
}

export interface Deployment {
  prefix: string;
  config: FlotillaConfig;
  images: Record<StackImage, string>;
  secrets: Record<string, string>;
  /** Workaround: deploy the webapp without a read-only root (see docs/bench.md). */
  webappWritableRoot?: boolean;
}

function secretNames(d: Deployment): Record<string, string> {
  return Object.fromEntries(
    SECRET_TARGETS.filter((t) => d.secrets[SECRET_SOURCES[t]] !== undefined).map((t) => [
      t,
      secretName(d.prefix, t, d.secrets[SECRET_SOURCES[t]], d.secrets.secretNameKey),
    ]),
  );
}

/** Render one stack and deploy it with the host deploy script. */
export async function deployStack(d: Deployment, stack: StackName): Promise<void> {
  const names = secretNames(d);
  const document = renderStack(stack, {
    config: d.config,
    images: d.images,
    secretNames: names as never,
    prefix: d.prefix,
    randomPorts: true,
    containerLabels: { "flotilla.test": "1", "flotilla.suite": "bench" },
  });
  if (d.webappWritableRoot && stack === "webapp")
    for (const svc of Object.values(document.services ?? {}))
      (svc as { read_only?: boolean }).read_only = false;
  const yaml = composeYaml(document);
  const stdin = deployStdin(
    STACK_SECRETS[stack].map((t) => ({ name: names[t], value: d.secrets[SECRET_SOURCES[t]] })),
    yaml,
  );
  const args = deployArgs({
    prefix: d.prefix,
    stack,
    networks: STACK_NETWORKS[stack],
    ensureDirs: stack === "mysql" ? [d.config.mysql.dataPath] : [],
    resolveImage: "never",
    waitSeconds: 240,
  });
  const r = await exec("bash", [DEPLOY_SCRIPT, ...args], { input: stdin, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`deploy of ${stack} failed: ${r.stderr}\n${r.stdout}`);
}

/** Remove one stack (and the networks and secrets it alone used). */
export async function removeStack(d: Deployment, stack: StackName): Promise<void> {
  await exec(
    "bash",
    [REMOVE_SCRIPT, ...removeArgs(d.prefix, stack, STACK_NETWORKS[stack], STACK_SECRETS[stack])],
    {
      timeoutMs: 180_000,
    },
  );
}
