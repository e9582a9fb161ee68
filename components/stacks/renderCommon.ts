// What every stack renderer shares: the render input, the images' fixed ports, and the
// compose building blocks (rolling updates, health checks, secret and network references).
// Pure (no Pulumi): the same functions feed the components and the end-to-end suite.
import type { FlotillaConfig } from "../config";
import { DEFAULT_PREFIX, type NetworkKey, networkName, type SecretTarget, serviceName } from "./names";
import type {
  ComposeDeploy,
  ComposeFile,
  ComposeHealthcheck,
  ComposeNetwork,
  ComposeSecret,
  ComposeService,
  ComposeServiceSecret,
  ComposeUpdateConfig,
  StackFacts,
  StackImage,
} from "./types";

/** Everything a stack document depends on besides the config. */
export interface RenderInput {
  /** The validated stack configuration. */
  config: FlotillaConfig;
  /** Image reference per image (`flotilla/webapp:0.1.0` or `registry/flotilla/webapp@sha256:...`). */
  images: Record<StackImage, string>;
  /** Content-hashed Docker secret name per secret target (see `secretName`). */
  secretNames: Record<SecretTarget, string>;
  /** Prefix of every stack, network and secret name (default `flotilla`). */
  prefix?: string;
  /** Publish HAProxy on ports the engine picks instead of the configured ones (tests). */
  randomPorts?: boolean;
  /** Extra labels on every container (the tests mark theirs `flotilla.test=1`). */
  containerLabels?: Record<string, string>;
  /** The virtual IP (`a.b.c.d/len`) and the load-balancer nodes' addresses, when keepalived is enabled. */
  keepalived?: { vip: string; peers: string[] };
}

/** Container ports fixed by the images (docs/images.md). */
export const PORTS = {
  mysql: 3306,
  haproxyHttp: 8080,
  haproxyHttps: 8443,
  haproxyStats: 8404,
  haproxyHealth: 8405,
} as const;

export const restartAny: ComposeDeploy["restart_policy"] = { condition: "any", delay: "2s", window: "30s" };

export function rolling(
  order: ComposeUpdateConfig["order"],
  delay: ComposeUpdateConfig["delay"],
  monitor: ComposeUpdateConfig["monitor"],
): Pick<ComposeDeploy, "update_config" | "rollback_config"> {
  return {
    update_config: {
      parallelism: 1,
      delay,
      order,
      failure_action: "rollback",
      monitor,
      max_failure_ratio: 0,
    },
    rollback_config: { parallelism: 1, delay, order, failure_action: "pause", monitor, max_failure_ratio: 0 },
  };
}

export function health(test: string[], startPeriod: ComposeHealthcheck["start_period"]): ComposeHealthcheck {
  // Generous timeout and retries: a busy node must not get healthy tasks killed.
  return { test, interval: "5s", timeout: "5s", retries: 5, start_period: startPeriod };
}

/** Secret references, mode 0400, owned by root or by `owner` (a non-root service's numeric uid/gid). */
export function secretRefs(
  targets: readonly SecretTarget[],
  owner?: { uid: number; gid: number },
): ComposeServiceSecret[] {
  const ids = owner ? { uid: String(owner.uid), gid: String(owner.gid) } : {};
  return targets.map((target) => ({ source: target, target, ...ids, mode: 0o400 }));
}

export function topSecrets(
  input: RenderInput,
  targets: readonly SecretTarget[],
): Record<string, ComposeSecret> {
  const out: Record<string, ComposeSecret> = {};
  for (const target of targets) {
    const name = input.secretNames[target];
    if (!name) throw new Error(`stack render: no Docker secret name for '${target}'`);
    out[target] = { external: true, name };
  }
  return out;
}

export function topNetworks(prefix: string, keys: readonly NetworkKey[]): Record<string, ComposeNetwork> {
  const out: Record<string, ComposeNetwork> = {};
  for (const key of keys) out[key] = { external: true, name: networkName(prefix, key) };
  return out;
}

export function labels(stack: string): Record<string, string> {
  return { "flotilla.stack": stack };
}

/**
 * What every service's `deploy` has in common: one task at a time, rolled back on failure
 * (`rolling`), restarted whatever the exit, and labelled with its stack.
 */
export function deployPolicy(
  stack: StackFacts,
  order: ComposeUpdateConfig["order"],
  delay: ComposeUpdateConfig["delay"],
  monitor: ComposeUpdateConfig["monitor"],
): Pick<ComposeDeploy, "update_config" | "rollback_config" | "restart_policy" | "labels"> {
  return { ...rolling(order, delay, monitor), restart_policy: restartAny, labels: labels(stack.name) };
}

/** A stack's compose document: its services, then its top-level networks, secrets and volumes. */
export function composeFile(
  services: Record<string, ComposeService>,
  top: Omit<ComposeFile, "version" | "services">,
): ComposeFile {
  return { version: "3.8", services, ...top };
}

/** The stack's networks and secrets, declared at the top level as the external ones they are. */
export function externals(
  input: RenderInput,
  stack: StackFacts,
): { networks: Record<string, ComposeNetwork>; secrets: Record<string, ComposeSecret> } {
  return {
    networks: topNetworks(input.prefix ?? DEFAULT_PREFIX, stack.networks),
    secrets: topSecrets(input, stack.secrets),
  };
}

/** Text that Swarm's template engine (env, hostname, mounts) leaves as it is. */
export function swarmLiteral(text: string): string {
  return text.replace(/\{\{|\}\}/g, (m) => `{{"${m}"}}`);
}

/** How a Consul agent (or server) finds its cluster: the servers' task addresses, and the datacenter. */
export function consulJoin(prefix: string, config: FlotillaConfig): Record<string, string> {
  return {
    CONSUL_RETRY_JOIN: `tasks.${serviceName(prefix, "consul")}`,
    CONSUL_DATACENTER: config.consul.datacenter,
  };
}
