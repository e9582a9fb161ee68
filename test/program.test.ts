// The whole program (index.ts) evaluated under mocks for each committed stack file.
import { describe, expect, it } from "vitest";
import { localCommand } from "../components/repo";
import { planNodes } from "../components/swarm";
import { openstackInvokes, swarmScriptOutputs } from "./openstack/invokes";
import { loadConfig } from "./support/config";
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
    expect(ev.byType("flotilla:local:LocalSwarm")).toHaveLength(1);
    expect(ev.byType("flotilla:images:Images")).toHaveLength(1);
    expect(ev.byType("flotilla:stacks:Stacks")).toHaveLength(1);
    // keepalived is off on a one-node dev Swarm.
    expect(ev.byType("flotilla:stacks:KeepalivedStack")).toHaveLength(0);
    expect(ev.byType("flotilla:stacks:WebappStack")).toHaveLength(1);
    expect(ev.outputs.publicUrl).toBe("https://localhost:8443/");
    expect(ev.outputs.statsUrl).toBe("https://localhost:8404/stats");
    // No remote manager on dev: the local engine is the Swarm.
    expect(ev.outputs.managerSsh).toBeUndefined();
    expect(ev.outputs.nodes).toBeUndefined();
  });

  it("makes the local engine a labelled one-node Swarm through the bootstrap script", async () => {
    const ev = await evaluateStack("dev");
    const init = ev.one("command:local:Command", "flotilla-init");
    expect(ev.resources.find((r) => r.urn === init.parent)?.type).toBe("flotilla:local:LocalSwarm");
    // The script itself, inside the command (no checkout path in state).
    expect(String(init.inputs.create)).toBe(localCommand("scripts/host/local-swarm.sh"));
    expect(String(init.inputs.create)).toMatch(/ flotilla-local-swarm$/);
  });

  it("generates every secret the operator did not set, as Pulumi secrets", async () => {
    const ev = await evaluateStack("dev");
    const generated = ev.byType("random:index/randomPassword:RandomPassword").map((r) => r.name);
    expect(generated.sort()).toEqual([
      "flotilla-metricsPassword",
      "flotilla-monitoringPassword",
      "flotilla-mysqlExporterPassword",
      "flotilla-mysqlPassword",
      "flotilla-mysqlRootPassword",
      "flotilla-statsPassword",
    ]);
    expect(
      ev
        .byType("random:index/randomBytes:RandomBytes")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["flotilla-consulGossipKey", "flotilla-secretNameKey"]);
  });

  it("uses an operator-set secret instead of generating one", async () => {
    const ev = await evaluateStack("dev", {
      overrides: { "flotilla:statsPassword": "operator-chosen-password" },
      secretKeys: ["flotilla:statsPassword"],
    });
    const names = ev.byType("random:index/randomPassword:RandomPassword").map((r) => r.name);
    expect(names).not.toContain("flotilla-statsPassword");
    expect(names).toHaveLength(5);
    expect(ev.outputs.statsPassword).toBe("operator-chosen-password");
  });

  it("refuses a secret key set in plaintext (not `config set --secret`), without showing its value", async () => {
    const attempt = evaluateStack("dev", {
      overrides: { "flotilla:statsPassword": "plaintext-password-123" },
    });
    await expect(attempt).rejects.toThrow(
      /flotilla:statsPassword: expected a secret, got a plaintext value in the stack file \(not shown\); set it encrypted with `pulumi config set --secret flotilla:statsPassword`/,
    );
    await expect(attempt).rejects.not.toThrow(/plaintext-password-123/);
  });

  it("refuses a bad config before registering any resource", async () => {
    await expect(evaluateStack("dev", { overrides: { "flotilla:swarm": { managers: 2 } } })).rejects.toThrow(
      /flotilla:swarm\.managers: expected an odd number/,
    );
  });
});

describe("Pulumi.helion.yaml", () => {
  it("evaluates: the OpenStack cluster, seven pushed images, six stacks deployed on a manager", async () => {
    const ev = await helion();
    console.log(`helion registers ${ev.resources.length} resources:\n${graph(ev)}`);
    expect(ev.byType("flotilla:local:LocalSwarm")).toHaveLength(0);
    expect(ev.byType("flotilla:openstack:OpenStackCluster")).toHaveLength(1);
    expect(ev.byType("openstack:compute/instance:Instance")).toHaveLength(1 + 3 + 5);
    expect(ev.byType("docker:index/image:Image")).toHaveLength(7);
    const stacks = ev.resources.filter((r) => /^flotilla:stacks:\w+Stack$/.test(r.type)).map((r) => r.type);
    expect(stacks.sort()).toEqual(
      ["Consul", "Haproxy", "Keepalived", "Monitoring", "Mysql", "Webapp"]
        .map((s) => `flotilla:stacks:${s}Stack`)
        .sort(),
    );
    // Every deploy runs over SSH on the manager, none on the operator's machine.
    const deploys = ev
      .byType("command:remote:Command")
      .filter((c) => String(c.inputs.create).includes("stack"));
    expect(deploys.length).toBeGreaterThanOrEqual(5);
    expect(
      ev.byType("command:local:Command").filter((c) => String(c.inputs.create).includes("stack deploy")),
    ).toEqual([]);
    expect(String(ev.outputs.publicUrl)).toMatch(/^https:\/\/[\d.]+:443\/$/);
    expect(ev.outputs.bastionAddress).toBeTruthy();
    expect(ev.outputs.managerSsh).toMatch(/^ssh -J debian@[\d.]+ debian@10\.42\.0\.\d+$/);
    // Every node, with its role, labels, address and the line that reaches it through the bastion.
    const nodes = ev.outputs.nodes as Record<
      string,
      { role: string; labels: string[]; address: string; ssh: string }
    >;
    const config = loadConfig("helion");
    expect(Object.keys(nodes).sort()).toEqual(
      planNodes(config.swarm, config.mysql.nodes)
        .map((n) => n.key)
        .sort(),
    );
    expect(Object.values(nodes).filter((n) => n.role === "manager")).toHaveLength(config.swarm.managers);
    expect(Object.values(nodes).filter((n) => n.labels.includes("db"))).toHaveLength(config.mysql.nodes);
    for (const [key, n] of Object.entries(nodes)) {
      expect(n.address, key).toMatch(/^10\.42\.0\.\d+$/);
      expect(n.ssh, key).toBe(`ssh -J debian@${ev.outputs.bastionAddress} debian@${n.address}`);
    }
    expect(new Set(Object.values(nodes).map((n) => n.address)).size).toBe(Object.keys(nodes).length);
    expect(ev.outputs.managerSsh).toBe(nodes["manager-0"].ssh);
  });

  it("no generated secret appears in any input that Pulumi would store in plaintext", async () => {
    const ev = await helion();
    const generated = ev.byType("random:index/randomPassword:RandomPassword").map((r) => `mock-${r.name}-`);
    expect(generated).toHaveLength(6);
    for (const r of ev.resources) {
      for (const [key, value] of Object.entries(r.inputs)) {
        if (r.secretInputs.includes(key)) continue;
        const text = JSON.stringify(value) ?? "";
        for (const secret of generated) expect(text, `${r.type} ${r.name}.${key}`).not.toContain(secret);
      }
    }
  });
});

describe("Pulumi.lab.yaml", () => {
  const lab = () => evaluateStack("lab", { mockOutputs: swarmScriptOutputs });
  const CONTAINER = "docker:index/container:Container";

  it("declares the helion topology as VMs on one lab network: registry, bastion, 3 managers, 5 workers", async () => {
    const ev = await lab();
    console.log(`lab registers ${ev.resources.length} resources:\n${graph(ev)}`);
    const cluster = ev.one("flotilla:lab:LabCluster");
    expect(ev.byType("openstack:compute/instance:Instance")).toHaveLength(0);
    const network = ev.one("docker:index/network:Network");
    expect(network.inputs.ipamConfigs).toEqual([
      { subnet: "10.213.0.0/24", gateway: "10.213.0.1", ipRange: "10.213.0.128/25" },
    ]);
    const containers = ev.byType(CONTAINER);
    expect(containers.map((c) => c.name).sort()).toEqual(
      [
        "bastion",
        "manager-0",
        "manager-1",
        "manager-2",
        "registry",
        "worker-0",
        "worker-1",
        "worker-2",
        "worker-3",
        "worker-4",
      ].map((k) => `flotilla-lab-${k}`),
    );
    for (const c of containers) expect(c.parent).toBe(cluster.urn);
    // Only the bastion's SSH and the registry are published, and only on loopback.
    const published = containers.flatMap((c) =>
      ((c.inputs.ports as { ip: string; external: number; internal: number }[] | undefined) ?? []).map(
        (p) => `${c.name} ${p.ip}:${p.external}->${p.internal}`,
      ),
    );
    expect(published.sort()).toEqual([
      "flotilla-lab-bastion 127.0.0.1:2222->22",
      "flotilla-lab-registry 127.0.0.1:5000->5000",
    ]);
    // Every VM boots the cloud-init document a helion VM gets, as a secret seed.
    for (const c of containers.filter((c) => c.name !== "flotilla-lab-registry")) {
      expect(c.secretInputs, c.name).toContain("uploads");
      const uploads = c.inputs.uploads as { file: string; content: string }[];
      const userData = uploads.find((u) => u.file.endsWith("/user-data"))?.content ?? "";
      expect(userData, c.name).toMatch(/^#cloud-config\n/);
      expect(userData, c.name).toContain("sudo: ALL=(ALL) NOPASSWD:ALL");
    }
    expect(String(ev.outputs.publicUrl)).toBe("https://10.213.0.100:443/");
    expect(ev.outputs.bastionAddress).toBe("127.0.0.1:2222");
    // The first manager, through the lab bastion on 127.0.0.1:2222, as the program's commands go.
    expect(ev.outputs.managerSsh).toMatch(/^ssh -J debian@127\.0\.0\.1:2222 debian@10\.213\.0\.\d+$/);
    const nodes = ev.outputs.nodes as Record<string, { role: string; address: string; ssh: string }>;
    expect(Object.keys(nodes).sort()).toEqual([
      "manager-0",
      "manager-1",
      "manager-2",
      "worker-0",
      "worker-1",
      "worker-2",
      "worker-3",
      "worker-4",
    ]);
    for (const [key, n] of Object.entries(nodes))
      expect(n.ssh, key).toBe(`ssh -J debian@127.0.0.1:2222 debian@${n.address}`);
  });

  it("reaches every node through the bastion with pinned host keys and the lab's own key, deploys as root on manager-0", async () => {
    const ev = await lab();
    const remote = ev.byType("command:remote:Command");
    expect(remote.length).toBeGreaterThan(0);
    for (const cmd of remote) {
      const connection = cmd.inputs.connection as Record<string, unknown> & {
        proxy: Record<string, unknown>;
      };
      expect(cmd.secretInputs, cmd.name).toContain("connection");
      expect(connection.host, cmd.name).toMatch(/^10\.213\.0\.\d+$/);
      expect(connection.hostKey, cmd.name).toMatch(/^ssh-ed25519 /);
      expect(connection.proxy, cmd.name).toMatchObject({ host: "127.0.0.1", port: 2222, user: "debian" });
      expect(String(connection.proxy.hostKey)).toMatch(/^ssh-ed25519 /);
      expect(String(connection.privateKey)).toContain("OPENSSH PRIVATE KEY");
    }
    const deploys = remote.filter((c) => /-deploy$/.test(c.name));
    expect(deploys.length).toBeGreaterThanOrEqual(5);
    for (const d of deploys) {
      expect(String(d.inputs.create), d.name).toMatch(/^sudo -n bash -c /);
      expect((d.inputs.connection as { host: string }).host).toBe("10.213.0.10");
    }
  });

  it("pushes the images to the lab registry on 127.0.0.1 and deploys them by digest from its lab address", async () => {
    const ev = await lab();
    const images = ev
      .byType("docker:index/image:Image")
      .filter((i) => i.parent.endsWith("flotilla:images:Images::flotilla"));
    expect(images).toHaveLength(7);
    for (const i of images) {
      expect(String(i.inputs.imageName)).toMatch(/^127\.0\.0\.1:5000\/flotilla\//);
      expect(i.inputs.skipPush).toBe(false);
    }
    // The stacks deploy the same digests by the registry's lab address, which the nodes reach.
    const deploy = (stack: string) =>
      String(
        ev.byType("command:remote:Command").find((c) => c.name === `flotilla-${stack}-deploy`)?.inputs.stdin,
      );
    expect(deploy("webapp")).toMatch(/image: 10\.213\.0\.2:5000\/flotilla\/webapp@sha256:[0-9a-f]{64}\n/);
    expect(deploy("keepalived")).toContain("KEEPALIVED_VIP: 10.213.0.100/32");
    expect(deploy("keepalived")).toContain("KEEPALIVED_PEERS: 10.213.0.13,10.213.0.14");
  });

  it("gives each db node (one per Galera member) a volume of its own for the MySQL data path, as a Cinder volume on helion", async () => {
    const ev = await lab();
    for (const key of ["worker-2", "worker-3", "worker-4"]) {
      const db = ev.one(CONTAINER, `flotilla-lab-${key}`);
      const volumes = db.inputs.volumes as { containerPath: string; volumeName?: string }[];
      expect(volumes).toContainEqual({
        volumeName: `flotilla-lab-${key}-mysql-data`,
        containerPath: "/srv/flotilla/mysql",
      });
    }
    for (const key of ["worker-0", "worker-1", "manager-0"]) {
      const other = ev.one(CONTAINER, `flotilla-lab-${key}`);
      expect((other.inputs.volumes as { containerPath: string }[]).map((v) => v.containerPath)).not.toContain(
        "/srv/flotilla/mysql",
      );
    }
  });
});

describe("every Command's delete, on every target", () => {
  // The engine replaces a Command create-first, then runs the ORIGINAL's delete (the SDK
  // makes `triggers` replace: node_modules/@pulumi/command/local/command.js:155). So a
  // delete must never undo what its replacement just did. Each Command that has one is
  // listed here with the reason it cannot; a new one fails until someone has thought it
  // through.
  const SAFE_DELETES: { name: RegExp; script: string; triggers: RegExp; why: string }[] = [
    {
      name: /^flotilla-\w+-removal$/,
      script: "flotilla-stack-remove",
      triggers: /^\["flotilla-\w+"\]$/,
      why: "only the stack name triggers it: a replacement means a renamed stack, and the old name's stack is the one to remove",
    },
    {
      name: /-bootstrap-member-/,
      script: "flotilla-drain",
      triggers: /^\["nodeid-[\w-]+"\]$/,
      why: "the node ID triggers it: the original drains the OLD ID (a ghost), never the node the replacement labelled",
    },
    {
      name: /-mysql-data(-\d+)?-mount$/,
      script: "flotilla-unmount",
      triggers: /^\["[\w-]+-attach-id"\]$/,
      why: "the attachment triggers it, and an attachment is replaced delete-first, so the unmount runs before the new mount",
    },
  ];

  for (const stack of ["dev", "lab", "helion"] as const) {
    it(`${stack}: each Command with a delete is one whose replacement cannot be undone by it`, async () => {
      const ev =
        stack === "helion"
          ? await helion()
          : await evaluateStack(stack, stack === "lab" ? { mockOutputs: swarmScriptOutputs } : {});
      const commands = ev.resources.filter((r) => r.type.startsWith("command:"));
      expect(commands.length).toBeGreaterThan(5);
      for (const c of commands) {
        if (c.inputs.delete === undefined) continue;
        const entry = SAFE_DELETES.find((e) => e.name.test(c.name));
        expect(
          entry,
          `${c.name} has a delete; list it in SAFE_DELETES with why a replacement cannot undo it`,
        ).toBeDefined();
        expect(String(c.inputs.delete), c.name).toContain(` ${entry?.script}`);
        expect(JSON.stringify(c.inputs.triggers), c.name).toMatch(entry?.triggers as RegExp);
      }
      // And the stacks' deploys have neither: a changed document is an update.
      for (const d of commands.filter((c) => c.name.endsWith("-deploy"))) {
        expect(d.inputs.delete, d.name).toBeUndefined();
        expect(d.inputs.triggers, d.name).toBeUndefined();
      }
    });
  }
});
