// What an OpenStack program asks of the cloud under mocks (the external network by name,
// an existing network and its subnet) and what its remote scripts print (join tokens,
// node IDs), for any mock evaluation of a `target: openstack` program:
// `evaluateStack("helion", { invokes: openstackInvokes, mockOutputs: swarmScriptOutputs })`.
import { type InvokeAnswers, MOCK_SWARM_ID, type MockOutputs } from "../support/pulumi";

export const openstackInvokes: InvokeAnswers = {
  "openstack:networking/getNetwork:getNetwork": (inputs) => ({ id: `${inputs.name}-id`, name: inputs.name }),
  "openstack:networking/getSubnet:getSubnet": (inputs) => ({
    id: `${inputs.networkId}-subnet`,
    cidr: "10.77.0.0/24",
  }),
  // The prechecks' lookups (components/openstack/cloudChecks.ts): a cloud that has it all.
  "openstack:compute/getFlavor:getFlavor": (inputs) => ({
    id: `${inputs.name}-id`,
    vcpus: 2,
    ram: 4096,
    disk: 20,
  }),
  "openstack:images/getImage:getImage": (inputs) => ({
    id: `${inputs.name}-id`,
    minDiskGb: 2,
    minRamMb: 512,
  }),
  "openstack:compute/getAvailabilityZones:getAvailabilityZones": () => ({ names: ["nova"] }),
  "openstack:compute/getKeypair:getKeypair": (inputs) => {
    throw new Error(`Unable to retrieve OpenStack keypair ${inputs.name}: Resource not found`);
  },
  "openstack:identity/getAuthScope:getAuthScope": () => ({ projectId: "project-0" }),
  "openstack:compute/getLimitsV2:getLimitsV2": () => ({ ...COMPUTE_LIMITS }),
  "openstack:blockstorage/getQuotasetV3:getQuotasetV3": () => ({
    volumes: 10,
    gigabytes: 1000,
    perVolumeGigabytes: -1,
  }),
  "openstack:networking/getQuotaV2:getQuotaV2": () => ({
    floatingip: 10,
    port: 50,
    securityGroup: 10,
    securityGroupRule: 100,
  }),
};

/** Nova's limits of a roomy, empty project. */
export const COMPUTE_LIMITS = {
  maxTotalInstances: 20,
  maxTotalCores: 40,
  maxTotalRamSize: 81920,
  maxServerGroups: 10,
  maxServerGroupMembers: 10,
  totalInstancesUsed: 0,
  totalCoresUsed: 0,
  totalRamUsed: 0,
};

/** Fake join tokens, as `join-tokens.sh` would print them. */
export const SWARM_TOKENS = {
  manager: "SWMTKN-1-clusterdigest0-managersecret0",
  worker: "SWMTKN-1-clusterdigest0-workersecret00",
};

/** The stdout of the swarm bootstrap's remote commands: the join tokens, each node's id (init: and the cluster's). */
export const swarmScriptOutputs: MockOutputs = (type, name) => {
  if (type !== "command:remote:Command") return undefined;
  if (name.endsWith("-join-tokens")) return { stdout: `${JSON.stringify(SWARM_TOKENS)}\n` };
  const node = /-(?:init|join-(.+))$/.exec(name);
  if (node) return { stdout: `nodeid-${node[1] ?? "manager-0"}\n${node[1] ? "" : `${MOCK_SWARM_ID}\n`}` };
  return undefined;
};
