// The OpenStack target: OpenStackCluster composes network, security groups, bastion,
// VIP, Swarm VMs, bootstrap and the MySQL data volume; the rest is its parts.

export { type CloudDemand, type CloudLimits, capacityProblems, cloudDemand, headroomNotes } from "./capacity";
export { CloudCheckError, checkCloud } from "./cloudChecks";
export { OpenStackCluster, type OpenStackClusterArgs } from "./cluster";
export { type GroupName, groupsFor, type RuleSpec, securityRules } from "./plan";
