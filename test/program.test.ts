// The whole program (index.ts) evaluated under mocks for each committed stack file.
import { describe, expect, it } from "vitest";
import { openstackInvokes, swarmScriptOutputs } from "./openstack/invokes";
import { type Evaluation, evaluateStack } from "./support/pulumi";

const helion = () => evaluateStack("helion", { invokes: openstackInvokes, mockOutputs: swarmScriptOutputs });

function graph(ev: Evaluation): string {
  return ev.resources.map((r) => `${r.type} ${r.name}`).join("\n");
}

describe("Pulumi.dev.yaml", () => {
  it("evaluates: every resource hangs under a flotilla component, nothing is parentless", async () => {
    const ev = await evaluateStack("dev");
    console.log(`dev registers ${ev.resources.length} resources:\n${graph(ev)}`);
    const stack = ev.one("pulumi:pulumi:Stack");
    for (const r of ev.resources.filter((r) => r !== stack)) {
      expect(r.parent, `${r.type} ${r.name} has no parent`).not.toBe("");
      if (r.parent === stack.urn)
        expect(r.type, `${r.name} sits at the top but is not a component`).toMatch(/^flotilla:/);
    }
    expect(ev.byType("flotilla:swarm:LocalSwarm")).toHaveLength(1);
    expect(ev.byType("flotilla:images:Images")).toHaveLength(1);
    expect(ev.byType("flotilla:stacks:Stacks")).toHaveLength(1);
    // keepalived is off on a one-node dev Swarm.
    expect(ev.byType("flotilla:stacks:KeepalivedStack")).toHaveLength(0);
    expect(ev.byType("flotilla:stacks:WebappStack")).toHaveLength(1);
    expect(ev.outputs.publicUrl).toBe("http://localhost:8080/");
    expect(ev.outputs.statsUrl).toBe("http://localhost:8404/stats");
  });

  it("makes the local engine a labelled one-node Swarm through the bootstrap script", async () => {
    const ev = await evaluateStack("dev");
    const init = ev.one("command:local:Command", "flotilla-init");
    expect(ev.resources.find((r) => r.urn === init.parent)?.type).toBe("flotilla:swarm:LocalSwarm");
    expect(String(init.inputs.create)).toMatch(/scripts\/host\/local-swarm\.sh$/);
  });

  it("generates every secret the operator did not set, as Pulumi secrets", async () => {
    const ev = await evaluateStack("dev");
    const generated = ev.byType("random:index/randomPassword:RandomPassword").map((r) => r.name);
    expect(generated.sort()).toEqual([
      "flotilla-keepalivedPassword",
      "flotilla-mysqlPassword",
      "flotilla-mysqlRootPassword",
      "flotilla-statsPassword",
    ]);
    expect(ev.byType("random:index/randomBytes:RandomBytes").map((r) => r.name)).toEqual([
      "flotilla-consulGossipKey",
    ]);
  });

  it("uses an operator-set secret instead of generating one", async () => {
    const ev = await evaluateStack("dev", {
      overrides: { "flotilla:statsPassword": "operator-chosen-password" },
      secretKeys: ["flotilla:statsPassword"],
    });
    const names = ev.byType("random:index/randomPassword:RandomPassword").map((r) => r.name);
    expect(names).not.toContain("flotilla-statsPassword");
    expect(names).toHaveLength(3);
    expect(ev.outputs.statsPassword).toBe("operator-chosen-password");
  });

  it("refuses a bad config before registering any resource", async () => {
    await expect(evaluateStack("dev", { overrides: { "flotilla:swarm": { managers: 2 } } })).rejects.toThrow(
      /flotilla:swarm\.managers: expected an odd number/,
    );
  });
});

describe("Pulumi.helion.yaml", () => {
  it("evaluates: the OpenStack cluster, six pushed images, five stacks deployed on a manager", async () => {
    const ev = await helion();
    console.log(`helion registers ${ev.resources.length} resources:\n${graph(ev)}`);
    expect(ev.byType("flotilla:swarm:LocalSwarm")).toHaveLength(0);
    expect(ev.byType("flotilla:openstack:OpenStackCluster")).toHaveLength(1);
    expect(ev.byType("openstack:compute/instance:Instance")).toHaveLength(1 + 3 + 3);
    expect(ev.byType("docker:index/image:Image")).toHaveLength(6);
    const stacks = ev.resources.filter((r) => /^flotilla:stacks:\w+Stack$/.test(r.type)).map((r) => r.type);
    expect(stacks.sort()).toEqual(
      ["Consul", "Haproxy", "Keepalived", "Mysql", "Webapp"].map((s) => `flotilla:stacks:${s}Stack`).sort(),
    );
    // Every deploy runs over SSH on the manager, none on the operator's machine.
    const deploys = ev
      .byType("command:remote:Command")
      .filter((c) => String(c.inputs.create).includes("stack"));
    expect(deploys.length).toBeGreaterThanOrEqual(5);
    expect(
      ev.byType("command:local:Command").filter((c) => String(c.inputs.create).includes("stack deploy")),
    ).toEqual([]);
    expect(String(ev.outputs.publicUrl)).toMatch(/^http:\/\/[\d.]+:80\/$/);
    expect(ev.outputs.bastionAddress).toBeTruthy();
  });

  it("no generated secret appears in any input that Pulumi would store in plaintext", async () => {
    const ev = await helion();
    const generated = ev.byType("random:index/randomPassword:RandomPassword").map((r) => `mock-${r.name}-`);
    expect(generated).toHaveLength(4);
    for (const r of ev.resources) {
      for (const [key, value] of Object.entries(r.inputs)) {
        if (r.secretInputs.includes(key)) continue;
        const text = JSON.stringify(value) ?? "";
        for (const secret of generated) expect(text, `${r.type} ${r.name}.${key}`).not.toContain(secret);
      }
    }
  });
});
