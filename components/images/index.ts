// The images: the catalog (names, build contexts, order, build args) and the Images
// component that builds (and pushes) them.
export {
  type ConsulBuildOptions,
  IMAGE_CATALOG,
  IMAGE_NAMES,
  type ImageName,
  type ImageSpec,
  imageBuildArgs,
  imageTag,
  registryServer,
} from "./catalog";
export { DebianBase, hostExtraCaCerts, Images, type ImagesArgs } from "./images";
