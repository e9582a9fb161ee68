// The images a suite uses, built by the suite itself (images/build.sh: a few seconds when
// Docker's cache has them), so no suite depends on what another suite happened to build.
import { IMAGE_CATALOG, IMAGE_NAMES, type ImageName, imageTag } from "../../components/images/catalog";
import type { StackImage } from "../../components/stacks";
import { ok } from "./process";

/** The version the tests build and run (images/build.sh's default). */
export const IMAGE_VERSION = "0.1.0";

/** `flotilla/<name>:<version>`, the tag images/build.sh gives. */
export const image = (name: ImageName): string => imageTag(name, IMAGE_VERSION);

/** The stacks' image references, as tests render them (a registry prefix for the bench's --image-repo). */
export function stackImages(repository = "flotilla", tag = IMAGE_VERSION): Record<StackImage, string> {
  const names = IMAGE_NAMES.filter((n): n is StackImage => n !== "s6-base");
  return Object.fromEntries(names.map((n) => [n, `${repository}/${n}:${tag}`])) as Record<StackImage, string>;
}

/** The images `names` need, themselves included, in build order (s6-base, consul, then the rest). */
export function withDependencies(names: readonly ImageName[]): ImageName[] {
  const wanted = new Set<ImageName>();
  for (const name of names) {
    const spec = IMAGE_CATALOG.find((s) => s.name === name);
    if (!spec) throw new Error(`ensureImages: unknown image '${name}' (one of: ${IMAGE_NAMES.join(", ")})`);
    wanted.add(name);
    if (spec.fromBase) wanted.add("s6-base");
    if (spec.usesConsul) wanted.add("consul");
  }
  return IMAGE_NAMES.filter((n) => wanted.has(n));
}

/**
 * Build `names` and what they build on with images/build.sh (cached layers make this
 * quick when nothing changed). Returns build.sh's output: build times, sizes and image IDs.
 */
export async function ensureImages(names: readonly ImageName[]): Promise<string> {
  const args = ["images/build.sh", "--version", IMAGE_VERSION];
  for (const n of withDependencies(names)) args.push("--only", n);
  const out = await ok("bash", args, { timeoutMs: 1_500_000 });
  console.log(out);
  return out;
}

/** The Debian base every image starts from (and the suites' plain containers use). */
export const DEBIAN_IMAGE = "debian:trixie-slim";

/** Make sure the Debian base exists: kept if present, pulled, or built offline (images/base/bootstrap-debian.sh). */
export async function ensureBaseImage(): Promise<string> {
  await ok("bash", ["images/base/bootstrap-debian.sh"], { timeoutMs: 900_000 });
  return DEBIAN_IMAGE;
}
