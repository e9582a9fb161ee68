// Prechecks before any resource on OpenStack (issue 21, item 6): what the stack needs,
// counted from the plans (pure, no mocks); the lookups under mocks whose answers fail or
// fall short, each problem naming the config key or quota; and the whole helion program,
// which registers no resource at all when the cloud cannot take it.
import { describe, expect, it } from "vitest";
import {
  type CloudLimits,
  capacityProblems,
  checkCloud,
  cloudDemand,
  headroomNotes,
} from "../../components/openstack";
import { loadConfig } from "../support/config";
import { evaluate, evaluateStack, type InvokeAnswers, type RecordedResource } from "../support/pulumi";
import { COMPUTE_LIMITS, openstackInvokes, swarmScriptOutputs } from "./invokes";

const helion = loadConfig("helion");
const flavor = (vcpus: number, ram: number, disk = 20) => ({ vcpus, ram, disk });
const FLAVORS = {
  bastion: { ...flavor(1, 1024), name: "standard.small" },
  manager: { ...flavor(2, 4096), name: "standard.medium" },
  worker: { ...flavor(4, 8192), name: "standard.large" },
};
const IMAGE = { name: "debian-13-genericcloud-amd64", minDiskGb: 3, minRamMb: 512 };
const ROOMY: CloudLimits = {
  compute: COMPUTE_LIMITS,
  volumes: { volumes: 10, gigabytes: 1000, perVolumeGigabytes: -1 },
  network: { floatingip: 10, port: 50, securityGroup: 10, securityGroupRule: 100 },
};

describe("what a stack needs from the project (pure)", () => {
  it("helion as committed: 9 VMs with their flavors' cores and RAM, 3 volumes of 50 GiB, 2 floating IPs", () => {
    const demand = cloudDemand(helion, FLAVORS);
    expect(demand).toMatchObject({
      instances: 1 + 3 + 5,
      cores: 1 + 3 * 2 + 5 * 4,
      ramMb: 1024 + 3 * 4096 + 5 * 8192,
      volumes: 3,
      volumeGb: 150,
      floatingIps: 2,
      serverGroups: 3,
      serverGroupMembers: 3,
      ports: 9 + 1,
      securityGroups: 4,
    });
  });

  it("a roomy project takes it; -1 is unlimited", () => {
    expect(capacityProblems(helion, FLAVORS, IMAGE, ROOMY)).toEqual([]);
    const unlimited: CloudLimits = {
      compute: { ...COMPUTE_LIMITS, maxTotalInstances: -1, maxTotalCores: -1, maxTotalRamSize: -1 },
      volumes: { volumes: -1, gigabytes: -1, perVolumeGigabytes: -1 },
      network: { floatingip: -1, port: -1, securityGroup: -1, securityGroupRule: -1 },
    };
    expect(capacityProblems(helion, FLAVORS, IMAGE, unlimited)).toEqual([]);
  });

  it("each short limit is one line naming the quota, what the stack needs and the limit", () => {
    const tight: CloudLimits = {
      compute: { ...COMPUTE_LIMITS, maxTotalInstances: 8, maxTotalCores: 20, maxServerGroupMembers: 2 },
      volumes: { volumes: 2, gigabytes: 1000, perVolumeGigabytes: 40 },
      network: { ...ROOMY.network, floatingip: 1 },
    };
    const problems = capacityProblems(helion, FLAVORS, IMAGE, tight);
    expect(problems).toEqual([
      expect.stringMatching(
        /^quota instances: this stack needs 9, the project's limit is 8 \(3 managers, 5 workers/,
      ),
      expect.stringMatching(/^quota cores: this stack needs 27, the project's limit is 20/),
      expect.stringMatching(/^quota server_group_members: this stack needs 3, the project's limit is 2/),
      expect.stringMatching(/^quota volumes: this stack needs 3, the project's limit is 2/),
      expect.stringMatching(
        /^flotilla:mysql\.volumeSizeGb: 50 GiB is over the project's per-volume limit of 40 GiB/,
      ),
      expect.stringMatching(/^quota floatingip: this stack needs 2, the project's limit is 1/),
    ]);
  });

  it("a flavor too small for the image names the flavor's key, both values and the image", () => {
    const small = { ...FLAVORS, bastion: { ...flavor(1, 256, 2), name: "tiny" } };
    expect(capacityProblems(helion, small, IMAGE, ROOMY)).toEqual([
      "flotilla:openstack.flavors.bastion: flavor 'tiny' has 256 MiB of RAM, image 'debian-13-genericcloud-amd64' (flotilla:openstack.image) needs at least 512",
      "flotilla:openstack.flavors.bastion: flavor 'tiny' has a 2 GiB disk, image 'debian-13-genericcloud-amd64' (flotilla:openstack.image) needs at least 3",
    ]);
  });

  it("free headroom under a first deploy's needs is a note, not a refusal (an update counts its own VMs as used)", () => {
    const busy: CloudLimits = { ...ROOMY, compute: { ...COMPUTE_LIMITS, totalInstancesUsed: 15 } };
    expect(capacityProblems(helion, FLAVORS, IMAGE, busy)).toEqual([]);
    expect(headroomNotes(helion, FLAVORS, busy)).toEqual([
      "instances: 5 free of 20; a first deploy of this stack needs 9 (fine if this stack's VMs already exist)",
    ]);
    expect(headroomNotes(helion, FLAVORS, ROOMY)).toEqual([]);
  });
});

/** Run checkCloud under mocks with some lookups answered differently; the error's problems, or [] when it passed. */
async function refusals(answers: InvokeAnswers, config = helion): Promise<string[]> {
  try {
    await evaluate(
      async () => {
        await checkCloud(config, "flotilla", "helion");
        return {};
      },
      { invokes: { ...openstackInvokes, ...answers }, stack: "helion" },
    );
    return [];
  } catch (err) {
    const problems = (err as { problems?: string[] }).problems;
    if (!problems) throw err;
    return problems;
  }
}

/** A provider's error as gRPC carries it (the SDK rethrows `details`). */
const providerError = (message: string) => Object.assign(new Error(message), { details: message });
const notFound = (what: string) => () => {
  throw providerError(
    `Your query returned no results. Please change your search criteria and try again.\n${what}`,
  );
};

describe("the lookups (mocked cloud)", () => {
  it("a cloud that has everything passes", async () => {
    expect(await refusals({})).toEqual([]);
  });

  it("a missing flavor, image or external network is refused naming the key and the value, all at once", async () => {
    const problems = await refusals({
      "openstack:compute/getFlavor:getFlavor": (inputs) => {
        if (inputs.name === "standard.medium") notFound("flavor")();
        return { vcpus: 2, ram: 4096, disk: 20 };
      },
      "openstack:images/getImage:getImage": () => {
        throw providerError(
          "Your query returned more than one result. Please try a more specific search criteria",
        );
      },
      "openstack:networking/getNetwork:getNetwork": notFound("network"),
    });
    expect(problems).toEqual([
      "flotilla:openstack.flavors.manager: flavor 'standard.medium' was not found (Your query returned no results. Please change your search criteria and try again.)",
      "flotilla:openstack.image: image 'debian-13-genericcloud-amd64' was not found (Your query returned more than one result. Please try a more specific search criteria)",
      "flotilla:openstack.externalNetwork: external network 'ext-net' was not found (Your query returned no results. Please change your search criteria and try again.)",
    ]);
  });

  it("an unknown availability zone lists the zones that exist", async () => {
    const config = loadConfig("helion", { "flotilla:openstack": { availabilityZone: "az9" } });
    const problems = await refusals(
      { "openstack:compute/getAvailabilityZones:getAvailabilityZones": () => ({ names: ["az1", "az2"] }) },
      config,
    );
    expect(problems).toEqual([
      "flotilla:openstack.availabilityZone: 'az9' is not an available zone (available: az1, az2)",
    ]);
  });

  it("a keypair of the stack's name holding another key is refused; the same key (a re-run) passes", async () => {
    const existing = (publicKey: string) => () => ({ publicKey, fingerprint: "aa:bb" });
    const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISomebodyElse0000000000000000000000000000000 x";
    expect(await refusals({ "openstack:compute/getKeypair:getKeypair": existing(other) })).toEqual([
      expect.stringMatching(
        /^flotilla:openstack\.sshPublicKey: a keypair named 'flotilla-helion-operator' already exists in this project with another key/,
      ),
    ]);
    const same = `${helion.openstack?.sshPublicKey.split(" ").slice(0, 2).join(" ")} another-comment`;
    expect(await refusals({ "openstack:compute/getKeypair:getKeypair": existing(same) })).toEqual([]);
  });

  it("the project's limits are read for the authenticated project and compared", async () => {
    const asked: string[] = [];
    const problems = await refusals({
      "openstack:identity/getAuthScope:getAuthScope": () => ({ projectId: "p-42" }),
      "openstack:blockstorage/getQuotasetV3:getQuotasetV3": (inputs) => {
        asked.push(String(inputs.projectId));
        return { volumes: 10, gigabytes: 100, perVolumeGigabytes: -1 };
      },
    });
    expect(asked).toEqual(["p-42"]);
    expect(problems).toEqual([
      expect.stringMatching(/^quota gigabytes: this stack needs 150, the project's limit is 100/),
    ]);
  });
});

describe("the helion program", () => {
  it("registers no resource when the cloud cannot take the stack, and says why", async () => {
    const recorded: RecordedResource[] = [];
    await expect(
      evaluateStack("helion", {
        invokes: { ...openstackInvokes, "openstack:compute/getFlavor:getFlavor": notFound("flavor") },
        mockOutputs: swarmScriptOutputs,
        recorded,
      }),
    ).rejects.toThrow(
      /the OpenStack project cannot take this stack \(3 problems, nothing was created\):\n {2}- flotilla:openstack\.flavors\.bastion: flavor 'standard\.small' was not found \(Your query returned no results/,
    );
    // Components wait too (their children need their URNs): only the stack itself registered.
    expect(recorded.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });

  it("asks the cloud before anything else when it can (every lookup made, then the resources)", async () => {
    const ev = await evaluateStack("helion", { invokes: openstackInvokes, mockOutputs: swarmScriptOutputs });
    const tokens = ev.invokes.map((i) => i.token);
    for (const token of [
      "openstack:compute/getFlavor:getFlavor",
      "openstack:images/getImage:getImage",
      "openstack:compute/getLimitsV2:getLimitsV2",
      "openstack:blockstorage/getQuotasetV3:getQuotasetV3",
      "openstack:networking/getQuotaV2:getQuotaV2",
    ])
      expect(tokens).toContain(token);
    expect(ev.byType("openstack:compute/instance:Instance")).toHaveLength(9);
  });
});
