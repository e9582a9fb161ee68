// The six Flotilla images, built with @pulumi/docker in dependency order (s6-base, then
// consul, then the rest), and their references for the stacks: `repoDigest`, which
// changes exactly when an image's content changes, so a rebuilt image rolls the services
// that use it and an unchanged one does not.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type FlotillaConfig, TARGETS } from "../config";
import { localCommand, repoPath } from "../repo";
import { IMAGE_CATALOG, type ImageName, imageBuildArgs, imageTag, registryServer } from "./catalog";

export interface ImagesArgs {
  /** Where the stacks run: the local target keeps the images in the local engine, the others push them to the registry. */
  readonly target: FlotillaConfig["target"];
  /** The `images` config section: version label, registry, Debian base image, Consul source and version. */
  readonly images: FlotillaConfig["images"];
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
    const push = TARGETS[target].pushesImages;
    // The schema requires a registry wherever images are pushed.
    if (push && !images.registry) throw new Error("Images: a pushing target without images.registry");
    const registry = push ? images.registry : undefined;

    // The Debian base image: pulled, or built offline with debootstrap where no registry answers.
    const debianBase = new command.local.Command(
      `${name}-debian-base`,
      {
        create: localCommand("images/base/bootstrap-debian.sh"),
        environment: { BASE_IMAGE: images.baseImage },
      },
      { parent: this },
    );

    const built = {} as Record<ImageName, docker.Image>;
    const refs = {} as Record<ImageName, pulumi.Output<string>>;
    const tags = {} as Record<ImageName, string>;
    for (const spec of IMAGE_CATALOG) {
      const baseRef = spec.fromBase ? refs["s6-base"] : undefined;
      const consulRef = spec.usesConsul ? refs.consul : undefined;
      const dependsOn: pulumi.Resource[] = spec.fromBase ? [built["s6-base"]] : [debianBase];
      if (spec.usesConsul) dependsOn.push(built.consul);
      const tag = imageTag(spec.name, images.version, registry);
      const buildArgs = pulumi.all([baseRef, consulRef]).apply(([base, consul]) =>
        imageBuildArgs(spec, {
          version: images.version,
          debianImage: images.baseImage,
          consul: { source: images.consulSource, version: images.consulVersion },
          baseRef: base,
          consulRef: consul,
        }),
      );
      const image = new docker.Image(
        `${name}-${spec.name}`,
        {
          imageName: tag,
          build: {
            context: repoPath(spec.context),
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
      refs[spec.name] = image.repoDigest;
      tags[spec.name] = tag;
    }
    this.refs = refs;
    this.tags = tags;
    this.registerOutputs({ refs, tags });
  }
}
