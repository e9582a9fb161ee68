// docker:index/network:Network — `docker network create` with the provider's input names.
// Every input forces a replacement (rules.ts); delete is `docker network rm`, retried
// for up to 30 s while the network has active endpoints, as the provider's
// StateChangeConf does (terraform-provider-docker v4.5.0
// resource_docker_network_funcs.go:21,110-135,205-225).
import type { DeleteHandler, Handler, ResourceHandler } from "../types";
import { docker, dockerRemoveRetrying, labelArgs, refuseInputs } from "./docker";

const KNOWN = [
  "name",
  "driver",
  "ipamConfigs",
  "internal",
  "attachable",
  "labels",
  "options",
  "ipamDriver",
  "checkDuplicate",
];

export function networkCreateArgs(inputs: Record<string, unknown>, fallbackName: string): string[] {
  refuseInputs(inputs, KNOWN, "docker:index/network:Network");
  const name = (inputs.name as string | undefined) ?? fallbackName;
  const args = ["network", "create"];
  if (inputs.driver) args.push("--driver", String(inputs.driver));
  if (inputs.ipamDriver) args.push("--ipam-driver", String(inputs.ipamDriver));
  const ipam = (inputs.ipamConfigs ?? []) as Record<string, unknown>[];
  if (!Array.isArray(ipam)) throw new Error("input 'ipamConfigs': expected a list");
  ipam.forEach((c, i) => {
    if (c.auxAddress && Object.keys(c.auxAddress).length)
      throw new Error(`input 'ipamConfigs[${i}].auxAddress' is not implemented by the rehearsal`);
    if (c.subnet) args.push("--subnet", String(c.subnet));
    if (c.ipRange) args.push("--ip-range", String(c.ipRange));
    if (c.gateway) args.push("--gateway", String(c.gateway));
  });
  if (inputs.internal === true) args.push("--internal");
  if (inputs.attachable === true) args.push("--attachable");
  for (const [k, v] of Object.entries((inputs.options ?? {}) as Record<string, string>))
    args.push("--opt", `${k}=${v}`);
  args.push(...labelArgs(inputs.labels), name);
  return args;
}

const create: Handler = async (inputs, ctx) => {
  const name = (inputs.name as string | undefined) ?? ctx.name;
  const id = await docker(ctx, "network create", networkCreateArgs(inputs, ctx.name));
  ctx.created(id);
  const inspect = JSON.parse(
    await docker(ctx, "network inspect", ["network", "inspect", id, "--format", "{{json .}}"]),
  );
  return {
    id,
    outputs: {
      name,
      driver: inspect.Driver,
      scope: inspect.Scope,
      internal: inspect.Internal,
      attachable: inspect.Attachable,
      ipamConfigs: (inspect.IPAM?.Config ?? []).map((c: Record<string, string>) => ({
        subnet: c.Subnet,
        ipRange: c.IPRange,
        gateway: c.Gateway,
      })),
    },
  };
};

const del: DeleteHandler = (prior, ctx) =>
  dockerRemoveRetrying(ctx, "network rm", ["network", "rm", prior.id], /active endpoints/i, 30_000);

export const dockerNetwork: ResourceHandler = { create, delete: del };
