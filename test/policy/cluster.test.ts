// The OpenStack cluster as declared today (OpenStackCluster over the committed helion
// stack file, under Pulumi's mocks) passes every policy of the pack: what a CI preview of
// helion would report, without a cloud.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { OpenStackCluster } from "../../components/openstack";
import { openstackInvokes, swarmScriptOutputs } from "../openstack/invokes";
import { evaluate, stackConfig } from "../support/pulumi";
import { analyze, analyzeStack, by, fromRecorded, remediate, type TestResource } from "./harness";

describe("the helion OpenStack cluster under the policy pack", () => {
  it("has no violation and needs no remediation", async () => {
    const raw = stackConfig("helion");
    const ev = await evaluate(
      () => {
        new OpenStackCluster("flotilla", { config: parseConfig(raw).config });
        return {};
      },
      { config: raw, invokes: openstackInvokes, stack: "helion", mockOutputs: swarmScriptOutputs },
    );
    const resources: TestResource[] = ev.resources.map(fromRecorded);
    expect(
      resources.filter((r) => r.type === "openstack:networking/secGroupRule:SecGroupRule").length,
    ).toBeGreaterThan(5);
    const found: string[] = [];
    for (const r of resources) {
      for (const v of await analyze(r)) found.push(`${v.policy} (${v.level}): ${v.message}`);
      for (const x of await remediate(r)) found.push(`${x.policy}: remediated ${r.type} ${r.name}`);
    }
    for (const v of await analyzeStack(resources)) found.push(`${v.policy} (${v.level}): ${v.message}`);
    expect(found).toEqual([]);

    // The policies had something to check, and would catch a regression of it.
    const managers = resources.filter(
      (r) =>
        r.type === "openstack:compute/instance:Instance" &&
        JSON.stringify(r.props.metadata).includes('"manager"'),
    );
    expect(managers).toHaveLength(3);
    const extra = { ...managers[0], name: "flotilla-manager-extra" };
    expect(by("odd-quorums", await analyzeStack([...resources, extra])).map((v) => v.message)).toEqual([
      "4 Swarm managers (instances with metadata flotilla-role=manager): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure",
    ]);
    const volume = resources.find((r) => r.type === "openstack:blockstorage/volume:Volume");
    expect(volume?.protect).toBe(true);
    if (volume)
      expect(by("data-volumes-protected", await analyze({ ...volume, protect: false }))).toHaveLength(1);
  });
});
