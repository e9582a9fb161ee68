// The one deploy helper set of the tests and tools (the end-to-end suites, the bench, the
// demo): the stacks rendered exactly as the Pulumi component does, deployed with
// scripts/host/stack-deploy.sh under a prefix of the caller's, secrets generated in memory
// and handed over on stdin.
import { randomBytes, randomUUID } from "node:crypto";
import type { FlotillaConfig, SecretValueKey } from "../../components/config";
import {
  type ComposeFile,
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
  stackPhases,
  stackWaitSeconds,
} from "../../components/stacks";
import { opensslCert } from "./certs";
import { ok, run } from "./process";

export interface Deployment {
  prefix: string;
  config: FlotillaConfig;
  images: Record<StackImage, string>;
  secrets: Record<SecretValueKey, string>;
  /** The `flotilla.suite` label of the containers; default `e2e`. */
  suite?: string;
}

export interface DeployOptions {
  /** Change the rendered document before it is deployed (a shorter interval, a workaround). */
  edit?: (document: ComposeFile) => void;
  /** How long the deploy script waits for the services; default the program's (stackWaitSeconds). */
  waitSeconds?: number;
  /** How long the deploy script may run at all; default the wait and 60 s. */
  timeoutMs?: number;
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
    alertSmtpPassword: pw(),
    alertChatWebhookUrl: `https://chat.invalid/hooks/${pw()}`,
    tlsPem: opensslCert({ subjectAltName: "DNS:localhost,IP:127.0.0.1" }).pem,
    secretNameKey: randomBytes(32).toString("base64"),
  };
}

function secretNames(d: Deployment): Record<SecretTarget, string> {
  return Object.fromEntries(
    SECRET_TARGETS.map((t) => [
      t,
      secretName(d.prefix, t, d.secrets[SECRET_SOURCES[t]], d.secrets.secretNameKey),
    ]),
  ) as Record<SecretTarget, string>;
}

/** Render one stack exactly as the Pulumi component does, and deploy it with scripts/host/stack-deploy.sh. */
export async function deploy(d: Deployment, stack: StackName, options: DeployOptions = {}): Promise<string> {
  const names = secretNames(d);
  const document = renderStack(stack, {
    config: d.config,
    images: d.images,
    secretNames: names,
    prefix: d.prefix,
    randomPorts: true,
    containerLabels: { "flotilla.test": "1", "flotilla.suite": d.suite ?? "e2e" },
  });
  options.edit?.(document);
  const phases = stackPhases(stack, d.config, document);
  const stdin = deployStdin(
    STACK_SECRETS[stack].map((t) => ({ name: names[t], value: d.secrets[SECRET_SOURCES[t]] })),
    composeYaml(document),
    phases,
  );
  const waitSeconds = options.waitSeconds ?? stackWaitSeconds(stack, d.config);
  const args = deployArgs({
    prefix: d.prefix,
    stack,
    networks: STACK_NETWORKS[stack],
    ensureDirs: stack === "mysql" ? [d.config.mysql.dataPath] : [],
    resolveImage: "never",
    waitSeconds,
  });
  const r = await run("bash", [DEPLOY_SCRIPT, ...args], {
    input: stdin,
    timeoutMs: options.timeoutMs ?? (waitSeconds + 60) * 1000,
  });
  if (r.code !== 0) throw new Error(`deploy of ${stack} failed: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Remove one stack with scripts/host/stack-remove.sh (networks and secrets it alone used go too). */
export async function remove(d: Deployment, stack: StackName): Promise<void> {
  await run(
    "bash",
    [REMOVE_SCRIPT, ...removeArgs(d.prefix, stack, STACK_NETWORKS[stack], STACK_SECRETS[stack])],
    { timeoutMs: 180_000 },
  );
}

/**
 * Remove several stacks at once (a suite's teardown): each removal waits out its own
 * containers' grace periods, so side by side they cost the longest one, not the sum. A
 * network two stacks share is kept by whichever removal saw the other's containers still
 * attached; the second pass, in reverse deploy order once every container is gone, takes it.
 */
export async function removeStacks(d: Deployment, stacks: readonly StackName[]): Promise<void> {
  await Promise.all(stacks.map((stack) => remove(d, stack)));
  for (const stack of [...stacks].reverse()) await remove(d, stack);
}

/** Running containers of a stack's service under `prefix` (newest first). */
export async function serviceContainers(prefix: string, stack: string): Promise<string[]> {
  const out = await ok("docker", [
    "ps",
    "-q",
    "--filter",
    `label=com.docker.swarm.service.name=${serviceName(prefix, stack)}`,
  ]);
  return out.split("\n").filter(Boolean);
}

/** Running containers of a deployed stack's service (newest first). */
export function containers(d: Deployment, stack: StackName): Promise<string[]> {
  return serviceContainers(d.prefix, stack);
}

/** The host port a HAProxy container's port is published on (host mode, engine-picked). */
export async function publishedPort(d: Deployment, target: number): Promise<number> {
  const [id] = await containers(d, "haproxy");
  if (!id) throw new Error("no running HAProxy container");
  const out = await ok("docker", ["port", id, `${target}/tcp`]);
  const m = /:(\d+)$/m.exec(out.split("\n")[0]);
  if (!m) throw new Error(`no published port for ${target}: ${out}`);
  return Number(m[1]);
}
