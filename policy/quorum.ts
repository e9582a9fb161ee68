// Raft quorums (Swarm managers, Consul servers) have an odd size: an even count adds a
// member without adding a tolerated failure, and a 2-node quorum dies with either node.
//
// The counts are not resource inputs of any one cloud resource, so this stack policy reads
// every place the stack declares them:
// - any `flotilla:` component whose inputs carry `swarmManagers` or `consulServers`;
// - OpenStack instances tagged `metadata: { "flotilla-role": "manager" }` (counted);
// - compose documents that start Consul servers (`CONSUL_BOOTSTRAP_EXPECT` in a service's
//   environment, or `-bootstrap-expect=N` in its command), and their replica count.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { composeDocuments } from "./images";
import { isRecord, num, type Props, str, TYPES } from "./util";

export interface QuorumFinding {
  what: "Swarm managers" | "Consul servers";
  count: number;
  /** Where the count was read, for the message. */
  where: string;
  urn: string;
}

function environmentValue(env: unknown, key: string): unknown {
  if (isRecord(env)) return env[key];
  if (Array.isArray(env)) {
    for (const entry of env) {
      const text = str(entry);
      if (text?.startsWith(`${key}=`)) return text.slice(key.length + 1);
    }
  }
  return undefined;
}

function bootstrapExpectInCommand(command: unknown): number | undefined {
  const text = Array.isArray(command) ? command.map(String).join(" ") : (str(command) ?? "");
  const m = /-bootstrap-expect[= ](\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Consul server counts declared by compose documents (bootstrap-expect and replicas). */
export function consulCountsInCompose(doc: Props): { service: string; count: number; source: string }[] {
  const found: { service: string; count: number; source: string }[] = [];
  const services = isRecord(doc.services) ? doc.services : {};
  for (const [name, service] of Object.entries(services)) {
    if (!isRecord(service)) continue;
    const expect =
      num(environmentValue(service.environment, "CONSUL_BOOTSTRAP_EXPECT")) ??
      bootstrapExpectInCommand(service.command);
    if (expect === undefined) continue;
    found.push({ service: name, count: expect, source: "bootstrap-expect" });
    const deploy = isRecord(service.deploy) ? service.deploy : {};
    const replicas = num(deploy.replicas);
    if (replicas !== undefined && str(deploy.mode) !== "global") {
      found.push({ service: name, count: replicas, source: "replicas" });
    }
  }
  return found;
}

/** The component inputs that size a quorum, and what each sizes. */
const COMPONENT_QUORUMS = [
  ["swarmManagers", "Swarm managers"],
  ["consulServers", "Consul servers"],
] as const;

/** Every quorum size the stack declares, wherever it is declared. */
export function quorumFindings(resources: PolicyResource[]): QuorumFinding[] {
  const findings: QuorumFinding[] = [];
  let managerInstances = 0;
  let firstManager = "";
  for (const r of resources) {
    const p = r.props;
    if (r.type.startsWith("flotilla:"))
      for (const [key, what] of COMPONENT_QUORUMS) {
        const count = num(p[key]);
        if (count !== undefined) findings.push({ what, count, where: `${r.name}.${key}`, urn: r.urn });
      }
    if (r.type === TYPES.instance && isRecord(p.metadata) && str(p.metadata["flotilla-role"]) === "manager") {
      managerInstances++;
      firstManager ||= r.urn;
    }
    if (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand) {
      const texts = [str(p.stdin), ...(isRecord(p.environment) ? Object.values(p.environment).map(str) : [])];
      const docs = composeDocuments(texts.filter((t): t is string => t !== undefined));
      for (const c of docs.flatMap(consulCountsInCompose)) {
        findings.push({
          what: "Consul servers",
          count: c.count,
          where: `${r.name}: service '${c.service}' ${c.source}`,
          urn: r.urn,
        });
      }
    }
  }
  if (managerInstances > 0) {
    findings.push({
      what: "Swarm managers",
      count: managerInstances,
      where: "instances with metadata flotilla-role=manager",
      urn: firstManager,
    });
  }
  return findings;
}

export const oddQuorums: StackValidationPolicy = {
  name: "odd-quorums",
  description:
    "Swarm manager and Consul server counts are odd (1, 3, 5, 7), so a majority survives a failure.",
  enforcementLevel: "mandatory",
  remediationSteps: "Set flotilla:swarm.managers and flotilla:consul.servers to 1, 3, 5 or 7.",
  validateStack: (args, reportViolation) => {
    for (const f of quorumFindings(args.resources)) {
      if (f.count < 1 || f.count % 2 === 0) {
        reportViolation(
          `${f.count} ${f.what} (${f.where}): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure`,
          f.urn,
        );
      }
    }
  },
};
