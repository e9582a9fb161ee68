// The Flotilla policy pack, run in every preview and update:
//   pulumi preview --policy-pack policy
// (CI does this for each OpenStack stack; see docs/ci-and-policies.md).
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("flotilla", {
  description: "Guardrails for Flotilla stacks: network exposure, quorums, data volumes, secrets, images.",
  enforcementLevel: "mandatory",
  policies,
});
