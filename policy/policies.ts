// Every Flotilla policy, in the order the pack reports them. index.ts serves them; the
// tests import this list to check each policy against passing and failing resources.
import type { Policies } from "@pulumi/policy";
import { imagesPinnedByDigest } from "./images";
import { noWorldOpenAdminPorts } from "./network";
import { oddQuorums } from "./quorum";
import { secretInputsAreSecret } from "./secrets";
import { dataVolumesProtected } from "./volumes";

export const policies: Policies = [
  noWorldOpenAdminPorts,
  oddQuorums,
  dataVolumesProtected,
  secretInputsAreSecret,
  imagesPinnedByDigest,
];
