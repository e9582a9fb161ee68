// The rendered cloud-init documents: content, and validity under Debian's real
// `cloud-init schema` (cloud-init 22.4 from bookworm).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { engineLogFlags, engineLogSettings, renderCloudInit } from "../../components/swarm";
import { tempDir } from "../support/tempDir";

const dir = tempDir("flotilla-cloudinit-");

/** A real ed25519 key pair from ssh-keygen (a throwaway, in a temporary directory). */
function keyPair(): { privateKeyOpenssh: string; publicKeyOpenssh: string } {
  const file = path.join(dir, `key-${Math.random().toString(36).slice(2)}`);
  const gen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
  if (gen.status !== 0) throw new Error(`ssh-keygen failed: ${gen.stderr}`);
  return {
    privateKeyOpenssh: readFileSync(file, "utf8"),
    publicKeyOpenssh: readFileSync(`${file}.pub`, "utf8"),
  };
}

function schema(text: string): { ok: boolean; output: string } {
  const file = path.join(dir, `doc-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text, { mode: 0o600 });
  const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
  if (result.error)
    throw new Error(`cloud-init could not run (apt-get install cloud-init): ${result.error.message}`);
  return { ok: result.status === 0, output: result.stdout + result.stderr };
}

const operatorKey =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorKeyForTests00000000000000000000000 ops@test";

describe.each([
  ["Swarm node", true],
  ["bastion", false],
])("cloud-init of a %s", (_what, docker) => {
  const key = keyPair();
  const text = renderCloudInit({
    hostname: "flotilla-swarm-manager-0",
    sshUser: "debian",
    authorizedKeys: [operatorKey],
    hostKey: key,
    docker,
  });
  const doc = parse(text) as Record<string, unknown>;

  it("passes `cloud-init schema`", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const result = schema(text);
    expect(result.output).toMatch(/Valid cloud-config/);
    expect(result.ok).toBe(true);
  });

  it("turns password login off and installs only the program's host key", () => {
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.disable_root).toBe(true);
    expect(doc.ssh_deletekeys).toBe(true);
    expect(doc.ssh_keys).toEqual({
      ed25519_private: key.privateKeyOpenssh,
      ed25519_public: key.publicKeyOpenssh.trim(),
    });
    const users = doc.users as { name: string; lock_passwd: boolean; ssh_authorized_keys: string[] }[];
    expect(users[0]).toMatchObject({ name: "debian", lock_passwd: true, ssh_authorized_keys: [operatorKey] });
    expect(JSON.stringify(doc.write_files)).toContain("PasswordAuthentication no");
  });

  it(
    docker
      ? "sshd: no agent or X11 forwarding, MaxAuthTries 5"
      : "sshd: agent forwarding kept (connection: direct runs pulumi up here), no X11, MaxAuthTries 5",
    () => {
      const files = doc.write_files as { path: string; content: string }[];
      const sshd = files.find((f) => f.path === "/etc/ssh/sshd_config.d/50-flotilla.conf")?.content ?? "";
      expect(sshd).toMatch(new RegExp(`^AllowAgentForwarding ${docker ? "no" : "yes"}$`, "m"));
      expect(sshd).toMatch(/^X11Forwarding no$/m);
      expect(sshd).toMatch(/^MaxAuthTries 5$/m);
      expect(sshd).not.toMatch(/AllowTcpForwarding/);
    },
  );

  it(docker ? "installs the Docker engine" : "installs no Docker engine", () => {
    expect((doc.packages as string[]).includes("docker.io")).toBe(docker);
  });

  it(
    docker
      ? "makes the engine rotate container logs (json-file, 10m × 3 by default) in daemon.json"
      : "writes no daemon.json",
    () => {
      const files = doc.write_files as { path: string; content: string }[];
      const daemon = files.find((f) => f.path === "/etc/docker/daemon.json");
      if (!docker) return expect(daemon).toBeUndefined();
      expect(JSON.parse(daemon?.content ?? "")).toEqual({
        "log-driver": "json-file",
        "log-opts": { "max-size": "10m", "max-file": "3" },
      });
    },
  );

  it("has sorted keys (a re-render is byte-identical)", () => {
    const keys = Object.keys(doc);
    expect(keys).toEqual([...keys].sort());
    expect(
      renderCloudInit({
        hostname: "flotilla-swarm-manager-0",
        sshUser: "debian",
        authorizedKeys: [operatorKey],
        hostKey: key,
        docker,
      }),
    ).toBe(text);
  });
});

describe("cloud-init of a node with daemon.json settings (the lab's insecure registry)", () => {
  const key = keyPair();
  const args = {
    hostname: "lab-node-0",
    sshUser: "debian",
    authorizedKeys: [operatorKey],
    hostKey: key,
    docker: true,
    dockerDaemon: { "insecure-registries": ["10.213.0.2:5000"] },
  };
  const text = renderCloudInit(args);
  const doc = parse(text) as {
    write_files: { path: string; content: string; permissions: string }[];
    runcmd: string[][];
  };

  it("writes /etc/docker/daemon.json with write_files (before runcmd starts the engine) and passes `cloud-init schema`", () => {
    const file = doc.write_files.find((f) => f.path === "/etc/docker/daemon.json");
    expect(file?.permissions).toBe("0644");
    expect(JSON.parse(file?.content ?? "")).toEqual({
      "insecure-registries": ["10.213.0.2:5000"],
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
    });
    expect(doc.runcmd).toContainEqual(["systemctl", "enable", "--now", "docker"]);
    const result = schema(text);
    expect(result.output).toMatch(/Valid cloud-config/);
    expect(result.ok).toBe(true);
  });

  it("takes the log rotation from config logging (maxSize, maxFile), next to the other settings", () => {
    const custom = parse(renderCloudInit({ ...args, logging: { maxSize: "50m", maxFile: 5 } })) as typeof doc;
    const file = custom.write_files.find((f) => f.path === "/etc/docker/daemon.json");
    expect(JSON.parse(file?.content ?? "")).toEqual({
      "insecure-registries": ["10.213.0.2:5000"],
      "log-driver": "json-file",
      "log-opts": { "max-size": "50m", "max-file": "5" },
    });
  });

  it("refuses log settings given as daemon settings, or bad sizes and counts, naming the key", () => {
    expect(() => renderCloudInit({ ...args, dockerDaemon: { "log-opts": { "max-size": "1g" } } })).toThrow(
      /dockerDaemon: log-opts comes from logging/,
    );
    expect(() => renderCloudInit({ ...args, logging: { maxSize: "10MB", maxFile: 3 } })).toThrow(
      /logging\.maxSize: expected a size such as 10m/,
    );
    expect(() => renderCloudInit({ ...args, logging: { maxSize: "10m", maxFile: 0 } })).toThrow(
      /logging\.maxFile: expected a whole number of files, at least 1/,
    );
    expect(() =>
      renderCloudInit({
        ...args,
        docker: false,
        dockerDaemon: undefined,
        logging: { maxSize: "1m", maxFile: 2 },
      }),
    ).toThrow(/logging is only for a VM with docker: true/);
  });

  it("gives the same settings as docker run flags", () => {
    expect(engineLogSettings({ maxSize: "1k", maxFile: 2 })["log-opts"]).toEqual({
      "max-size": "1k",
      "max-file": "2",
    });
    expect(engineLogFlags({ maxSize: "1k", maxFile: 2 })).toEqual([
      "--log-driver",
      "json-file",
      "--log-opt",
      "max-size=1k",
      "--log-opt",
      "max-file=2",
    ]);
  });

  it("refuses daemon settings for a VM without an engine, or that are not an object", () => {
    expect(() => renderCloudInit({ ...args, docker: false })).toThrow(
      /dockerDaemon is only for a VM with docker: true/,
    );
    expect(() =>
      renderCloudInit({ ...args, dockerDaemon: ["x"] as unknown as Record<string, unknown> }),
    ).toThrow(/dockerDaemon: expected an object/);
  });
});

describe("cloud-init schema (the tool itself)", () => {
  it("rejects a broken document, so a pass above means something", () => {
    expect(schema("#cloud-config\npackages: notalist\n").ok).toBe(false);
  });
});
