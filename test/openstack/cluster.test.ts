// OpenStackCluster over the committed `helion` stack file, under Pulumi mocks: every
// resource, every security rule, the anti-affinity groups, the port/VIP wiring, the
// pinned jump-host connection of every remote command, and what stays secret.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../components/config";
import { OpenStackCluster } from "../../components/openstack";
import {
  type Evaluation,
  evaluate,
  mockAddress,
  type RecordedResource,
  stackConfig,
} from "../support/pulumi";
import { openstackInvokes, SWARM_TOKENS, swarmScriptOutputs } from "./invokes";

const invokes = openstackInvokes;

const TOKENS = SWARM_TOKENS;
const mockOutputs = swarmScriptOutputs;

/** The unmodified helion evaluation, computed once (each evaluation takes a few seconds). */
let plain: Promise<Evaluation> | undefined;
function helion(overrides: Record<string, unknown> = {}): Promise<Evaluation> {
  if (Object.keys(overrides).length === 0) {
    plain ??= evaluateHelion({});
    return plain;
  }
  return evaluateHelion(overrides);
}

/**
 * Helion's shape with one database server (3 workers: 2 lb, 1 db): what most tests here
 * look at. The committed file runs a Galera cluster (5 workers, mysql.nodes 3); its own
 * describe block below evaluates it unmodified.
 */
const ONE_DB = {
  "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 2 },
  "flotilla:mysql": { nodes: 1, volumeSizeGb: 50 },
};

async function evaluateHelion(overrides: Record<string, unknown>, committed = false): Promise<Evaluation> {
  const raw = stackConfig("helion", committed ? overrides : { ...ONE_DB, ...overrides });
  return evaluate(
    () => {
      const cluster = new OpenStackCluster("flotilla", { config: parseConfig(raw).config });
      return {
        publicAddress: cluster.publicAddress,
        bastionAddress: cluster.bastionAddress,
        mysqlDataPath: cluster.mysqlDataPath,
        lbPrivateAddresses: cluster.lbPrivateAddresses,
        vipAddress: cluster.vipAddress,
        managerConnection: cluster.managerConnection,
        ready: cluster.ready,
      };
    },
    { config: raw, invokes, stack: "helion", mockOutputs },
  );
}

const T = {
  instance: "openstack:compute/instance:Instance",
  port: "openstack:networking/port:Port",
  fip: "openstack:networking/floatingIp:FloatingIp",
  sg: "openstack:networking/secGroup:SecGroup",
  rule: "openstack:networking/secGroupRule:SecGroupRule",
  serverGroup: "openstack:compute/serverGroup:ServerGroup",
  remote: "command:remote:Command",
};

const id = (r: RecordedResource) => `${r.name}-id`;
const byId = (ev: Evaluation, value: unknown) => ev.resources.find((r) => id(r) === value);
/** The address the mock gives a port (or a floating IP). */
const ip = (r: RecordedResource) => mockAddress(r.type === T.fip ? "203.0.113" : "10.42.0", r.name);

describe("OpenStackCluster on the committed helion stack: a Galera cluster", () => {
  it("gives each of the 3 db nodes its own protected volume, mounted at mysql.dataPath, in a db anti-affinity group, labelled db_member", async () => {
    const ev = await evaluateHelion({}, true);
    const volumes = ev.byType("openstack:blockstorage/volume:Volume");
    expect(volumes).toHaveLength(3);
    for (const v of volumes) expect(v.protect, v.name).toBe(true);
    const attached = ev
      .byType("openstack:compute/volumeAttach:VolumeAttach")
      .map((a) => byId(ev, String(a.inputs.instanceId))?.name.replace(/^flotilla-swarm-/, ""))
      .sort();
    expect(attached).toEqual(["worker-2-vm", "worker-3-vm", "worker-4-vm"]);
    const groupOf = (name: string) => {
      const hints = ev.one(T.instance, name).inputs.schedulerHints as { group: string }[] | undefined;
      return hints ? byId(ev, hints[0].group)?.name : undefined;
    };
    const dbGroups = new Set(["worker-2-vm", "worker-3-vm", "worker-4-vm"].map(groupOf));
    expect(dbGroups.size).toBe(1);
    expect([...dbGroups][0]).toMatch(/db-anti-affinity/);
    for (const [i, w] of ["worker-2", "worker-3", "worker-4"].entries()) {
      const label = ev.one(T.remote, `member-${w}`);
      expect(String(label.inputs.create), w).toContain(`db_member=${i + 1}`);
      const mounts = ev
        .byType(T.remote)
        .filter((c) => c.name.includes("mysql-data") && c.name.endsWith("mount"));
      expect(
        mounts.some(
          (m) => (m.inputs.connection as { host: string }).host === ip(ev.one(T.port, `${w}-port`)),
        ),
      ).toBe(true);
    }
  });
});

describe("OpenStackCluster on the helion stack", () => {
  it("registers every resource of the cluster, each under a flotilla:openstack component (or the shared SwarmBootstrap)", async () => {
    const ev = await helion();
    console.log(
      `helion OpenStackCluster registers ${ev.resources.length} resources:\n${ev.resources.map((r) => `${r.type} ${r.name}`).join("\n")}`,
    );
    const count = (type: string) => ev.byType(type).length;
    expect(count("flotilla:openstack:OpenStackCluster")).toBe(1);
    for (const c of ["Network", "SecurityGroups", "Bastion", "Vip", "SwarmNodes", "DataVolume"])
      expect(count(`flotilla:openstack:${c}`), c).toBe(1);
    // The bootstrap is shared with other targets: components/swarm, aliased from its old token.
    expect(count("flotilla:swarm:SwarmBootstrap")).toBe(1);
    expect(count("openstack:compute/keypair:Keypair")).toBe(1);
    expect(count("openstack:networking/network:Network")).toBe(1);
    expect(ev.one("openstack:networking/subnet:Subnet").inputs).toMatchObject({
      cidr: "10.42.0.0/24",
      dnsNameservers: ["8.8.8.8"],
    });
    expect(ev.one("openstack:networking/router:Router").inputs.externalNetworkId).toBe("ext-net-id");
    expect(count("openstack:networking/routerInterface:RouterInterface")).toBe(1);
    expect(count(T.sg)).toBe(4);
    expect(count(T.instance)).toBe(1 + 3 + 3);
    expect(count(T.port)).toBe(1 + 6 + 1);
    expect(count(T.fip)).toBe(2);
    expect(count("tls:index/privateKey:PrivateKey")).toBe(7);
    // managers, lb nodes, and db nodes (a group even for one: hints are fixed at creation)
    expect(count(T.serverGroup)).toBe(3);
    expect(count("openstack:blockstorage/volume:Volume")).toBe(1);
    expect(count("openstack:compute/volumeAttach:VolumeAttach")).toBe(1);
    // init, join-tokens, 5 joins, 6 members (labels / drain), the volume mount
    expect(count(T.remote)).toBe(14);
    for (const r of ev.resources.filter((r) => r.custom))
      expect(ev.resources.find((p) => p.urn === r.parent)?.type, r.name).toMatch(
        /^flotilla:(openstack:|swarm:SwarmBootstrap$)/,
      );
  });

  it("opens exactly the rule table: least privilege, by security group", async () => {
    const ev = await helion();
    const groupName = (value: unknown) => byId(ev, value)?.name.replace("flotilla-sg-", "");
    const table = ev.byType(T.rule).map((r) => {
      const i = r.inputs;
      const ports = i.portRangeMin === undefined ? "" : `${i.portRangeMin}-${i.portRangeMax}`;
      const from = i.remoteIpPrefix ?? `group:${groupName(i.remoteGroupId)}`;
      return `${groupName(i.securityGroupId)} ${i.direction} ${i.protocol} ${ports} from ${from}`.replace(
        "  ",
        " ",
      );
    });
    expect(table.sort()).toEqual(
      [
        "bastion ingress tcp 22-22 from 203.0.113.0/24",
        "node ingress tcp 22-22 from group:bastion",
        "manager ingress tcp 2377-2377 from group:node",
        "node ingress tcp 7946-7946 from group:node",
        "node ingress udp 7946-7946 from group:node",
        "node ingress udp 4789-4789 from group:node",
        "lb ingress vrrp from group:lb",
        "lb ingress tcp 80-80 from 0.0.0.0/0",
        "lb ingress tcp 443-443 from 0.0.0.0/0",
        "lb ingress tcp 8404-8404 from 203.0.113.0/24",
        "manager ingress tcp 9090-9090 from group:bastion",
      ].sort(),
    );
  });

  it("no rule opens SSH, MySQL, HAProxy stats or the Consul UI to 0.0.0.0/0, and none mentions MySQL", async () => {
    const ev = await helion();
    for (const r of ev.byType(T.rule)) {
      const min = Number(r.inputs.portRangeMin ?? 1);
      const max = Number(r.inputs.portRangeMax ?? 65535);
      const covers = (port: number) => port >= min && port <= max;
      if (r.inputs.remoteIpPrefix === "0.0.0.0/0")
        for (const port of [22, 3306, 8404, 8500])
          expect(covers(port), `${r.name} opens ${port} to the world`).toBe(false);
      if (r.inputs.portRangeMin !== undefined) expect(covers(3306), `${r.name} covers MySQL`).toBe(false);
      expect(r.inputs.remoteIpPrefix === undefined || r.inputs.remoteGroupId === undefined).toBe(true);
    }
  });

  it("gives each port the groups of its role", async () => {
    const ev = await helion();
    const groupsOf = (name: string) =>
      (ev.one(T.port, name).inputs.securityGroupIds as string[]).map((g) => byId(ev, g)?.name).sort();
    expect(groupsOf("flotilla-bastion-port")).toEqual(["flotilla-sg-bastion"]);
    expect(groupsOf("manager-1-port")).toEqual(["flotilla-sg-manager", "flotilla-sg-node"]);
    expect(groupsOf("worker-0-port")).toEqual(["flotilla-sg-lb", "flotilla-sg-node"]);
    expect(groupsOf("worker-2-port")).toEqual(["flotilla-sg-node"]);
  });

  it("puts managers, load-balancer nodes and db nodes each in an anti-affinity group of their own", async () => {
    const ev = await helion();
    const groups = ev.byType(T.serverGroup);
    for (const g of groups) expect(g.inputs.policies).toEqual(["anti-affinity"]);
    const groupOf = (name: string) => {
      const hints = ev.one(T.instance, name).inputs.schedulerHints as { group: string }[] | undefined;
      return hints ? byId(ev, hints[0].group)?.name : undefined;
    };
    for (const m of ["manager-0", "manager-1", "manager-2"])
      expect(groupOf(`${m}-vm`)).toBe("flotilla-swarm-managers-anti-affinity");
    for (const w of ["worker-0", "worker-1"])
      expect(groupOf(`${w}-vm`)).toBe("flotilla-swarm-lb-anti-affinity");
    // The single db node is in a group of its own, ready for the members that may join it.
    expect(groupOf("worker-2-vm")).toBe("flotilla-swarm-db-anti-affinity");
    expect(ev.one(T.instance, "manager-0-vm").inputs.flavorName).toBe("standard.medium");
    expect(ev.one(T.instance, "worker-2-vm").inputs.flavorName).toBe("standard.large");
    expect(ev.one(T.instance, "bastion-vm").inputs.flavorName).toBe("standard.small");
  });

  it("reserves the VIP on its own port, allows it on the lb ports only, and publishes its floating IP", async () => {
    const ev = await helion();
    const vipPort = ev.one(T.port, "flotilla-vip-port");
    const vip = ip(vipPort);
    expect(vip).toMatch(/^10\.42\.0\.\d+$/);
    expect(ev.outputs.vipAddress).toBe(vip);
    for (const p of ev.byType(T.port)) {
      const pairs = p.inputs.allowedAddressPairs;
      if (/worker-[01]-port/.test(p.name)) expect(pairs, p.name).toEqual([{ ipAddress: vip }]);
      else expect(pairs, p.name).toBeUndefined();
    }
    const vipFip = ev.one(T.fip, "flotilla-vip-fip");
    expect(vipFip.inputs.portId).toBe(id(vipPort));
    expect(vipFip.inputs.pool).toBe("ext-net");
    expect(ev.outputs.publicAddress).toBe(ip(vipFip));
    expect(ev.outputs.publicAddress).toMatch(/^203\.0\.113\.\d+$/);
    expect(ev.outputs.lbPrivateAddresses).toEqual([
      ip(ev.one(T.port, "worker-0-port")),
      ip(ev.one(T.port, "worker-1-port")),
    ]);
    expect(ev.one(T.fip, "bastion-fip").inputs.portId).toBe(id(ev.one(T.port, "flotilla-bastion-port")));
    // A floating IP needs the subnet routed to the external network first.
    const routerInterface = ev.one("openstack:networking/routerInterface:RouterInterface");
    for (const fip of ev.byType(T.fip)) expect(fip.dependencies, fip.name).toContain(routerInterface.urn);
  });

  it("runs every remote command through the bastion, pinning both host keys, with dial retries", async () => {
    const ev = await helion();
    const bastionKey = ev.one("tls:index/privateKey:PrivateKey", "flotilla-bastion-host-key");
    const bastionFip = ev.outputs.bastionAddress;
    expect(bastionFip).toMatch(/^203\.0\.113\.\d+$/);
    const commands = ev.byType(T.remote);
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) {
      const conn = c.inputs.connection as Record<string, unknown> & { proxy: Record<string, unknown> };
      expect(conn.proxy, c.name).toMatchObject({ host: bastionFip, user: "debian" });
      expect(String(conn.proxy.hostKey)).toMatch(/^ssh-ed25519 /);
      expect(String(conn.proxy.hostKey)).toContain(
        Buffer.from(bastionKey.name).toString("base64").replace(/=/g, ""),
      );
      expect(String(conn.hostKey)).toMatch(/^ssh-ed25519 /);
      expect(conn.hostKey).not.toBe(conn.proxy.hostKey);
      expect(String(conn.host)).toMatch(/^10\.42\.0\.\d+$/);
      expect(Number(conn.dialErrorLimit)).toBeGreaterThanOrEqual(60);
      expect(Number(conn.proxy.dialErrorLimit)).toBeGreaterThanOrEqual(60);
      expect(Number(conn.perDialTimeout)).toBeGreaterThan(0);
    }
    // Each node's commands pin that node's own key and address.
    const join = ev.one(T.remote, "join-worker-1");
    const conn = join.inputs.connection as Record<string, unknown>;
    expect(conn.host).toBe(ip(ev.one(T.port, "worker-1-port")));
    expect(String(conn.hostKey)).toContain(
      Buffer.from("flotilla-swarm-worker-1-host-key").toString("base64").replace(/=/g, ""),
    );
    expect(ev.outputs.managerConnection).toMatchObject({ host: ip(ev.one(T.port, "manager-0-port")) });
  });

  it("connects directly (no proxy) with connection: direct", async () => {
    const base = stackConfig("helion");
    const os = JSON.parse(base["flotilla:openstack"]);
    const ev = await helion({ "flotilla:openstack": { ...os, connection: "direct" } });
    for (const c of ev.byType(T.remote)) {
      const conn = c.inputs.connection as Record<string, unknown>;
      expect(conn.proxy, c.name).toBeUndefined();
      expect(String(conn.hostKey)).toMatch(/^ssh-ed25519 /);
    }
  });

  it("bootstraps the Swarm: init, secret tokens, joins with the token on stdin, labels, drain on delete (no leave)", async () => {
    const ev = await helion();
    const cmd = (name: string) => ev.one(T.remote, name);
    // The first manager's address, then the other managers' (init refuses a second Swarm beside theirs).
    const managerIps = ["manager-0", "manager-1", "manager-2"].map((m) => ip(ev.one(T.port, `${m}-port`)));
    expect(String(cmd("flotilla-bootstrap-init").inputs.create)).toMatch(
      new RegExp(` flotilla-init ${managerIps.join(" ").replace(/\./g, "\\.")}$`),
    );
    // No leave on delete: a replaced init or join (created first) would take the node out
    // of the Swarm after it joined. A node's departure is its member's drain.
    expect(cmd("flotilla-bootstrap-init").inputs.delete).toBeUndefined();
    expect(cmd("flotilla-bootstrap-join-tokens").inputs.logging).toBe("none");
    expect(cmd("flotilla-bootstrap-join-tokens").dependencies).toContain(cmd("flotilla-bootstrap-init").urn);
    for (const key of ["manager-1", "manager-2", "worker-0", "worker-1", "worker-2"]) {
      const join = cmd(`flotilla-bootstrap-join-${key}`);
      const role = key.startsWith("manager") ? "manager" : "worker";
      expect(String(join.inputs.create)).toMatch(
        new RegExp(`flotilla-join ${role} 10\\.42\\.0\\.\\d+ 10\\.42\\.0\\.\\d+$`),
      );
      expect(join.secretInputs).toContain("stdin");
      expect(join.inputs.stdin).toBe(`${TOKENS[role]}\n`);
      expect(String(join.inputs.create)).not.toContain(TOKENS[role]);
      expect(JSON.stringify(join.inputs.connection)).not.toContain("SWMTKN-1-");
      expect(join.inputs.delete).toBeUndefined();
      expect(join.dependencies).toContain(cmd("flotilla-bootstrap-join-tokens").urn);
    }
    const labels = (key: string) =>
      String(cmd(`flotilla-bootstrap-member-${key}`).inputs.create).split("flotilla-label ")[1];
    expect(labels("manager-0")).toBe("nodeid-manager-0");
    expect(labels("manager-2")).toBe("nodeid-manager-2");
    expect(labels("worker-0")).toBe("nodeid-worker-0 lb=true");
    expect(labels("worker-1")).toBe("nodeid-worker-1 lb=true");
    expect(labels("worker-2")).toBe("nodeid-worker-2 db=true");
    expect(String(cmd("flotilla-bootstrap-member-worker-2").inputs.delete)).toMatch(
      /flotilla-drain nodeid-worker-2$/,
    );
    expect(ev.outputs.ready).toMatch(/swarm ready \(6 nodes\)/);
    for (const key of ["manager-0", "worker-2"]) {
      const member = cmd(`flotilla-bootstrap-member-${key}`);
      expect(String(member.inputs.delete)).toContain("flotilla-drain");
      // Labels and drains run on the first manager.
      expect((member.inputs.connection as { host: string }).host).toBe(ip(ev.one(T.port, "manager-0-port")));
      // A new node ID replaces the member: the original's drain removes the old ID (no ghost).
      expect(member.inputs.triggers).toEqual([`nodeid-${key}`]);
    }
    // The db node is labelled (MariaDB scheduled onto it) only after its volume is mounted.
    expect(cmd("flotilla-bootstrap-member-worker-2").dependencies).toEqual(
      expect.arrayContaining([cmd("flotilla-mysql-data-mount").urn]),
    );
  });

  it("keeps cloud-init (with private host keys) secret and password login off", async () => {
    const ev = await helion();
    for (const vm of ev.byType(T.instance)) {
      expect(vm.secretInputs, vm.name).toContain("userData");
      const userData = String(vm.inputs.userData);
      expect(userData.startsWith("#cloud-config\n")).toBe(true);
      expect(userData).toContain("ssh_pwauth: false");
      expect(userData).toContain("ed25519_private:");
      expect(userData.includes("docker.io")).toBe(!vm.name.includes("bastion"));
      expect(vm.inputs.keyPair).toBe("flotilla-helion-operator");
      expect(vm.ignoreChanges, vm.name).toContain("userData");
      expect(vm.inputs.imageName).toBe("debian-13-genericcloud-amd64");
    }
  });

  it("a running VM keeps its user-data, key pair, image and flavor: the change waits for a node replacement, and up says so", async () => {
    const ev = await helion();
    for (const vm of ev.byType(T.instance))
      expect([...vm.ignoreChanges].sort(), vm.name).toEqual([
        "flavorName",
        "imageName",
        "keyPair",
        "userData",
      ]);
    // A VM whose state still says the old image: the warning names the node, the key and both values.
    const warnings: string[] = [];
    const spy = vi.spyOn(pulumi.log, "warn").mockImplementation(async (msg: string) => {
      warnings.push(msg);
    });
    try {
      await evaluate(
        () => {
          new OpenStackCluster("flotilla", { config: parseConfig(stackConfig("helion", ONE_DB)).config });
          return {};
        },
        {
          config: stackConfig("helion", ONE_DB),
          invokes,
          stack: "helion",
          mockOutputs: (type, name, inputs) =>
            type === T.instance && name === "flotilla-swarm-worker-2-vm"
              ? { ...inputs, imageName: "debian-12-genericcloud-amd64" }
              : mockOutputs(type, name, inputs),
        },
      );
    } finally {
      spy.mockRestore();
    }
    expect(warnings).toEqual([
      expect.stringMatching(
        /^flotilla-swarm-worker-2 runs openstack\.image 'debian-12-genericcloud-amd64', the config says 'debian-13-genericcloud-amd64': running nodes keep theirs; replace them one at a time/,
      ),
    ]);
  });

  it("replaces a security-group rule delete-first (Neutron refuses a duplicate of a rule it still has)", async () => {
    const ev = await helion();
    const rules = ev.byType("openstack:networking/secGroupRule:SecGroupRule");
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) expect(rule.deleteBeforeReplace, rule.name).toBe(true);
  });

  it("attaches a protected volume to the db node and mounts it at mysql.dataPath", async () => {
    const ev = await helion();
    const volume = ev.one("openstack:blockstorage/volume:Volume");
    expect(volume.protect).toBe(true);
    expect(volume.inputs.size).toBe(50);
    const attach = ev.one("openstack:compute/volumeAttach:VolumeAttach");
    expect(attach.inputs.volumeId).toBe(id(volume));
    expect(attach.inputs.instanceId).toBe(id(ev.one(T.instance, "worker-2-vm")));
    const mount = ev.one(T.remote, "mysql-data-mount");
    expect(String(mount.inputs.create)).toContain(
      `flotilla-format-if-empty-and-mount /srv/flotilla/mysql /dev/disk/by-id/virtio-${id(volume).slice(0, 20)}`,
    );
    expect((mount.inputs.connection as { host: string }).host).toBe(ip(ev.one(T.port, "worker-2-port")));
    expect(mount.dependencies).toContain(attach.urn);
    expect(String(mount.inputs.delete)).toMatch(/flotilla-unmount \/srv\/flotilla\/mysql$/);
    expect(attach.deleteBeforeReplace).toBe(true);
    for (const c of ev.byType(T.remote)) expect(c.inputs.addPreviousOutputInEnv, c.name).toBe(false);
    expect(ev.outputs.mysqlDataPath).toBe("/srv/flotilla/mysql");
    expect(String(ev.outputs.ready)).toContain("MySQL data at /srv/flotilla/mysql");
  });

  it("is deterministic: a second evaluation registers the same resources with the same inputs", async () => {
    const snapshot = (ev: Evaluation) =>
      ev.resources
        .map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }))
        .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
    expect(snapshot(await evaluateHelion({}))).toEqual(snapshot(await helion()));
  });

  it("adding a worker adds only that worker's resources and leaves the other joins untouched", async () => {
    const before = await helion();
    const after = await helion({ "flotilla:swarm": { managers: 3, workers: 4, loadBalancerNodes: 2 } });
    const names = (ev: Evaluation) => new Set(ev.resources.map((r) => `${r.type} ${r.name}`));
    const added = [...names(after)].filter((n) => !names(before).has(n));
    expect(added.sort()).toEqual(
      [
        "command:remote:Command flotilla-bootstrap-join-worker-3",
        "command:remote:Command flotilla-bootstrap-member-worker-3",
        "openstack:compute/instance:Instance flotilla-swarm-worker-3-vm",
        "openstack:networking/port:Port flotilla-swarm-worker-3-port",
        "tls:index/privateKey:PrivateKey flotilla-swarm-worker-3-host-key",
      ].sort(),
    );
    expect([...names(before)].filter((n) => !names(after).has(n))).toEqual([]);
    for (const key of ["manager-1", "manager-2", "worker-0", "worker-1", "worker-2"]) {
      const a = before.one(T.remote, `join-${key}`).inputs;
      const b = after.one(T.remote, `join-${key}`).inputs;
      expect(b, key).toEqual(a);
    }
  });

  it("uses an existing network by name, creating no network, subnet or router", async () => {
    const os = JSON.parse(stackConfig("helion")["flotilla:openstack"]);
    const ev = await helion({ "flotilla:openstack": { ...os, existingNetwork: "shared-net" } });
    expect(ev.byType("openstack:networking/network:Network")).toHaveLength(0);
    expect(ev.byType("openstack:networking/subnet:Subnet")).toHaveLength(0);
    expect(ev.byType("openstack:networking/router:Router")).toHaveLength(0);
    for (const p of ev.byType(T.port)) {
      expect(p.inputs.networkId).toBe("shared-net-id");
      expect(p.inputs.fixedIps).toEqual([{ subnetId: "shared-net-id-subnet" }]);
    }
    expect(ev.invokes.map((i) => i.inputs.name).filter(Boolean)).toEqual(
      expect.arrayContaining(["ext-net", "shared-net"]),
    );
  });

  it("without keepalived: no VIP port, the public floating IP on the first lb node", async () => {
    const ev = await helion({ "flotilla:keepalived": { enabled: false } });
    expect(ev.byType("flotilla:openstack:Vip")).toHaveLength(0);
    for (const p of ev.byType(T.port)) expect(p.inputs.allowedAddressPairs).toBeUndefined();
    const fip = ev.one(T.fip, "public-fip");
    expect(fip.inputs.portId).toBe(id(ev.one(T.port, "worker-0-port")));
    expect(fip.dependencies).toContain(ev.one("openstack:networking/routerInterface:RouterInterface").urn);
    expect(ev.outputs.vipAddress).toBeUndefined();
  });

  it("refuses swarm.bootstrapManager outside the managers, naming the key", () => {
    const { issues } = (() => {
      try {
        parseConfig(
          stackConfig("helion", {
            ...ONE_DB,
            "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 2, bootstrapManager: 3 },
          }),
        );
        return { issues: "" };
      } catch (e) {
        return { issues: String(e) };
      }
    })();
    expect(issues).toMatch(
      /flotilla:swarm\.bootstrapManager.*expected the index of one of the 3 managers \(0 to 2\)/,
    );
  });

  it("puts the bootstrap manager first: its connection deploys, labels and inits", async () => {
    const ev = await helion({
      "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 2, bootstrapManager: 2 },
    });
    const m2 = ip(ev.one(T.port, "manager-2-port"));
    expect(String(ev.one(T.remote, "flotilla-bootstrap-init").inputs.create)).toMatch(
      new RegExp(` flotilla-init ${m2.replace(/\./g, "\\.")} `),
    );
    expect(
      (ev.one(T.remote, "flotilla-bootstrap-member-worker-0").inputs.connection as { host: string }).host,
    ).toBe(m2);
    expect(ev.resources.some((r) => r.name === "flotilla-bootstrap-join-manager-0")).toBe(true);
    expect(ev.resources.some((r) => r.name === "flotilla-bootstrap-join-manager-2")).toBe(false);
  });

  it("refuses a config that is not for OpenStack", async () => {
    await expect(
      evaluate(() => {
        new OpenStackCluster("x", { config: parseConfig({}).config });
        return {};
      }),
    ).rejects.toThrow(/flotilla:target must be 'openstack'/);
  });
});
