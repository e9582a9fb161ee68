// What the OpenStack program asks of the cloud under mocks (network lookups) and what its
// remote scripts print (join tokens, node IDs), for evaluating helion in the policy tests.
import type { InvokeAnswers, MockOutputs } from "../support/pulumi";

export const openstackInvokes: InvokeAnswers = {
  "openstack:networking/getNetwork:getNetwork": (inputs) => ({ id: `${inputs.name}-id`, name: inputs.name }),
  "openstack:networking/getSubnet:getSubnet": (inputs) => ({
    id: `${inputs.networkId}-subnet`,
    cidr: "10.42.0.0/24",
  }),
};

export const openstackOutputs: MockOutputs = (type, name) => {
  if (type !== "command:remote:Command") return undefined;
  if (name.endsWith("-join-tokens"))
    return { stdout: '{"manager":"SWMTKN-1-a-b","worker":"SWMTKN-1-a-c"}\n' };
  return { stdout: "nodeid\n" };
};
