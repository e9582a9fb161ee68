// The Flotilla images: names, build contexts and build order, as one pure list.
// images/build.sh builds them in this same order (a unit test keeps the two equal);
// the Images component builds them with @pulumi/docker from the same entries.

/** Every image, in build order: s6-base first (all others are FROM it), consul before those that copy its binary. */
export const IMAGE_NAMES = [
  "s6-base",
  "consul",
  "webapp",
  "haproxy",
  "mysql",
  "keepalived",
  "prometheus",
] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

export interface ImageSpec {
  readonly name: ImageName;
  /** Build context, relative to the repository root (the Dockerfile is in it). */
  readonly context: string;
  /** Built FROM the s6-base image (build arg BASE_IMAGE). */
  readonly fromBase: boolean;
  /** Copies the Consul binary from the consul image (build arg CONSUL_IMAGE). */
  readonly usesConsul: boolean;
}

const USES_CONSUL: readonly ImageName[] = ["webapp", "haproxy"];

export const IMAGE_CATALOG: readonly ImageSpec[] = IMAGE_NAMES.map((name) => ({
  name,
  context: `images/${name}`,
  fromBase: name !== "s6-base",
  usesConsul: USES_CONSUL.includes(name),
}));

/**
 * The tag an image is built (and pushed) under: `flotilla/<name>:<version>` locally;
 * `<registry>/<name>:<version>` when pushed, the registry setting being the repository
 * prefix (`registry.example.com:5000/flotilla`).
 */
export function imageTag(name: ImageName, version: string, registry?: string): string {
  return registry ? `${registry.replace(/\/+$/, "")}/${name}:${version}` : `flotilla/${name}:${version}`;
}

/** The registry server (host[:port]) of a registry prefix, for logging in and pushing. */
export function registryServer(registry: string): string {
  return registry.split("/")[0];
}

/** Where the Consul binary comes from, and its pins (see images/consul/fetch-consul.sh). */
export interface ConsulBuildOptions {
  readonly source: "hashicorp" | "debian-archive";
  readonly version: string;
}

/**
 * Build args of one image, given the references of the images it builds on: BASE_IMAGE
 * for all but s6-base (which gets DEBIAN_IMAGE), CONSUL_IMAGE for the images that copy
 * the Consul binary, the Consul source for the consul image, FLOTILLA_VERSION for all but
 * s6-base.
 */
export function imageBuildArgs(
  spec: ImageSpec,
  opts: {
    readonly version: string;
    readonly debianImage: string;
    readonly consul: ConsulBuildOptions;
    readonly baseRef?: string;
    readonly consulRef?: string;
  },
): Record<string, string> {
  // s6-base has no version (a bump must leave it, and so every image's cache, unchanged).
  const args: Record<string, string> = spec.name === "s6-base" ? {} : { FLOTILLA_VERSION: opts.version };
  if (spec.fromBase) {
    if (!opts.baseRef) throw new Error(`image ${spec.name}: needs the s6-base image reference (BASE_IMAGE)`);
    args.BASE_IMAGE = opts.baseRef;
  } else {
    args.DEBIAN_IMAGE = opts.debianImage;
  }
  if (spec.usesConsul) {
    if (!opts.consulRef)
      throw new Error(`image ${spec.name}: needs the consul image reference (CONSUL_IMAGE)`);
    args.CONSUL_IMAGE = opts.consulRef;
  }
  if (spec.name === "consul") {
    args.CONSUL_SOURCE = opts.consul.source;
    args.CONSUL_VERSION = opts.consul.version;
  }
  return args;
}
