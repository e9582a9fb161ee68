// Data volumes (the Cinder volume that holds MySQL's data) cannot be deleted or replaced
// by a careless `pulumi up`: they must carry the `protect` resource option, which the
// policy SDK exposes to resource policies as `args.opts.protect`.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "./util";

const VOLUME_TYPES: readonly string[] = TYPES.volumes;

export const dataVolumesProtected: ResourceValidationPolicy = {
  name: "data-volumes-protected",
  description: "Cinder data volumes carry the `protect` option, so no update can delete or replace them.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Declare the volume with `{ protect: true }`; to really delete it, unprotect it first (`pulumi state unprotect`).",
  validateResource: (args, reportViolation) => {
    if (!VOLUME_TYPES.includes(args.type)) return;
    if (!args.opts.protect) {
      reportViolation(
        `volume '${args.name}' is not protected: a replacement or a stack destroy would delete its data`,
      );
    }
  },
};
