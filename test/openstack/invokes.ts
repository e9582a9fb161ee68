// Answers for the data-source lookups the OpenStack components make (the external
// network by name, an existing network and its subnet), for any mock evaluation of a
// `target: openstack` program: `evaluateStack("helion", { invokes: openstackInvokes })`.
import type { InvokeAnswers } from "../support/pulumi";

export const openstackInvokes: InvokeAnswers = {
  "openstack:networking/getNetwork:getNetwork": (inputs) => ({ id: `${inputs.name}-id`, name: inputs.name }),
  "openstack:networking/getSubnet:getSubnet": (inputs) => ({
    id: `${inputs.networkId}-subnet`,
    cidr: "10.77.0.0/24",
  }),
};
