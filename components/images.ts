// The six Flotilla images, built with @pulumi/docker in dependency order (s6-base, then
// consul, then the rest), and their references for the stacks: `repoDigest`, which
// changes exactly when an image's content changes, so a rebuilt image rolls the services
// that use it and an unchanged one does not.
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { FlotillaConfig } from "./config";
import { IMAGE_CATALOG, type ImageName, imageBuildArgs, imageTag, registryServer } from "./imageCatalog";

const REPO_ROOT = path.join(__dirname, "..");

/** The only Consul version Debian's archive has (bullseye's package). */
export const DEBIAN_ARCHIVE_CONSUL_VERSION = "1.8.7";

export interface ImagesArgs {
  /** Where the stacks run: `local` keeps the images in the local engine, `openstack` pushes them to the registry. */
  readonly target: FlotillaConfig["target"];
  /** The `images` config section: version label, registry, Debian base image, Consul source and version. */
  readonly images: FlotillaConfig["images"];
}

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
    const push = target === "openstack";
    if (push && !images.registry) {
      throw new Error(
        "flotilla:images.registry: required when target is 'openstack' (every node pulls the images from it)",
      );
    }
    if (images.consulSource === "debian-archive" && images.consulVersion !== DEBIAN_ARCHIVE_CONSUL_VERSION) {
      throw new Error(
        `flotilla:images.consulVersion: Debian's archive only has Consul ${DEBIAN_ARCHIVE_CONSUL_VERSION}, ` +
          `got ${images.consulVersion}; set flotilla:images.consulSource to 'hashicorp' for another version`,
      );
    }
    const registry = push ? images.registry : undefined;

    // The Debian base image: pulled, or built offline with debootstrap where no registry answers.
    const debianBase = new command.local.Command(
      `${name}-debian-base`,
      {
        create: `bash ${JSON.stringify(path.join(REPO_ROOT, "images", "base", "bootstrap-debian.sh"))}`,
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
            context: path.join(REPO_ROOT, spec.context),
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
