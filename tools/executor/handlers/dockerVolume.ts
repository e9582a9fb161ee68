// docker:index/volume:Volume — `docker volume create` with the provider's input names.
import type { Handler } from "../types";
import { docker, labelArgs, refuseInputs } from "./docker";

export const dockerVolume: Handler = async (inputs, ctx) => {
  refuseInputs(inputs, ["name", "labels", "driver", "driverOpts"], "docker:index/volume:Volume");
  const name = (inputs.name as string | undefined) ?? ctx.name;
  const args = ["volume", "create"];
  if (inputs.driver) args.push("--driver", String(inputs.driver));
  for (const [k, v] of Object.entries((inputs.driverOpts ?? {}) as Record<string, string>))
    args.push("--opt", `${k}=${v}`);
  args.push(...labelArgs(inputs.labels), name);
  await docker(ctx, "volume create", args);
  ctx.journal({ kind: "docker:volume", name });
  const inspect = JSON.parse(
    await docker(ctx, "volume inspect", ["volume", "inspect", name, "--format", "{{json .}}"]),
  );
  return { id: name, outputs: { name, driver: inspect.Driver, mountpoint: inspect.Mountpoint } };
};
