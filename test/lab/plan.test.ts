import { describe, expect, it } from "vitest";
import { LAB_MAX_NODES, planLabAddresses } from "../../components/lab/plan";

describe("lab address plan", () => {
  const keys = ["manager-0", "manager-1", "manager-2", "worker-0", "worker-1", "worker-2"];

  it("gives the registry, bastion, nodes and VIP fixed addresses outside Docker's dynamic range", () => {
    const plan = planLabAddresses("10.213.0.0/24", keys);
    expect(plan.network).toEqual({
      subnet: "10.213.0.0/24",
      gateway: "10.213.0.1",
      ipRange: "10.213.0.128/25",
    });
    expect(plan.registry).toBe("10.213.0.2");
    expect(plan.bastion).toBe("10.213.0.3");
    expect(plan.nodes).toEqual({
      "manager-0": "10.213.0.10",
      "manager-1": "10.213.0.11",
      "manager-2": "10.213.0.12",
      "worker-0": "10.213.0.13",
      "worker-1": "10.213.0.14",
      "worker-2": "10.213.0.15",
    });
    expect(plan.vip).toBe("10.213.0.100");
    const all = [plan.registry, plan.bastion, plan.vip, ...Object.values(plan.nodes)];
    expect(new Set(all).size).toBe(all.length);
    // Nothing fixed lies in the dynamic range (.128/25), so Docker never hands it out.
    for (const a of all) expect(Number(a.split(".")[3])).toBeLessThan(128);
  });

  it("normalises a host address to its subnet and works for larger subnets", () => {
    const plan = planLabAddresses("172.30.5.7/16", keys);
    expect(plan.network.subnet).toBe("172.30.0.0/16");
    expect(plan.bastion).toBe("172.30.0.3");
    expect(plan.vip).toBe("172.30.0.100");
  });

  it("refuses subnets too small for the plan, and too many nodes", () => {
    expect(() => planLabAddresses("10.0.0.0/25", keys)).toThrow(/from \/8 to \/24, got '10.0.0.0\/25'/);
    expect(() => planLabAddresses("nonsense", keys)).toThrow(/got 'nonsense'/);
    const many = Array.from({ length: LAB_MAX_NODES + 1 }, (_, i) => `worker-${i}`);
    expect(() => planLabAddresses("10.0.0.0/24", many)).toThrow(/at most 90 nodes/);
  });
});
