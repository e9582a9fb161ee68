// Rendering by stack: the catalog's renderer for each enabled stack, in deployment order,
// and the YAML the deploy script receives (sorted keys: equal input, equal text and hash).
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { FlotillaConfig } from "../config";
import { STACK_CATALOG, type StackName, stackSpec } from "./catalog";
import type { RenderInput } from "./renderCommon";
import type { ComposeFile, ComposeLogging } from "./types";

/** The stacks this config deploys, in order (keepalived only when enabled). */
export function enabledStacks(config: FlotillaConfig): StackName[] {
  return STACK_CATALOG.filter((s) => s.enabled(config)).map((s) => s.name);
}

/** Render one stack's compose document. */
export function renderStack(stack: StackName, input: RenderInput): ComposeFile {
  const spec = stackSpec(stack);
  const document = spec.render(input, spec);
  if (input.containerLabels) {
    for (const s of Object.values(document.services)) s.labels = { ...input.containerLabels };
  }
  const { syslogAddress } = input.config.logging;
  if (syslogAddress !== undefined && ACCESS_LOG_STACKS.includes(stack)) {
    for (const [key, s] of Object.entries(document.services))
      s.logging = syslogLogging(syslogAddress, key, input.config.logging);
  }
  return document;
}

/** The stacks whose access logs go to `logging.syslogAddress` when it is set. */
export const ACCESS_LOG_STACKS: readonly StackName[] = ["haproxy", "webapp"];

/**
 * The compose `logging:` that ships a service's output (HAProxy's and the webapp's access
 * logs among it) to a syslog collector: RFC 5424 with microsecond timestamps, tagged
 * `<service>/<container id>`. Docker 20.10 and later keep a local copy for `docker logs`
 * (dual logging); that cache rotates with the same size and count as the engine's
 * json-file logs (config `logging.maxSize` / `logging.maxFile`).
 */
export function syslogLogging(
  address: string,
  service: string,
  rotation: { readonly maxSize: string; readonly maxFile: number },
): ComposeLogging {
  if (!/^(udp|tcp|tcp\+tls):\/\/[A-Za-z0-9.-]+:[0-9]{1,5}$/.test(address))
    throw new Error(
      `logging.syslogAddress: expected a syslog address such as udp://10.0.0.5:514 (udp, tcp or tcp+tls), got ${JSON.stringify(address)}`,
    );
  return {
    driver: "syslog",
    options: {
      "syslog-address": address,
      "syslog-format": "rfc5424micro",
      tag: `${service}/{{.ID}}`,
      "cache-max-size": rotation.maxSize,
      "cache-max-file": String(rotation.maxFile),
    },
  };
}

/** Every enabled stack's document, in deployment order. */
export function renderStacks(input: RenderInput): { stack: StackName; document: ComposeFile }[] {
  return enabledStacks(input.config).map((stack) => ({ stack, document: renderStack(stack, input) }));
}

/** The YAML the deploy script hands to `docker stack deploy`: keys sorted, so equal input gives equal text. */
export function composeYaml(document: ComposeFile): string {
  return `# Rendered by Flotilla (components/stacks); do not edit.\n${stringify(document, {
    sortMapEntries: true,
    lineWidth: 0,
  })}`;
}

/**
 * The documents an update of a running stack deploys first, one per service of `order`
 * but the last: the document's services up to that one (without `--prune`, the others
 * stay as they run). The whole document follows, so each of them rolls, converges, and
 * only then the next one starts. Empty when `order` names fewer than two services.
 */
export function rollingPhases(
  document: ComposeFile,
  order: readonly string[],
): { service: string; document: ComposeFile }[] {
  for (const name of order)
    if (!(name in document.services)) throw new Error(`rollingPhases: the document has no service ${name}`);
  return order.slice(0, -1).map((service, i) => ({
    service,
    document: {
      ...document,
      services: Object.fromEntries(order.slice(0, i + 1).map((name) => [name, document.services[name]])),
    },
  }));
}

/** A stack's rolling phases as the deploy script receives them (catalog `rollsInOrder`). */
export function stackPhases(
  stack: StackName,
  config: FlotillaConfig,
  document: ComposeFile,
): { service: string; yaml: string }[] {
  return rollingPhases(document, stackSpec(stack).rollsInOrder?.(config) ?? []).map((p) => ({
    service: p.service,
    yaml: composeYaml(p.document),
  }));
}

/** Seconds a stack's deploy may wait for it to converge: `swarm.deployWaitSeconds` per rolling phase (each Galera member in turn), at least once. */
export function stackWaitSeconds(stack: StackName, config: FlotillaConfig): number {
  return config.swarm.deployWaitSeconds * Math.max(1, stackSpec(stack).rollsInOrder?.(config).length ?? 0);
}

/** SHA-256 of the rendered YAML: what a redeploy is keyed on. */
export function composeHash(yaml: string): string {
  return createHash("sha256").update(yaml, "utf8").digest("hex");
}

/**
 * The overlay networks a document uses that the deploy script must create (never `host`,
 * nor a stack's own network, which `docker stack deploy` makes).
 */
export function overlayNetworks(document: ComposeFile): string[] {
  return Object.values(document.networks ?? {})
    .flatMap((n) => ("name" in n ? [n.name] : []))
    .filter((n) => n !== "host")
    .sort();
}

/** The Docker secret names a document uses. */
export function documentSecrets(document: ComposeFile): string[] {
  return Object.values(document.secrets ?? {})
    .map((s) => s.name)
    .sort();
}
