// docker:index/image:Image — `docker build` (the classic builder when builderVersion is
// BuilderV1) tagged `imageName`, then `docker push` unless skipPush. repoDigest as the
// provider gives it: `<repository>@sha256:…` after a push, the image id `sha256:…` when
// not pushed. Update builds and pushes again (pulumi-docker provider/provider.go:428);
// delete does nothing (:490), so images stay (they are the build cache). The inputs it
// is diffed on carry the provider's Check additions (check.ts): a context digest,
// the platform, the dockerfile path.
import * as path from "node:path";
import type { Handler, ResourceHandler } from "../types";
import { docker, refuseInputs, stringList } from "./docker";

const KNOWN = ["imageName", "build", "skipPush", "registry", "buildOnPreview"];

/** The repository part of an image name (no tag, no digest). */
export function repository(imageName: string): string {
  const noDigest = imageName.split("@")[0];
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

export function buildArgv(
  inputs: Record<string, unknown>,
  cwd: string,
): { argv: string[]; classic: boolean } {
  refuseInputs(inputs, KNOWN, "docker:index/image:Image");
  const imageName = inputs.imageName;
  if (typeof imageName !== "string" || !imageName) throw new Error("input 'imageName' is required");
  const build = (inputs.build ?? {}) as Record<string, unknown>;
  refuseInputs(
    build,
    [
      "context",
      "dockerfile",
      "args",
      "builderVersion",
      "target",
      "platform",
      "network",
      "addHosts",
      "contextDigest",
    ],
    "docker:index/image:Image build",
  );
  const context = path.resolve(cwd, String(build.context ?? "."));
  const argv = ["build", "--tag", imageName];
  if (build.dockerfile) argv.push("--file", path.resolve(context, String(build.dockerfile)));
  for (const [k, v] of Object.entries((build.args ?? {}) as Record<string, unknown>)) {
    if (typeof v !== "string")
      throw new Error(`input 'build.args.${k}': expected a string, got ${JSON.stringify(v)}`);
    argv.push("--build-arg", `${k}=${v}`);
  }
  if (build.target) argv.push("--target", String(build.target));
  if (build.platform) argv.push("--platform", String(build.platform));
  if (build.network) argv.push("--network", String(build.network));
  for (const h of stringList(build.addHosts, "build.addHosts")) argv.push("--add-host", h);
  argv.push(context);
  return { argv, classic: build.builderVersion === "BuilderV1" };
}

const create: Handler = async (inputs, ctx) => {
  // A relative context is the project directory's (where `pulumi` runs the program).
  const { argv, classic } = buildArgv(inputs, ctx.root);
  const imageName = String(inputs.imageName);
  const registry = (inputs.registry ?? {}) as Record<string, unknown>;
  if (registry.username || registry.password)
    throw new Error(
      "input 'registry.username/password': registry logins are not implemented by the rehearsal (its registries are anonymous)",
    );
  await docker(ctx, "build", argv, { env: { ...process.env, DOCKER_BUILDKIT: classic ? "0" : "1" } });
  const imageId = await docker(ctx, "image inspect", ["image", "inspect", imageName, "--format", "{{.Id}}"]);
  let repoDigest = imageId;
  if (inputs.skipPush !== true) {
    const server = typeof registry.server === "string" ? registry.server : undefined;
    if (server && !imageName.startsWith(`${server}/`))
      throw new Error(
        `input 'imageName' (${imageName}) is not in registry.server ${server}: docker push would go elsewhere`,
      );
    await docker(ctx, "push", ["push", imageName]);
    const digests: string[] = JSON.parse(
      await docker(ctx, "image inspect", [
        "image",
        "inspect",
        imageName,
        "--format",
        "{{json .RepoDigests}}",
      ]),
    );
    const repo = repository(imageName);
    const pushed = digests.find((d) => d.startsWith(`${repo}@`));
    if (!pushed)
      throw new Error(
        `docker push ${imageName} left no repo digest for ${repo} (got ${digests.join(", ") || "none"})`,
      );
    repoDigest = pushed;
  }
  return {
    id: `${imageName}-${imageId}`,
    outputs: {
      imageName,
      baseImageName: imageName,
      repoDigest,
      registryServer: typeof registry.server === "string" ? registry.server : "",
      context: (inputs.build as Record<string, unknown> | undefined)?.context,
    },
  };
};

export const dockerImage: ResourceHandler = {
  create,
  // Same id: an update never changes it; the new digest is the new output.
  update: async (prior, inputs, ctx) => ({ ...(await create(inputs, ctx)), id: prior.id }),
};
