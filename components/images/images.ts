// The six Flotilla images, built with @pulumi/docker in dependency order (s6-base, then
// consul, then the rest), and their references for the stacks: `repoDigest`, which
// changes exactly when an image's content changes, so a rebuilt image rolls the services
// that use it and an unchanged one does not.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { consulBuild, type FlotillaConfig, TARGETS, type TargetTraits } from "../config";
import { localCommand } from "../repo";
import type { ImageRegistry } from "../swarm";
import { IMAGE_CATALOG, type ImageName, imageBuildArgs, imageTag, registryServer } from "./catalog";

export interface ImagesArgs {
  /** Where the stacks run: the local target keeps the images in the local engine, the others push them to the registry. */
  readonly target: FlotillaConfig["target"];
  /** The `images` config section: version label, registry, Debian base image, Consul source and version. */
  readonly images: FlotillaConfig["images"];
  /** The Debian base image every build starts from. */
  readonly base: DebianBase;
  /** The target's own registry (targets with `ownRegistry`), instead of `images.registry`. */
  readonly registry?: ImageRegistry;
}

/** Where Debian keeps the CA certificates an administrator added to this machine. */
const LOCAL_CA_DIR = "/usr/local/share/ca-certificates";

/**
 * The CA certificates this machine added (FLOTILLA_EXTRA_CA_FILE, else the `*.crt` files
 * of /usr/local/share/ca-certificates), for the webapp build's `npm ci` behind a
 * TLS-inspecting proxy, as images/build.sh passes them. Public certificates only, used in
 * the build stage only; empty on a machine that added none.
 */
export function hostExtraCaCerts(env: NodeJS.ProcessEnv = process.env, dir = LOCAL_CA_DIR): string {
  if (env.FLOTILLA_EXTRA_CA_FILE) return readFileSync(env.FLOTILLA_EXTRA_CA_FILE, "utf8").trim();
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .filter((f) => f.endsWith(".crt"))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), "utf8").trim())
    .join("\n");
}

/**
 * The Debian base image (`flotilla:images:DebianBase`): pulled, or built offline with
 * debootstrap where no registry answers (images/base/bootstrap-debian.sh). Its own
 * component because more than the Flotilla images build on it (the lab's VM image).
 * Outputs `image` (the reference, once it exists locally).
 */
export class DebianBase extends pulumi.ComponentResource {
  /** The base image reference, resolved once the image exists in the local engine. */
  readonly image: pulumi.Output<string>;

  constructor(name: string, args: { readonly image: string }, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:images:DebianBase", name, {}, opts);
    const made = new command.local.Command(
      `${name}-debian-base`,
      { create: localCommand("images/base/bootstrap-debian.sh"), environment: { BASE_IMAGE: args.image } },
      { parent: this },
    );
    this.image = made.stdout.apply(() => args.image);
    this.registerOutputs({ image: this.image });
  }
}

/**
 * The six Flotilla images (`flotilla:images:Images`): the Debian base image (pulled or
 * built offline), then every image of the catalog built with `@pulumi/docker` in order,
 * pushed to `images.registry` on targets that push. Outputs `refs` (the reference each
 * stack deploys: digest or image id) and `tags`.
 */
export class Images extends pulumi.ComponentResource {
  /**
   * Reference per image for the stacks (and the dependent builds): the registry digest
   * (`<registry>/<name>@sha256:...`) when pushed; locally, where no registry
   * digest exists, the image id (`sha256:...`), which Docker and Swarm accept as an
   * image reference. Both change if and only if the image changes.
   */
  readonly refs: Record<ImageName, pulumi.Output<string>>;
  /** The tags the images were built under (`flotilla/<name>:<version>`, or `<registry>/<name>:<version>` when pushed). */
  readonly tags: Record<ImageName, string>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:images:Images", name, {}, opts);
    const { images, target } = args;
    const traits: TargetTraits = TARGETS[target];
    // The schema requires a registry wherever images are pushed, and none where the target has its own.
    if (traits.pushesImages && !images.registry)
      throw new Error("Images: a pushing target without images.registry");
    if (traits.ownRegistry && !args.registry)
      throw new Error(`Images: target '${target}' needs its registry`);
    const registry = traits.pushesImages ? images.registry : args.registry?.push;
    const push = registry !== undefined;
    // A ref as the nodes pull it: the target's registry may be reached under another address there.
    const pullRef = (ref: string) =>
      args.registry && ref.startsWith(`${args.registry.push}/`)
        ? `${args.registry.pull}${ref.slice(args.registry.push.length)}`
        : ref;

    const extraCa = hostExtraCaCerts();
    const built = {} as Record<ImageName, docker.Image>;
    const refs = {} as Record<ImageName, pulumi.Output<string>>;
    const tags = {} as Record<ImageName, string>;
    for (const spec of IMAGE_CATALOG) {
      // Builds run on this machine: they start from the refs as this machine knows them.
      const baseRef = spec.fromBase ? built["s6-base"].repoDigest : undefined;
      const consulRef = spec.usesConsul ? built.consul.repoDigest : undefined;
      const dependsOn: pulumi.Input<pulumi.Resource>[] = spec.fromBase ? [built["s6-base"]] : [args.base];
      if (args.registry) dependsOn.push(...args.registry.dependsOn);
      if (spec.usesConsul) dependsOn.push(built.consul);
      const tag = imageTag(spec.name, images.version, registry);
      const buildArgs = pulumi
        .all([baseRef, consulRef])
        .apply(([base, consul]) =>
          imageBuildArgs(spec, {
            version: images.version,
            debianImage: images.baseImage,
            consul: consulBuild({ target, images }),
            baseRef: base,
            consulRef: consul,
          }),
        )
        .apply((buildArgs) =>
          spec.name === "webapp" && extraCa ? { ...buildArgs, EXTRA_CA_CERTS: extraCa } : buildArgs,
        );
      const image = new docker.Image(
        `${name}-${spec.name}`,
        {
          imageName: tag,
          build: {
            // Relative to the project directory (where `pulumi` runs the program): an absolute
            // path would change the Image's inputs, and rebuild it, from every other checkout.
            context: spec.context,
            args: buildArgs,
            // The classic builder, as images/build.sh uses (and its tests prove) here.
            builderVersion: "BuilderV1",
          },
          skipPush: !push,
          registry: registry ? { server: registryServer(registry) } : undefined,
          // A preview must not build six images.
          buildOnPreview: false,
        },
        { parent: this, dependsOn },
      );
      built[spec.name] = image;
      refs[spec.name] = image.repoDigest.apply(pullRef);
      tags[spec.name] = tag;
    }
    this.refs = refs;
    this.tags = tags;
    this.registerOutputs({ refs, tags });
  }
}
