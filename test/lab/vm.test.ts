// The lab VM run spec: the flags and why they are what they are, the @pulumi/docker
// argument names it uses (checked against the SDK's own declarations), the docker CLI
// steps derived from it, the uploads archive (read back by GNU tar) and meta-data.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ContainerArgs } from "@pulumi/docker";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type ContainerSpec,
  dockerCreateArgs,
  dockerRunSteps,
  LAB_REGISTRY_PORT,
  LAB_VM_STOP_SIGNAL,
  type LabVmArgs,
  labRegistrySpec,
  labVmSpec,
  NOCLOUD_SEED_DIR,
  renderMetaData,
  uploadArchive,
} from "../../components/lab/vm";
import { DIND_FLAGS } from "../support/docker";
import { ROOT } from "../support/pulumi";

const ARGS: LabVmArgs = {
  name: "lab-node-0",
  hostname: "node-0",
  image: "flotilla/lab-vm:0.1.0",
  network: "lab",
  ipv4Address: "10.213.0.10",
  dockerVolume: "lab-node-0-docker",
  seed: { userData: "#cloud-config\nhostname: node-0\n", metaData: "instance-id: lab-node-0\n" },
  labels: { "flotilla.test": "1", "flotilla.lab": "x" },
};

/** GNU tar's listing and content of an archive given on stdin. */
function tar(args: string[], archive: Buffer): string {
  const r = spawnSync("tar", args, { input: archive, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tar ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describe("labVmSpec", () => {
  it("sets every flag a VM needs, with @pulumi/docker's names and shapes", () => {
    const spec = labVmSpec(ARGS);
    expect(spec).toEqual({
      name: "lab-node-0",
      image: "flotilla/lab-vm:0.1.0",
      hostname: "node-0",
      capabilities: { adds: ["ALL"], drops: ["SYS_RESOURCE"] },
      securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
      cgroupnsMode: "host",
      tmpfs: { "/run": "rw,nosuid,nodev,noexec,mode=755", "/run/lock": "rw,nosuid,nodev,noexec,size=5m" },
      volumes: [
        { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup", readOnly: false },
        { volumeName: "lab-node-0-docker", containerPath: "/var/lib/docker" },
      ],
      networksAdvanced: [{ name: "lab", ipv4Address: "10.213.0.10" }],
      ports: [],
      uploads: [
        { file: `${NOCLOUD_SEED_DIR}/meta-data`, content: ARGS.seed.metaData, permissions: "0644" },
        { file: `${NOCLOUD_SEED_DIR}/user-data`, content: ARGS.seed.userData, permissions: "0600" },
      ],
      labels: [
        { label: "flotilla.lab", value: "x" },
        { label: "flotilla.test", value: "1" },
      ],
      stopSignal: "SIGRTMIN+3",
    });
    // Assignable to the provider's own argument type (checked by tsc over the tests).
    const containerArgs: ContainerArgs = spec;
    expect(containerArgs.stopSignal).toBe(LAB_VM_STOP_SIGNAL);
  });

  it("uses only argument names the @pulumi/docker SDK declares for Container and its nested types", () => {
    const sdk = path.join(ROOT, "node_modules/@pulumi/docker");
    const declared = (file: string, iface: string) => {
      const text = readFileSync(path.join(sdk, file), "utf8");
      const body = text.slice(text.indexOf(`export interface ${iface} {`));
      return new Set(
        [...body.slice(0, body.indexOf("\n}")).matchAll(/^ {4}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]),
      );
    };
    const spec = labVmSpec({ ...ARGS, publishSsh: { hostIp: "127.0.0.1", hostPort: 2222 } });
    const container = declared("container.d.ts", "ContainerArgs");
    for (const key of Object.keys(spec)) expect(container, key).toContain(key);
    const nested: [string, object[]][] = [
      ["ContainerCapabilities", [spec.capabilities]],
      ["ContainerVolume", [...spec.volumes]],
      ["ContainerNetworksAdvanced", [...spec.networksAdvanced]],
      ["ContainerPort", [...spec.ports]],
      ["ContainerUpload", [...spec.uploads]],
      ["ContainerLabel", [...spec.labels]],
    ];
    for (const [iface, values] of nested) {
      const names = declared("types/input.d.ts", iface);
      for (const value of values)
        for (const key of Object.keys(value)) expect(names, `${iface}.${key}`).toContain(key);
    }
  });

  it("publishes sshd only when asked, on the given address, on a free port unless one is given", () => {
    expect(labVmSpec({ ...ARGS, publishSsh: { hostIp: "127.0.0.1" } }).ports).toEqual([
      { internal: 22, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(labVmSpec({ ...ARGS, publishSsh: { hostIp: "127.0.0.1", hostPort: 2222 } }).ports).toEqual([
      { internal: 22, ip: "127.0.0.1", protocol: "tcp", external: 2222 },
    ]);
    expect(labVmSpec({ ...ARGS, ipv4Address: undefined }).networksAdvanced).toEqual([{ name: "lab" }]);
  });

  it("passes values known only later (Pulumi outputs) through unchecked and unchanged", () => {
    const later = { later: true };
    const spec = labVmSpec<string | typeof later>({
      ...ARGS,
      network: later,
      dockerVolume: later,
      seed: { userData: later, metaData: "instance-id: x\n" },
    });
    expect(spec.networksAdvanced[0].name).toBe(later);
    expect(spec.volumes[1].volumeName).toBe(later);
    expect(spec.uploads[1].content).toBe(later);
  });

  it("refuses bad input, naming the argument and what was expected", () => {
    const cases: [Partial<LabVmArgs>, RegExp][] = [
      [{ name: "-bad" }, /name: expected a container name/],
      [{ hostname: "Node_0" }, /hostname: expected a lower-case DNS host name, got "Node_0"/],
      [{ image: " " }, /image: expected an image reference/],
      [{ network: "" }, /network: expected a Docker network name or ID/],
      [{ ipv4Address: "10.0.0.300" }, /ipv4Address: expected an IPv4 address, got "10.0.0.300"/],
      [{ dockerVolume: "a b" }, /dockerVolume: expected a Docker volume name/],
      [
        { seed: { userData: " \n", metaData: "x" } },
        /seed.userData: expected non-empty cloud-init user-data/,
      ],
      [{ seed: { userData: "x", metaData: "" } }, /seed.metaData: expected non-empty NoCloud meta-data/],
      [{ publishSsh: { hostIp: "localhost" } }, /publishSsh.hostIp: expected an IPv4 address/],
      [
        { publishSsh: { hostIp: "127.0.0.1", hostPort: 70000 } },
        /publishSsh.hostPort: expected a port from 1 to 65535/,
      ],
    ];
    for (const [bad, message] of cases)
      expect(() => labVmSpec({ ...ARGS, ...bad }), message.source).toThrow(message);
  });
});

describe("dockerCreateArgs and dockerRunSteps", () => {
  it("turn the spec into the docker create command line the provider's create amounts to", () => {
    const spec = labVmSpec({ ...ARGS, publishSsh: { hostIp: "127.0.0.1" } });
    expect(dockerCreateArgs(spec)).toEqual([
      "create",
      "--name",
      "lab-node-0",
      "--hostname",
      "node-0",
      "--label",
      "flotilla.lab=x",
      "--label",
      "flotilla.test=1",
      // What the suites' own Docker-in-Docker containers get.
      ...DIND_FLAGS,
      "--cgroupns=host",
      "--tmpfs",
      "/run:rw,nosuid,nodev,noexec,mode=755",
      "--tmpfs",
      "/run/lock:rw,nosuid,nodev,noexec,size=5m",
      "--volume",
      "/sys/fs/cgroup:/sys/fs/cgroup:rw",
      "--volume",
      "lab-node-0-docker:/var/lib/docker:rw",
      "--network",
      "lab",
      "--ip",
      "10.213.0.10",
      "--publish",
      "127.0.0.1::22/tcp",
      "--stop-signal",
      "SIGRTMIN+3",
      "flotilla/lab-vm:0.1.0",
    ]);
  });

  it("handles the other ContainerSpec keys (command, envs, read-only and anonymous volumes, restart)", () => {
    const spec: ContainerSpec = {
      name: "reg",
      image: "flotilla/lab-registry:0.1.0",
      command: ["serve", "/etc/docker/registry/config.yml"],
      envs: ["A=1"],
      volumes: [{ containerPath: "/data" }, { hostPath: "/etc/x", containerPath: "/x", readOnly: true }],
      networksAdvanced: [{ name: "lab", aliases: ["registry"] }],
      ports: [{ internal: 5000, ip: "127.0.0.1", external: 5001 }],
      stopTimeout: 20,
      restart: "unless-stopped",
    };
    expect(dockerCreateArgs(spec)).toEqual([
      "create",
      "--name",
      "reg",
      "--volume",
      "/data",
      "--volume",
      "/etc/x:/x:ro",
      "--network",
      "lab",
      "--network-alias",
      "registry",
      "--publish",
      "127.0.0.1:5001:5000/tcp",
      "--env",
      "A=1",
      "--stop-timeout",
      "20",
      "--restart",
      "unless-stopped",
      "flotilla/lab-registry:0.1.0",
      "serve",
      "/etc/docker/registry/config.yml",
    ]);
  });

  it("refuses a Container argument it does not translate, by name, instead of dropping it", () => {
    const spec = { ...labVmSpec(ARGS), privileged: true } as unknown as ContainerSpec;
    expect(() => dockerCreateArgs(spec)).toThrow(/unsupported Container argument 'privileged'/);
    const twoNets = { ...labVmSpec(ARGS), networksAdvanced: [{ name: "a" }, { name: "b" }] };
    expect(() => dockerCreateArgs(twoNets)).toThrow(/networksAdvanced: expected at most one network/);
    const both = {
      name: "x",
      image: "i",
      volumes: [{ containerPath: "/c", hostPath: "/h", volumeName: "v" }],
    };
    expect(() => dockerCreateArgs(both)).toThrow(/\/c has both hostPath and volumeName/);
  });

  it("create, copy the uploads in as one tar on stdin (never argv), start", () => {
    const spec = labVmSpec(ARGS);
    const steps = dockerRunSteps(spec, 1_700_000_000);
    expect(steps.map((s) => s.args[0])).toEqual(["create", "cp", "start"]);
    expect(steps[1].args).toEqual(["cp", "-", "lab-node-0:/"]);
    expect(steps[2].args).toEqual(["start", "lab-node-0"]);
    expect(steps[1].input).toEqual(uploadArchive(spec.uploads, 1_700_000_000));
    expect(steps.flatMap((s) => s.args).join(" ")).not.toContain("cloud-config");
    expect(dockerRunSteps({ name: "x", image: "i" }).map((s) => s.args[0])).toEqual(["create", "start"]);
  });
});

describe("uploadArchive", () => {
  it("is a tar GNU tar reads: absolute paths under /, root-owned, the provider's modes, exact content", () => {
    const long = `/var/lib/${"deep/".repeat(25)}file.txt`;
    const archive = uploadArchive(
      [
        { file: `${NOCLOUD_SEED_DIR}/user-data`, content: "#cloud-config\nsecret: ü\n", permissions: "0600" },
        { file: "/usr/local/bin/run", content: "#!/bin/sh\n", executable: true },
        { file: "/etc/plain", content: "" },
        { file: long, content: "x".repeat(1000) },
      ],
      1_700_000_000,
    );
    expect(archive.length % 512).toBe(0);
    const listing = tar(["-tvf", "-", "--numeric-owner", "--utc"], archive).trim().split("\n");
    expect(listing.map((l) => l.split(/\s+/).filter((_, i) => [0, 1, 5].includes(i)))).toEqual([
      ["-rw-------", "0/0", "var/lib/cloud/seed/nocloud/user-data"],
      ["-rwxr--r--", "0/0", "usr/local/bin/run"],
      ["-rw-r--r--", "0/0", "etc/plain"],
      ["-rw-r--r--", "0/0", long.slice(1)],
    ]);
    expect(listing[0]).toContain("2023-11-14 22:13");
    expect(tar(["-xOf", "-", "var/lib/cloud/seed/nocloud/user-data"], archive)).toBe(
      "#cloud-config\nsecret: ü\n",
    );
    expect(tar(["-xOf", "-", long.slice(1)], archive)).toBe("x".repeat(1000));
  });

  it("refuses relative or climbing paths and malformed permissions", () => {
    expect(() => uploadArchive([{ file: "etc/x", content: "" }])).toThrow(
      /file: expected an absolute file path/,
    );
    expect(() => uploadArchive([{ file: "/etc/../x", content: "" }])).toThrow(/without '\.\.'/);
    expect(() => uploadArchive([{ file: "/etc/x", content: "", permissions: "rw" }])).toThrow(
      /\/etc\/x: permissions: expected an octal mode such as "0600", got "rw"/,
    );
  });
});

describe("labRegistrySpec", () => {
  const args = {
    name: "lab-registry",
    image: "flotilla/lab-registry:0.1.0",
    network: "lab",
    ipv4Address: "10.213.0.2",
    dataVolume: "lab-registry-data",
    publish: { hostIp: "127.0.0.1" },
    labels: { "flotilla.test": "1" },
  };

  it("puts the registry on the lab network with its blobs on a volume, :5000 on 127.0.0.1 only", () => {
    const spec = labRegistrySpec(args);
    expect(spec).toEqual({
      name: "lab-registry",
      image: "flotilla/lab-registry:0.1.0",
      volumes: [{ volumeName: "lab-registry-data", containerPath: "/var/lib/docker-registry" }],
      restart: "unless-stopped",
      networksAdvanced: [{ name: "lab", ipv4Address: "10.213.0.2" }],
      ports: [{ internal: LAB_REGISTRY_PORT, ip: "127.0.0.1", protocol: "tcp" }],
      labels: [{ label: "flotilla.test", value: "1" }],
    });
    const containerArgs: ContainerArgs = spec;
    expect(containerArgs.name).toBe("lab-registry");
    expect(dockerCreateArgs(spec)).toContain("127.0.0.1::5000/tcp");
    expect(labRegistrySpec({ ...args, publish: { hostIp: "127.0.0.1", hostPort: 5001 } }).ports).toEqual([
      { internal: 5000, ip: "127.0.0.1", protocol: "tcp", external: 5001 },
    ]);
  });

  it("refuses bad input by name", () => {
    expect(() => labRegistrySpec({ ...args, dataVolume: "" })).toThrow(
      /dataVolume: expected a non-empty name/,
    );
    expect(() => labRegistrySpec({ ...args, ipv4Address: "x" })).toThrow(
      /ipv4Address: expected an IPv4 address/,
    );
    expect(() => labRegistrySpec({ ...args, publish: { hostIp: "" } })).toThrow(/publish.hostIp: expected/);
    expect(() => labRegistrySpec({ ...args, publish: { hostIp: "127.0.0.1", hostPort: 0 } })).toThrow(
      /publish.hostPort: expected a port/,
    );
  });
});

describe("renderMetaData", () => {
  it("gives NoCloud the instance ID and host name", () => {
    expect(parse(renderMetaData("lab-node-0", "node-0"))).toEqual({
      "instance-id": "lab-node-0",
      "local-hostname": "node-0",
    });
  });

  it("refuses what YAML or a host name cannot carry", () => {
    expect(() => renderMetaData("a\nb", "node-0")).toThrow(/instanceId: expected letters, digits/);
    expect(() => renderMetaData("x", "bad host")).toThrow(/hostname: expected a lower-case DNS host name/);
  });
});
