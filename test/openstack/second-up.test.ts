// The second `pulumi up` of the helion program, as the engine would run it, without a
// cloud: the executor's engine (its per-type rules come from the providers' sources,
// tools/executor/rules.ts) over the real program's graph, with stand-in providers that
// only record what they are asked to do. It pins down the traps of ../shared/ENGINE.md on
// OpenStack: a new image or flavor does not rebuild or resize running VMs, a rotated key
// pair does not replace them, a release rolls stacks in place, and a VM replaced on
// purpose has its node drained and its data volume unmounted before it goes.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type ExecuteOptions, type ExecuteResult, execute } from "../../tools/executor/executor";
import type { ResourceHandler } from "../../tools/executor/types";
import { HELION_FILL_INS } from "../support/config";
import { ROOT } from "../support/pulumi";
import { tempDir } from "../support/tempDir";
import { openstackInvokes } from "./invokes";

const work = tempDir("flotilla-helion-second-up-");

const SWARM_ID = "fakeswarmclusterid0000001";
const KEY_BEFORE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbcdefghijklmnopqrstuvwxyz0123456789ABCD operator";
const KEY_AFTER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIZyxwvutsrqponmlkjihgfedcba9876543210DCBA operator";

/** Stand-ins: each call recorded as `<action> <name>`; outputs shaped as the program reads them. */
function fakes(calls: string[]): Record<string, ResourceHandler> {
  let n = 0;
  const outputs = (type: string, inputs: Record<string, unknown>): Record<string, unknown> => {
    n++;
    if (type.endsWith("port:Port")) return { allFixedIps: [`10.42.0.${10 + (n % 200)}`] };
    if (type.endsWith("floatingIp:FloatingIp")) return { address: `203.0.113.${n % 250}` };
    if (type.endsWith("volumeAttach:VolumeAttach")) return { device: "/dev/vdb" };
    if (type.endsWith("instance:Instance"))
      return { imageName: inputs.imageName, flavorName: inputs.flavorName };
    if (type === "docker:index/image:Image")
      return { repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${"a".repeat(64)}` };
    if (type.startsWith("command:")) {
      const create = String(inputs.create ?? "");
      // A node's ID is its machine's (the trigger: the VM's ID), whichever command prints it.
      const node = `node-${JSON.stringify(inputs.triggers)}`;
      if (create.includes(" flotilla-init ")) return { stdout: `${node}\n${SWARM_ID}`, stderr: "" };
      if (create.includes(" flotilla-join-tokens"))
        return {
          stdout: JSON.stringify({ manager: "SWMTKN-1-aaaa-m", worker: "SWMTKN-1-aaaa-w" }),
          stderr: "",
        };
      if (create.includes(" flotilla-join ")) return { stdout: node, stderr: "" };
      return { stdout: "", stderr: "" };
    }
    return {};
  };
  const handler = (type: string): ResourceHandler => ({
    create: async (inputs, ctx) => {
      calls.push(`create ${ctx.name}`);
      return { id: `${ctx.name}-${n}`, outputs: outputs(type, inputs) };
    },
    update: async (prior, inputs, ctx) => {
      calls.push(`update ${ctx.name}`);
      return { id: prior.id, outputs: outputs(type, inputs) };
    },
    delete: async (prior, ctx) => {
      const script = / (flotilla-[a-z-]+)/.exec(String(prior.inputs.delete ?? ""))?.[1];
      calls.push(`delete ${ctx.name}${script ? ` (runs ${script})` : ""}`);
    },
  });
  const types = [
    "command:local:Command",
    "command:remote:Command",
    "docker:index/image:Image",
    ...[
      "blockstorage/volume:Volume",
      "compute/instance:Instance",
      "compute/keypair:Keypair",
      "compute/serverGroup:ServerGroup",
      "compute/volumeAttach:VolumeAttach",
      "networking/floatingIp:FloatingIp",
      "networking/network:Network",
      "networking/port:Port",
      "networking/router:Router",
      "networking/routerInterface:RouterInterface",
      "networking/secGroup:SecGroup",
      "networking/secGroupRule:SecGroupRule",
      "networking/subnet:Subnet",
    ].map((t) => `openstack:${t}`),
  ];
  return Object.fromEntries(types.map((t) => [t, handler(t)]));
}

const state = path.join(work, "state.json");
/** The committed stack file's swarm section. */
const SWARM = (
  parseYaml(readFileSync(path.join(ROOT, "Pulumi.helion.yaml"), "utf8")) as { config: Record<string, object> }
).config["flotilla:swarm"];
/** The committed stack file's openstack section (an object key: an override replaces it whole). */
const OPENSTACK = (
  parseYaml(readFileSync(path.join(ROOT, "Pulumi.helion.yaml"), "utf8")) as { config: Record<string, object> }
).config["flotilla:openstack"];

/** One `up` of helion with the stand-ins, the openstack section changed by `openstack`. */
async function up(
  openstack: Record<string, unknown> = {},
  options: Partial<ExecuteOptions> = {},
): Promise<ExecuteResult & { calls: string[] }> {
  const calls: string[] = [];
  const result = await execute({
    stack: "helion",
    state,
    log: () => {},
    handlers: fakes(calls),
    invokes: openstackInvokes as NonNullable<ExecuteOptions["invokes"]>,
    ...options,
    config: {
      "flotilla:openstack": { ...OPENSTACK, sshPublicKey: KEY_BEFORE, ...openstack },
      // The committed file's registry is a placeholder the schema refuses.
      "flotilla:images": HELION_FILL_INS["flotilla:images"],
      ...options.config,
    },
  });
  return { ...result, calls };
}

const changed = (r: ExecuteResult, type: string) =>
  r.steps.filter((s) => s.type === type && s.op !== "same").map((s) => `${s.op} ${s.name}`);
const INSTANCE = "openstack:compute/instance:Instance";

describe("the second up of the helion program (stand-in OpenStack)", () => {
  it("first up, then unchanged: nothing runs", async () => {
    const first = await up();
    expect(first.summary.delete).toBe(0);
    expect(first.steps.filter((s) => s.type === INSTANCE)).toHaveLength(9);
    const again = await up();
    expect(again.calls).toEqual([]);
  }, 180_000);

  it("a new image and new flavors: no VM rebuilt, resized or replaced", async () => {
    const r = await up({
      image: "debian-14-genericcloud-amd64",
      flavors: { bastion: "standard.medium", manager: "standard.large", worker: "standard.xlarge" },
    });
    expect(changed(r, INSTANCE)).toEqual([]);
    expect(r.calls.filter((c) => / flotilla-swarm-|bastion-vm/.test(c))).toEqual([]);
  }, 180_000);

  it("a rotated SSH public key: the key pair is replaced, no VM is", async () => {
    const r = await up({ sshPublicKey: KEY_AFTER });
    // Its name is explicit: the bridge replaces it delete-first (the new one takes the name).
    expect(changed(r, "openstack:compute/keypair:Keypair")).toEqual([
      "delete flotilla-operator",
      "replace flotilla-operator",
    ]);
    expect(changed(r, INSTANCE)).toEqual([]);
    expect(r.calls.filter((c) => /-vm$/.test(c))).toEqual([]);
  }, 180_000);

  it("a db node's VM replaced on purpose: drained, MariaDB off it, volume unmounted and detached, then the VM; no stack removed", async () => {
    const r = await up({ sshPublicKey: KEY_AFTER }, { replace: ["flotilla-swarm-worker-2-vm"] });
    const at = (prefix: string) => r.calls.findIndex((c) => c.startsWith(prefix));
    const drain = at("delete flotilla-bootstrap-member-worker-2");
    const unmount = at("delete flotilla-mysql-data-mount");
    const detach = at("delete flotilla-mysql-data-attach");
    const vm = at("delete flotilla-swarm-worker-2-vm");
    expect(r.calls[drain]).toContain("runs flotilla-drain");
    expect(r.calls[unmount]).toContain("runs flotilla-unmount");
    expect([drain, unmount, detach, vm].every((i) => i >= 0)).toBe(true);
    expect(drain).toBeLessThan(unmount);
    expect(unmount).toBeLessThan(detach);
    expect(detach).toBeLessThan(vm);
    // Then: the VM, its attachment and mount, its join, its labels (after the mount).
    const created = (name: string) => at(`create ${name}`);
    expect(created("flotilla-swarm-worker-2-vm")).toBeGreaterThan(vm);
    expect(created("flotilla-mysql-data-mount")).toBeLessThan(created("flotilla-bootstrap-member-worker-2"));
    expect(created("flotilla-bootstrap-join-worker-2")).toBeLessThan(
      created("flotilla-bootstrap-member-worker-2"),
    );
    // The volume itself (protected) is untouched; no other node, no stack removed.
    expect(r.calls.filter((c) => /mysql-data-volume|removal/.test(c))).toEqual([]);
    // Delete-first (the program's option): the only VM touched.
    expect(changed(r, INSTANCE)).toEqual([
      "delete flotilla-swarm-worker-2-vm",
      "replace flotilla-swarm-worker-2-vm",
    ]);
  }, 180_000);

  it("the bootstrap role moved to manager-1: nothing removed or left, every Swarm command on manager-1", async () => {
    const r = await up(
      { sshPublicKey: KEY_AFTER },
      { config: { "flotilla:swarm": { ...SWARM, bootstrapManager: 1 } } },
    );
    // Init (and the token read) move to manager-1, already a manager of this Swarm: init
    // does nothing there. manager-0 joins like any manager (it already is: nothing to do).
    expect(
      r.steps
        .filter((s) => s.op === "replace")
        .map((s) => s.name)
        .sort(),
    ).toEqual(["flotilla-bootstrap-init", "flotilla-bootstrap-join-tokens"]);
    expect(r.calls).toContain("create flotilla-bootstrap-join-manager-0");
    // Deleted: the old init's original and manager-1's join, neither of which has a delete.
    expect(r.calls.filter((c) => c.startsWith("delete"))).toEqual(
      expect.arrayContaining(["delete flotilla-bootstrap-join-manager-1"]),
    );
    expect(r.calls.filter((c) => / \(runs /.test(c))).toEqual([]);
    expect(changed(r, INSTANCE)).toEqual([]);
    // The removals follow the new manager (an update of their connection: with no create
    // or update command, the provider runs nothing); none is deleted or replaced.
    const removals = r.steps.filter((s) => s.name.endsWith("-removal") && s.op !== "same");
    expect(removals.map((s) => `${s.op} ${s.changedKeys?.join(",")}`)).toEqual(
      Array(6).fill("update connection"),
    );
  }, 180_000);

  it("then manager-0's VM replaced: drained, demoted and removed from manager-1, then re-made, it joins as a manager", async () => {
    const r = await up(
      { sshPublicKey: KEY_AFTER },
      {
        config: { "flotilla:swarm": { ...SWARM, bootstrapManager: 1 } },
        replace: ["flotilla-swarm-manager-0-vm"],
      },
    );
    const at = (prefix: string) => r.calls.findIndex((c) => c.startsWith(prefix));
    expect(r.calls[at("delete flotilla-bootstrap-member-manager-0")]).toContain("runs flotilla-drain");
    expect(at("delete flotilla-bootstrap-member-manager-0")).toBeLessThan(
      at("delete flotilla-swarm-manager-0-vm"),
    );
    expect(at("create flotilla-swarm-manager-0-vm")).toBeLessThan(
      at("create flotilla-bootstrap-join-manager-0"),
    );
    expect(at("create flotilla-bootstrap-join-manager-0")).toBeLessThan(
      at("create flotilla-bootstrap-member-manager-0"),
    );
    // No init ran (it is manager-1's) and no other node or stack was touched.
    expect(r.calls.filter((c) => /bootstrap-init|removal/.test(c))).toEqual([]);
    expect(changed(r, INSTANCE)).toEqual([
      "delete flotilla-swarm-manager-0-vm",
      "replace flotilla-swarm-manager-0-vm",
    ]);
  }, 180_000);
});
