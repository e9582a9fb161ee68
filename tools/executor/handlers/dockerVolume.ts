// docker:index/volume:Volume — `docker volume create` with the provider's input names.
// Every input forces a replacement (rules.ts); delete is `docker volume rm`, retried for
// up to 30 s while the volume is in use (terraform-provider-docker v4.5.0
// resource_docker_volume.go:23,362-386): its data is gone.
import type { DeleteHandler, Handler, ResourceHandler } from "../types";
import { docker, dockerRemoveRetrying, labelArgs, refuseInputs } from "./docker";

const create: Handler = async (inputs, ctx) => {
  refuseInputs(inputs, ["name", "labels", "driver", "driverOpts"], "docker:index/volume:Volume");
  const name = (inputs.name as string | undefined) ?? ctx.name;
  const args = ["volume", "create"];
  if (inputs.driver) args.push("--driver", String(inputs.driver));
  for (const [k, v] of Object.entries((inputs.driverOpts ?? {}) as Record<string, string>))
    args.push("--opt", `${k}=${v}`);
  args.push(...labelArgs(inputs.labels), name);
  await docker(ctx, "volume create", args);
  ctx.created(name);
  const inspect = JSON.parse(
    await docker(ctx, "volume inspect", ["volume", "inspect", name, "--format", "{{json .}}"]),
  );
  return { id: name, outputs: { name, driver: inspect.Driver, mountpoint: inspect.Mountpoint } };
};

const del: DeleteHandler = (prior, ctx) =>
  dockerRemoveRetrying(ctx, "volume rm", ["volume", "rm", prior.id], /in use/i, 30_000);

export const dockerVolume: ResourceHandler = { create, delete: del };
