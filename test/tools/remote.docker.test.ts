// The executor's Docker and SSH handlers against real software: an sshd image built by
// docker:Image, a network, two containers (a bastion with its SSH port published on
// 127.0.0.1, a node reachable only on the network) with host keys and authorized_keys
// uploaded before start, then command:remote through the bastion as ProxyJump with
// strict host key checking against the pinned keys, stdin piped. A wrong pinned key must
// fail. Teardown skips the remote delete (its host is removed) and removes the rest.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecuteResult, execute, teardown } from "../../tools/executor/executor";

const PREFIX = "flotilla-exectest";
const SUBNET = "10.231.77";
const work = mkdtempSync(path.join(tmpdir(), `${PREFIX}-`));
const journal = path.join(work, "journal.json");
const labels = [{ label: "flotilla.test", value: "1" }];
const lines: string[] = [];
const log = (l: string) => lines.push(l);

function dockerOk(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const available = dockerOk();
if (!available && process.env.FLOTILLA_REQUIRE_DOCKER)
  throw new Error("FLOTILLA_REQUIRE_DOCKER is set but the Docker engine does not answer");

/** sshd in the foreground with the uploaded host key; root logs in with the uploaded key only. */
const SSHD =
  "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -h /etc/ssh/ssh_host_ed25519_key -o PasswordAuthentication=no";

function program(opts: { wrongNodeKey?: boolean } = {}) {
  return () => {
    writeFileSync(
      path.join(work, "Dockerfile"),
      "FROM debian:trixie-slim\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server && rm -f /etc/ssh/ssh_host_*\n",
    );
    const image = new docker.Image(`${PREFIX}-sshd`, {
      imageName: `${PREFIX}-sshd:1`,
      build: { context: work, builderVersion: "BuilderV1" },
      skipPush: true,
    });
    const net = new docker.Network(`${PREFIX}-net`, {
      name: `${PREFIX}-net`,
      ipamConfigs: [{ subnet: `${SUBNET}.0/24`, gateway: `${SUBNET}.1` }],
      labels,
    });
    const user = new tls.PrivateKey(`${PREFIX}-user`, { algorithm: "ED25519" });
    const host = (name: string) => new tls.PrivateKey(`${PREFIX}-${name}-host`, { algorithm: "ED25519" });
    const bastionKey = host("bastion");
    const nodeKey = host("node");
    const otherKey = host("other");
    const sshdContainer = (name: string, key: tls.PrivateKey, ip: string, publish: boolean) =>
      new docker.Container(`${PREFIX}-${name}`, {
        name: `${PREFIX}-${name}`,
        image: image.repoDigest,
        hostname: name,
        entrypoints: ["/bin/sh", "-c"],
        command: [SSHD],
        labels,
        networksAdvanced: [{ name: net.name, ipv4Address: ip, aliases: [name] }],
        ports: publish ? [{ internal: 22, ip: "127.0.0.1" }] : [],
        uploads: [
          { file: "/etc/ssh/ssh_host_ed25519_key", content: key.privateKeyOpenssh, permissions: "0600" },
          { file: "/root/.ssh/authorized_keys", content: user.publicKeyOpenssh, permissions: "0600" },
        ],
        destroyGraceSeconds: 1,
      });
    const bastion = sshdContainer("bastion", bastionKey, `${SUBNET}.10`, true);
    const node = sshdContainer("node", nodeKey, `${SUBNET}.11`, false);
    const remote = new command.remote.Command(
      `${PREFIX}-remote`,
      {
        create: "hostname; cat; echo",
        stdin: "hello from stdin",
        delete: "echo bye",
        connection: {
          host: `${SUBNET}.11`,
          user: "root",
          privateKey: user.privateKeyOpenssh,
          hostKey: opts.wrongNodeKey ? otherKey.publicKeyOpenssh : nodeKey.publicKeyOpenssh,
          dialErrorLimit: 2,
          perDialTimeout: 5,
          proxy: {
            host: "127.0.0.1",
            port: bastion.ports.apply((p) => p?.[0]?.external ?? 0),
            user: "root",
            privateKey: user.privateKeyOpenssh,
            hostKey: bastionKey.publicKeyOpenssh,
            dialErrorLimit: 5,
          },
        },
      },
      { dependsOn: [node] },
    );
    return {
      remote: remote.stdout,
      networkDatas: node.networkDatas,
      bastionPort: bastion.ports.apply((p) => p?.[0]?.external),
      repoDigest: image.repoDigest,
      privateSeen: pulumi.secret(user.privateKeyOpenssh),
    };
  };
}

describe.skipIf(!available)(
  "executor: docker containers and command:remote over ssh through a bastion",
  () => {
    let result: ExecuteResult;
    beforeAll(async () => {
      await teardown({ stack: "dev", journal, log });
      result = await execute({ stack: "dev", journal, log, program: program() });
    }, 600_000);
    afterAll(async () => {
      await teardown({ stack: "dev", journal, log }).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    });

    it("ran the command on the node through the bastion with stdin, and returned real outputs", () => {
      expect(result.outputs.remote).toBe("node\nhello from stdin");
      expect(result.outputs.repoDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(result.outputs.bastionPort).toBeGreaterThan(0);
      expect(result.outputs.networkDatas).toEqual([
        expect.objectContaining({
          networkName: `${PREFIX}-net`,
          ipAddress: `${SUBNET}.11`,
          ipPrefixLength: 24,
          gateway: `${SUBNET}.1`,
        }),
      ]);
      // The uploaded files arrived with their modes before sshd started.
      const mode = execFileSync(
        "docker",
        ["exec", `${PREFIX}-node`, "stat", "-c", "%a %u", "/etc/ssh/ssh_host_ed25519_key"],
        {
          encoding: "utf8",
        },
      );
      expect(mode.trim()).toBe("600 0");
      expect(lines.join("\n")).not.toContain("PRIVATE KEY-----\n");
    });

    it("fails a connection whose pinned host key is not the host's, naming the resource and ssh's exit code", async () => {
      const wrongJournal = path.join(work, "wrong.json");
      // Only the remote command differs; reuse nothing: a second network would clash, so tear down first.
      const first = await teardown({ stack: "dev", journal, log });
      // Like `pulumi destroy`: dependents first, so the remote delete runs over ssh while
      // its node still exists, and nothing is skipped.
      expect(first.skipped).toEqual([]);
      const seq = (name: string) => first.steps.find((s) => s.name === name && s.op === "delete")?.seq;
      expect(seq(`${PREFIX}-remote`)).toBeLessThan(seq(`${PREFIX}-node`) ?? 0);
      const err = await execute({
        stack: "dev",
        journal: wrongJournal,
        log,
        program: program({ wrongNodeKey: true }),
      }).catch((e) => e);
      const down = await teardown({ stack: "dev", journal: wrongJournal, log });
      expect(err.resourceName).toBe(`${PREFIX}-remote`);
      expect(err.exitCode).toBe(255);
      expect(err.message).toMatch(
        /could not connect to root@10\.231\.77\.11:22 via 127\.0\.0\.1:\d+ after 2 attempt/,
      );
      expect(err.message).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION/);
      expect(down.undone).toBeGreaterThanOrEqual(3);
      const left = execFileSync(
        "docker",
        ["ps", "-a", "--filter", `name=${PREFIX}-`, "--format", "{{.Names}}"],
        {
          encoding: "utf8",
        },
      );
      expect(left.trim()).toBe("");
      const nets = execFileSync(
        "docker",
        ["network", "ls", "--filter", `name=${PREFIX}-`, "--format", "{{.Name}}"],
        {
          encoding: "utf8",
        },
      );
      expect(nets.trim()).toBe("");
    });
  },
);
