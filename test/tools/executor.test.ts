// The rehearsal executor without Docker: dependency order under the real Pulumi runtime,
// generated values checked with OpenSSH's own tools, the ssh command line and known_hosts,
// secret masking, refusals, and the state/teardown cycle of a local command. The second
// `up` (update, replace, delete) is in executor-state.test.ts; the decisions in engine.test.ts.
import { execFileSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeCertificate } from "../../components/secrets";
import {
  type ExecuteOptions,
  ExecutionError,
  execute,
  loadStackConfig,
  teardown,
} from "../../tools/executor/executor";
import { containerCreateArgs, uploadFiles } from "../../tools/executor/handlers/dockerContainer";
import { buildArgv, repository } from "../../tools/executor/handlers/dockerImage";
import { networkCreateArgs } from "../../tools/executor/handlers/dockerNetwork";
import { generatePassword } from "../../tools/executor/handlers/random";
import { tarArchive } from "../../tools/executor/handlers/tar";
import { generateKey } from "../../tools/executor/handlers/tlsPrivateKey";
import { selfSignedCertificate } from "../../tools/executor/handlers/tlsSelfSignedCert";
import { CommandFailure } from "../../tools/executor/process";
import { SecretMask } from "../../tools/executor/secrets";
import {
  knownHostsLines,
  normaliseConnection,
  sshArgv,
  sshConfig,
  startSshSession,
} from "../../tools/executor/ssh";
import type { Handler } from "../../tools/executor/types";
import { selfSignedPem } from "../e2e/lib";
import { certificateOf } from "../support/https";
import { tempDir } from "../support/tempDir";
import { sleep } from "../support/time";

const work = tempDir("flotilla-executor-test-");

const quiet = () => {};

/** `execute` on the dev stack keeping no state, quiet unless `options` give a `log`. */
const rehearse = (
  program: ExecuteOptions["program"],
  options: Omit<ExecuteOptions, "stack" | "program"> = {},
) => execute({ stack: "dev", state: false, log: quiet, ...options, program });

/** A stand-in for a provider action that takes `ms` and echoes a value. */
const slowHandler =
  (ms: number): Handler =>
  async (inputs) => {
    await sleep(ms);
    return { id: "x", outputs: { stdout: `done:${String(inputs.create ?? "")}` } };
  };

describe("dependency order under the Pulumi runtime", () => {
  it("starts a resource only after what it depends on has finished, and runs independent ones concurrently", async () => {
    const result = await rehearse(
      () => {
        const slow = new command.local.Command("slow", { create: "slow" });
        const explicit = new command.local.Command("explicit", { create: "explicit" }, { dependsOn: [slow] });
        const viaInput = new command.local.Command("via-input", { create: slow.stdout });
        class Group extends pulumi.ComponentResource {
          constructor() {
            super("test:index:Group", "group");
            new command.local.Command("inner-slow", { create: "inner" }, { parent: this, dependsOn: [slow] });
            this.registerOutputs({});
          }
        }
        const group = new Group();
        const afterGroup = new command.local.Command(
          "after-group",
          { create: "after" },
          { dependsOn: [group] },
        );
        const free = new command.local.Command("free", { create: "free" });
        return {
          explicit: explicit.stdout,
          viaInput: viaInput.stdout,
          afterGroup: afterGroup.stdout,
          free: free.stdout,
        };
      },
      {
        handlers: {
          "command:local:Command": async (inputs, ctx) =>
            slowHandler(ctx.name === "slow" ? 600 : 50)(inputs, ctx),
        },
      },
    );
    const r = (name: string) => {
      const found = result.resources.find((x) => x.name === name);
      if (!found) throw new Error(`no resource ${name}`);
      return found;
    };
    expect(r("explicit").startedMs).toBeGreaterThanOrEqual(r("slow").finishedMs);
    expect(r("via-input").startedMs).toBeGreaterThanOrEqual(r("slow").finishedMs);
    expect(r("inner-slow").startedMs).toBeGreaterThanOrEqual(r("slow").finishedMs);
    // A component as dependsOn means all of its children.
    expect(r("after-group").startedMs).toBeGreaterThanOrEqual(r("inner-slow").finishedMs);
    // Nothing orders `free`: it ran while `slow` was still running.
    expect(r("free").finishedMs).toBeLessThan(r("slow").finishedMs);
    // The real output flowed into the dependent's input.
    expect(result.outputs.viaInput).toBe("done:done:slow");
    expect(r("group").custom).toBe(false);
  });

  it("aborts on the first failure with the resource, exit code and masked stderr; dependents never start", async () => {
    const started: string[] = [];
    const err = await rehearse(
      () => {
        const pw = new random.RandomPassword("pw", { length: 24, special: false });
        const bad = new command.local.Command("bad", { create: pw.result });
        new command.local.Command("after-bad", { create: "x" }, { dependsOn: [bad] });
        return {};
      },
      {
        handlers: {
          "command:local:Command": async (inputs, ctx) => {
            started.push(ctx.name);
            if (ctx.name === "bad")
              throw new CommandFailure("command:local bad", 3, `cannot use ${inputs.create}\n`);
            return { id: "x", outputs: { stdout: "" } };
          },
        },
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.resourceType).toBe("command:local:Command");
    expect(err.resourceName).toBe("bad");
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/command:local:Command bad failed: .*exit code 3/);
    expect(err.message).toContain("cannot use [secret]");
    expect(err.message).not.toMatch(/cannot use [A-Za-z0-9]{24}/);
    expect(started).not.toContain("after-bad");
  });

  it("kills actions still in flight when another resource fails", async () => {
    const t0 = Date.now();
    const err = await rehearse(() => {
      new command.local.Command("sleeper", { create: "sleep 30" });
      new command.local.Command("fails", { create: "sleep 0.3; echo broken >&2; exit 4" });
      return {};
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.resourceName).toBe("fails");
    expect(err.stderr).toContain("broken");
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it("refuses a resource type it does not implement, naming it", async () => {
    const err = await rehearse(() => {
      class Instance extends pulumi.CustomResource {}
      new Instance("openstack:compute/instance:Instance", "vm", {});
      return {};
    }).catch((e) => e);
    expect(err.message).toContain(
      "the rehearsal executor does not implement openstack:compute/instance:Instance: it is for the local and lab targets",
    );
  });

  it("reports an error thrown by the program itself", async () => {
    const err = await rehearse(() => {
      throw new Error("bad config: flotilla:nodes");
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toContain("the program failed: bad config: flotilla:nodes");
  });
});

describe("outputs and secrets", () => {
  it("marks generated secrets secret, keeps them out of resources and logs, and returns secret stack outputs apart", async () => {
    const lines: string[] = [];
    const result = await rehearse(
      () => {
        const pw = new random.RandomPassword("pw", { length: 30, special: false });
        const key = new tls.PrivateKey("key", { algorithm: "ED25519" });
        const echo = new command.local.Command("echo", {
          create: "printf 'pw=%s\\n\\n' \"$PW\"",
          environment: { PW: pw.result },
        });
        return {
          pw: pw.result,
          pub: key.publicKeyOpenssh,
          echoed: echo.stdout,
          isSecret: pulumi.output(pw.result),
        };
      },
      { log: (l) => lines.push(l) },
    );
    const pw = String(result.secretOutputs.pw);
    expect(pw).toMatch(/^[A-Za-z0-9]{30}$/);
    expect(result.outputs.pw).toBe("[secret]");
    expect(String(result.outputs.pub)).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/]+=*\n$/);
    // The provider trims exactly one trailing newline; a secret inside a plain output is masked.
    expect(result.outputs.echoed).toBe("pw=[secret]\n");
    const all = JSON.stringify(result.resources) + lines.join("\n");
    expect(all).not.toContain(pw);
    expect(result.resources.find((r) => r.name === "key")?.outputs.privateKeyOpenssh).toBe("[secret]");
  });

  it("masks each secret, its base64 form and the lines of a multi-line one", () => {
    const mask = new SecretMask();
    mask.add("hunter2-is-a-password");
    mask.add("-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n");
    mask.add("abc"); // too short to mask anything safely
    const b64 = Buffer.from("hunter2-is-a-password").toString("base64");
    expect(mask.mask(`x hunter2-is-a-password y ${b64} z`)).toBe("x [secret] y [secret] z");
    expect(mask.mask("line: AAAAB3NzaC1yc2EAAAADAQABAAABAQ")).toBe("line: [secret]");
    expect(mask.mask("abc")).toBe("abc");
    expect(mask.reveals("... hunter2-is-a-password")).toBe(true);
  });

  it("leaves certificates and public keys whole inside a secret PEM, and masks its private key", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const pubPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const cert =
      "-----BEGIN CERTIFICATE-----\nMIIBtDCCAVqgAwIBAgIQChU4K3o0SZK2VJ82H9+lLTAKBggqhkjOPQQDAjA4MR8w\n-----END CERTIFICATE-----\n";
    const mask = new SecretMask();
    mask.add(`${cert}${keyPem}`); // the edge's tlsPem: chain, then key
    mask.add(pubPem); // a key resource's public half, among its secret outputs
    expect(mask.mask(`out: ${cert}`)).toBe(`out: ${cert}`);
    expect(mask.mask(pubPem)).toBe(pubPem);
    expect(mask.mask(keyPem)).not.toContain(keyPem.split("\n")[1]);
    expect(mask.reveals(keyPem)).toBe(true);
  });

  it("never masks inside a certificate, even where its key's PEM lines (which hold the public point) match", () => {
    // A real pair from openssl (the certificate, then its key).
    for (let i = 0; i < 8; i++) {
      const pem = selfSignedPem("DNS:x");
      const cert = certificateOf(pem);
      const keyPem = pem.slice(cert.length).trimStart();
      const mask = new SecretMask();
      for (const line of keyPem.split("\n")) mask.add(line); // every key line a secret, the worst case
      mask.add(keyPem);
      expect(mask.mask(`cert: ${cert}`)).toBe(`cert: ${cert}`);
      expect(mask.mask(`key: ${keyPem}`)).not.toContain(keyPem.split("\n")[1]);
    }
  });
});

describe("random handlers", () => {
  it("honours length, classes, overrideSpecial and minimums", () => {
    for (let i = 0; i < 20; i++) {
      const p = generatePassword({
        length: 16,
        special: true,
        overrideSpecial: "_%",
        minSpecial: 3,
        minNumeric: 2,
        upper: false,
      });
      expect(p).toHaveLength(16);
      expect(p).toMatch(/^[a-z0-9_%]+$/);
      expect((p.match(/[_%]/g) ?? []).length).toBeGreaterThanOrEqual(3);
      expect((p.match(/[0-9]/g) ?? []).length).toBeGreaterThanOrEqual(2);
    }
    expect(generatePassword({ length: 40, special: false })).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(() => generatePassword({ length: 2, minUpper: 2, minLower: 1 })).toThrow(
      /less than the sum of the min\* inputs/,
    );
    expect(() => generatePassword({ length: 8, upper: false, minUpper: 1 })).toThrow(/minUpper/);
  });

  it("returns bytes as base64 and hex, a UUID, and an id in every encoding", async () => {
    const result = await rehearse(() => {
      const bytes = new random.RandomBytes("b", { length: 32 });
      const uuid = new random.RandomUuid("u", {});
      const id = new random.RandomId("i", { byteLength: 8, prefix: "p-" });
      return { b64: bytes.base64, hex: bytes.hex, uuid: uuid.result, hexId: id.hex, dec: id.dec };
    });
    const b64 = String(result.secretOutputs.b64);
    expect(Buffer.from(b64, "base64")).toHaveLength(32);
    expect(result.secretOutputs.hex).toBe(Buffer.from(b64, "base64").toString("hex"));
    expect(result.outputs.uuid).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(result.outputs.hexId).toMatch(/^p-[0-9a-f]{16}$/);
    expect(BigInt(`0x${String(result.outputs.hexId).slice(2)}`).toString()).toBe(
      String(result.outputs.dec).slice(2),
    );
  });
});

describe("tls private keys (checked with OpenSSH's ssh-keygen and ssh-add)", () => {
  let agent: Awaited<ReturnType<typeof startSshSession>>;
  beforeAll(async () => {
    agent = await startSshSession();
  });
  afterAll(() => agent.close());

  for (const algorithm of ["ED25519", "RSA", "ECDSA"]) {
    it(`${algorithm}: the public key parses, its fingerprint matches, the private key yields it`, async () => {
      const key = generateKey({ algorithm, ecdsaCurve: "P256" });
      await agent.addKey(key.privateKeyOpenssh);
      const pubFile = path.join(work, `${algorithm}.pub`);
      writeFileSync(pubFile, key.publicKeyOpenssh);
      const listed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile], { encoding: "utf8" });
      expect(listed).toContain(key.publicKeyFingerprintSha256);
      // OpenSSH loads the private key (into an agent, from memory) and lists the same public key.
      const listedByAgent = execFileSync("ssh-add", ["-L"], {
        encoding: "utf8",
        env: { ...process.env, SSH_AUTH_SOCK: agent.agentSocket },
      });
      expect(listedByAgent.split("\n").map((l) => l.split(" ").slice(0, 2).join(" "))).toContain(
        key.publicKeyOpenssh.trim(),
      );
      expect(key.privateKeyOpenssh).toMatch(
        /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
      );
      expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(key.publicKeyFingerprintMd5).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    });
  }

  it("uses the provider's PEM types: PKCS#1 for RSA, PKCS#8 for ED25519", () => {
    expect(generateKey({ algorithm: "RSA" }).privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(generateKey({ algorithm: "ED25519" }).privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(() => generateKey({ algorithm: "DSA" })).toThrow(
      /input 'algorithm': expected RSA, ECDSA or ED25519/,
    );
  });
});

describe("tls self-signed certificates (checked with openssl)", () => {
  const inputs = (privateKeyPem: string) => ({
    privateKeyPem,
    subject: { commonName: "shop.example.org", organization: "Flotilla (self-signed)" },
    dnsNames: ["shop.example.org", "localhost"],
    ipAddresses: ["203.0.113.9"],
    validityPeriodHours: 48,
    earlyRenewalHours: 12,
    allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
  });

  for (const algorithm of ["ECDSA", "RSA", "ED25519"]) {
    it(`${algorithm}: openssl verifies the signature with the key's own public key, and reads the names, uses and dates`, async () => {
      const key = generateKey({ algorithm, ecdsaCurve: "P256" });
      const cert = await selfSignedCertificate(inputs(key.privateKeyPem));
      const certFile = path.join(work, `self-signed-${algorithm}.pem`);
      writeFileSync(certFile, cert.certPem);
      // Self-signed: the certificate verifies against itself as the only trust anchor.
      const verified = execFileSync(
        "openssl",
        ["verify", "-CAfile", certFile, "-check_ss_sig", "-purpose", "sslserver", certFile],
        { encoding: "utf8" },
      );
      expect(verified).toContain(": OK");
      const text = execFileSync("openssl", ["x509", "-in", certFile, "-noout", "-text"], {
        encoding: "utf8",
      });
      expect(text).toContain("Subject: O = Flotilla (self-signed), CN = shop.example.org");
      expect(text).toMatch(/DNS:shop\.example\.org, DNS:localhost, IP Address:203\.0\.113\.9/);
      expect(text).toContain("TLS Web Server Authentication");
      expect(text).toContain("Digital Signature");
      // The certificate carries the key's public key.
      const pub = execFileSync("openssl", ["x509", "-in", certFile, "-noout", "-pubkey"], {
        encoding: "utf8",
      });
      expect(pub.trim()).toBe(key.publicKeyPem.trim());
      expect(Date.parse(cert.validityEndTime) - Date.parse(cert.validityStartTime)).toBe(48 * 3600_000);
      expect(cert.readyForRenewal).toBe(false);
      expect(cert.keyAlgorithm).toBe(algorithm);
    });
  }

  it("performs the program's EdgeCertificate: a real key and certificate, the key in no resource or log", async () => {
    const lines: string[] = [];
    const result = await rehearse(
      () => {
        const edge = new EdgeCertificate("edge", { publicAddress: "127.0.0.1", names: ["localhost"] });
        return { pem: edge.pem, certificate: edge.certificatePem, notAfter: edge.notAfter };
      },
      { log: (l) => lines.push(l) },
    );
    const pem = String(result.secretOutputs.pem);
    const certificate = String(result.outputs.certificate);
    expect(pem.startsWith(certificate.trim())).toBe(true);
    const keyPem = pem.slice(pem.indexOf("-----BEGIN", certificate.length));
    expect(keyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    const certFile = path.join(work, "edge.pem");
    writeFileSync(certFile, certificate);
    expect(
      execFileSync("openssl", ["verify", "-CAfile", certFile, "-purpose", "sslserver", certFile], {
        encoding: "utf8",
      }),
    ).toContain(": OK");
    // The key signs what the certificate's public key verifies: they are a pair.
    const x509 = new X509Certificate(certificate);
    expect(x509.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(x509.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    const all = JSON.stringify(result.resources) + lines.join("\n") + JSON.stringify(result.outputs);
    expect(all).not.toContain(keyPem.split("\n")[1]);
  });

  it("is ready for renewal inside the early-renewal window, and names a bad input", async () => {
    const key = generateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await selfSignedCertificate({ ...inputs(key.privateKeyPem), earlyRenewalHours: 48 });
    expect(cert.readyForRenewal).toBe(true);
    await expect(
      selfSignedCertificate({ ...inputs(key.privateKeyPem), allowedUses: ["server_auth", "teleport"] }),
    ).rejects.toThrow(/input 'allowedUses': unknown use 'teleport'/);
    await expect(selfSignedCertificate({ ...inputs("not a key") })).rejects.toThrow(/input 'privateKeyPem'/);
  });
});

describe("ssh command line and known_hosts", () => {
  const nodeKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGSnDEuYX7XMEN0/NYl8BtrT45QoDg5ephB/xvf7chcJ node";
  const bastionKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINnJI6+M2U7oyOPUxyiOUWEcLAvzBnmfsH/EzNJCp0vl";
  const files = { config: "/r/c.config", knownHosts: "/r/c.known_hosts", agentSocket: "/r/agent.sock" };

  it("direct, port 22: provider defaults, plain host name in known_hosts, strict checking", () => {
    const c = normaliseConnection({ host: "10.0.0.5", hostKey: nodeKey, privateKey: "k" });
    expect(c).toMatchObject({
      host: "10.0.0.5",
      port: 22,
      user: "root",
      dialErrorLimit: 10,
      perDialTimeout: 15,
    });
    expect(knownHostsLines(c)).toEqual([`10.0.0.5 ${nodeKey.split(" ").slice(0, 2).join(" ")}`]);
    expect(sshArgv(c, files, "docker info")).toEqual([
      "ssh",
      "-F",
      "/r/c.config",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=/r/c.known_hosts",
      "-o",
      "BatchMode=yes",
      "-o",
      "IdentityAgent=/r/agent.sock",
      "-T",
      "-o",
      "ConnectTimeout=15",
      "-p",
      "22",
      "root@10.0.0.5",
      "--",
      "docker info",
    ]);
  });

  it("through a proxy on custom ports: ProxyJump, [host]:port entries for both hops, config the jump inherits", () => {
    const c = normaliseConnection({
      host: "10.0.0.7",
      port: 2222,
      user: "flotilla",
      hostKey: nodeKey,
      perDialTimeout: 5,
      proxy: { host: "127.0.0.1", port: 40022, user: "jump", hostKey: bastionKey },
    });
    expect(knownHostsLines(c)).toEqual([
      `[10.0.0.7]:2222 ${nodeKey.split(" ").slice(0, 2).join(" ")}`,
      `[127.0.0.1]:40022 ${bastionKey}`,
    ]);
    const argv = sshArgv(c, files, "true");
    expect(argv.slice(-7)).toEqual([
      "-p",
      "2222",
      "-J",
      "jump@127.0.0.1:40022",
      "flotilla@10.0.0.7",
      "--",
      "true",
    ]);
    expect(argv).toContain("ConnectTimeout=5");
    const config = sshConfig(files.knownHosts, files.agentSocket);
    expect(config).toContain("StrictHostKeyChecking yes");
    expect(config).toContain(`UserKnownHostsFile ${files.knownHosts}`);
    expect(config).toContain("GlobalKnownHostsFile /dev/null");
    expect(config).toContain("BatchMode yes");
  });

  it("refuses passwords, a missing or malformed host key, and nested proxies, naming the input", () => {
    expect(() => normaliseConnection({ host: "h", hostKey: nodeKey, password: "x" })).toThrow(
      /input 'connection.password': password logins are refused/,
    );
    expect(() => normaliseConnection({ host: "h" })).toThrow(/input 'connection.hostKey' is required/);
    expect(() => normaliseConnection({ host: "h", hostKey: "not a key!" })).toThrow(/connection.hostKey/);
    expect(() =>
      normaliseConnection({
        host: "h",
        hostKey: nodeKey,
        proxy: { host: "p", hostKey: nodeKey, proxy: { host: "q" } },
      }),
    ).toThrow(/connection.proxy.proxy/);
  });

  it("refuses environment on a remote command (sshd drops it unless AcceptEnv)", async () => {
    const err = await rehearse(() => {
      new command.remote.Command("remote", {
        create: "true",
        environment: { A: "b" },
        connection: { host: "10.0.0.9", hostKey: nodeKey },
      });
      return {};
    }).catch((e) => e);
    expect(err.message).toMatch(/input 'environment': refused by the rehearsal.*AcceptEnv/);
  });
});

describe("docker argument builders", () => {
  it("container: the provider's inputs as docker create flags; privileged refused", () => {
    const args = containerCreateArgs(
      {
        name: "lab-node-1",
        image: "flotilla/lab-vm:0.1.0",
        hostname: "node-1",
        envs: ["A=1"],
        labels: [{ label: "flotilla.lab", value: "1" }],
        capabilities: { adds: ["ALL"], drops: ["SYS_RESOURCE"] },
        securityOpts: ["seccomp=unconfined"],
        tmpfs: { "/run": "", "/run/lock": "size=8m" },
        cgroupnsMode: "host",
        volumes: [
          { containerPath: "/var/lib/docker", volumeName: "lab-node-1-docker" },
          { containerPath: "/sys/fs/cgroup", hostPath: "/sys/fs/cgroup", readOnly: false },
          { containerPath: "/seed", hostPath: "/tmp/seed", readOnly: true },
        ],
        ports: [{ internal: 22, external: 40022, ip: "127.0.0.1" }],
        networksAdvanced: [
          { name: "lab", ipv4Address: "10.77.0.10", aliases: ["node-1"] },
          { name: "other" },
        ],
        restart: "unless-stopped",
        memory: 512,
        stopSignal: "SIGRTMIN+3",
      },
      "fallback",
    );
    const joined = args.join(" ");
    expect(args.slice(0, 3)).toEqual(["create", "--name", "lab-node-1"]);
    for (const part of [
      "--hostname node-1",
      "--env A=1",
      "--label flotilla.lab=1",
      "--cap-add ALL",
      "--cap-drop SYS_RESOURCE",
      "--security-opt seccomp=unconfined",
      "--tmpfs /run ",
      "--tmpfs /run/lock:size=8m",
      "--cgroupns host",
      "--volume lab-node-1-docker:/var/lib/docker",
      "--volume /sys/fs/cgroup:/sys/fs/cgroup ",
      "--volume /tmp/seed:/seed:ro",
      "--publish 127.0.0.1:40022:22/tcp",
      "--network lab --ip 10.77.0.10 --network-alias node-1",
      "--restart unless-stopped",
      "--memory 512m",
      "--stop-signal SIGRTMIN+3",
    ])
      expect(joined).toContain(part);
    expect(joined).not.toContain("other"); // connected after create
    expect(args.at(-1)).toBe("flotilla/lab-vm:0.1.0");
    expect(() => containerCreateArgs({ image: "x", privileged: true }, "c")).toThrow(
      /input 'privileged': refused/,
    );
    expect(() => containerCreateArgs({ image: "x", gpus: "all" }, "c")).toThrow(/'gpus' not implemented/);
  });

  it("container uploads: a tar that tar(1) reads back with the contents and modes", () => {
    const files = uploadFiles({
      uploads: [
        { file: "/etc/ssh/ssh_host_ed25519_key", content: "KEY\n" },
        {
          file: "/usr/local/bin/run",
          contentBase64: Buffer.from("#!/bin/sh\n").toString("base64"),
          executable: true,
        },
        { file: `/deep/${"d/".repeat(60)}f`, content: "x", permissions: "0600" },
      ],
    });
    const tarFile = path.join(work, "uploads.tar");
    writeFileSync(tarFile, tarArchive(files));
    const listing = execFileSync("tar", ["-tvf", tarFile], { encoding: "utf8" });
    expect(listing).toMatch(/-rw-r--r-- 0\/0\s+4 .* etc\/ssh\/ssh_host_ed25519_key/);
    expect(listing).toMatch(/-rwxr--r-- 0\/0\s+10 .* usr\/local\/bin\/run/);
    expect(listing).toMatch(/-rw------- .* deep\/(d\/){60}f/);
    const out = path.join(work, "x");
    execFileSync("mkdir", ["-p", out]);
    execFileSync("tar", ["-xf", tarFile, "-C", out]);
    expect(readFileSync(path.join(out, "usr/local/bin/run"), "utf8")).toBe("#!/bin/sh\n");
    expect(() => uploadFiles({ uploads: [{ file: "/a", content: "x", source: "/b" }] })).toThrow(
      /exactly one of/,
    );
  });

  it("network and image: flags from the provider's inputs", () => {
    expect(
      networkCreateArgs(
        {
          name: "lab",
          driver: "bridge",
          ipamConfigs: [{ subnet: "10.77.0.0/24", ipRange: "10.77.0.128/25", gateway: "10.77.0.1" }],
          internal: true,
          attachable: true,
          labels: [{ label: "flotilla.lab", value: "1" }],
        },
        "x",
      ),
    ).toEqual([
      "network",
      "create",
      "--driver",
      "bridge",
      "--subnet",
      "10.77.0.0/24",
      "--ip-range",
      "10.77.0.128/25",
      "--gateway",
      "10.77.0.1",
      "--internal",
      "--attachable",
      "--label",
      "flotilla.lab=1",
      "lab",
    ]);
    const { argv, classic } = buildArgv(
      {
        imageName: "reg:5000/flotilla/webapp:0.1.0",
        build: { context: "/ctx", args: { A: "1" }, builderVersion: "BuilderV1" },
      },
      "/",
    );
    expect(classic).toBe(true);
    expect(argv).toEqual(["build", "--tag", "reg:5000/flotilla/webapp:0.1.0", "--build-arg", "A=1", "/ctx"]);
    expect(repository("reg:5000/flotilla/webapp:0.1.0")).toBe("reg:5000/flotilla/webapp");
    expect(repository("flotilla/webapp")).toBe("flotilla/webapp");
  });
});

describe("stack config, state and teardown", () => {
  it("keeps a failed create as a pending operation: teardown still runs its delete, tolerating its failure", async () => {
    const state = path.join(work, "unfinished", "state.json");
    const marker = path.join(work, "half-made");
    const err = await execute({
      stack: "dev",
      state,
      log: quiet,
      program: () => {
        new command.local.Command("half", { create: `touch ${marker}; exit 7`, delete: `rm ${marker}` });
        // Fails later (or is killed by the abort): `half` has made its marker by then.
        new command.local.Command("never-made", { create: "sleep 0.5; exit 9", delete: "exit 1" });
        return {};
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    const saved = JSON.parse(readFileSync(state, "utf8"));
    // Not in the state (the provider returned an error: no partial state), but pending.
    expect(saved.resources).toEqual([]);
    expect(
      saved.pendingOperations.map((o: { type: string; failed?: string }) => [o.type, !!o.failed]),
    ).toEqual([
      ["creating", true],
      ["creating", true],
    ]);
    const lines: string[] = [];
    const down = await teardown({ stack: "dev", state, log: (l) => lines.push(l) });
    expect(existsSync(marker)).toBe(false);
    expect(down.undone, lines.join("\n")).toBe(1);
    expect(down.skipped).toEqual([
      expect.stringMatching(/the delete of never-made \(whose create did not finish\) failed/),
    ]);
    expect(existsSync(state)).toBe(false);
  });

  it("hands the program the stack file's config as the CLI does", () => {
    const { config, secretKeys } = loadStackConfig(
      path.resolve(__dirname, "..", ".."),
      "dev",
      {},
      { statsPassword: "s3cret-value" },
    );
    expect(config["flotilla:target"]).toBe("local");
    expect(JSON.parse(config["flotilla:haproxy"])).toMatchObject({ httpPort: 8080 });
    expect(config["flotilla:statsPassword"]).toBe("s3cret-value");
    expect(secretKeys).toEqual(["flotilla:statsPassword"]);
  });

  it("runs a local command's delete at teardown with its stored inputs, the secret environment included, once", async () => {
    const state = path.join(work, "cycle", "state.json");
    const marker = path.join(work, "marker");
    const seen = path.join(work, "seen-by-delete");
    const program = () => {
      const pw = new random.RandomPassword("pw", { length: 20, special: false });
      new command.local.Command("made", {
        create: `touch ${marker}`,
        delete: `rm ${marker}; printf %s "$SECRET" > ${seen}`,
        environment: { KEEP: "plain", SECRET: pw.result },
      });
      return { pw: pw.result };
    };
    const up = await execute({ stack: "dev", state, log: quiet, program });
    expect(existsSync(marker)).toBe(true);
    const text = readFileSync(state, "utf8");
    expect(JSON.parse(text).resources.map((r: { name: string }) => r.name)).toEqual(["pw", "made"]);
    expect(text).not.toContain(String(up.secretOutputs.pw));
    const again = await execute({ stack: "dev", state, log: quiet, program });
    expect(again.steps.map((s) => s.op)).toEqual(["same", "same"]);
    expect(again.secretOutputs.pw).toBe(up.secretOutputs.pw);
    const down = await teardown({ stack: "dev", state, log: quiet });
    expect(down.undone).toBe(2);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(seen, "utf8")).toBe(up.secretOutputs.pw);
    expect(existsSync(state)).toBe(false);
    const twice = await teardown({ stack: "dev", state, log: quiet });
    expect(twice.undone).toBe(0);
  });

  it("refuses to run over a journal of the create-only executor, and teardown undoes that journal as it did", async () => {
    const dir = path.join(work, "legacy");
    execFileSync("mkdir", ["-p", dir]);
    const marker = path.join(work, "legacy-made");
    writeFileSync(marker, "");
    const journal = path.join(dir, "state.json");
    writeFileSync(
      journal,
      JSON.stringify({
        stack: "dev",
        note: "old",
        started: "2026-01-01T00:00:00Z",
        entries: [
          {
            type: "command:local:Command",
            name: "old",
            urn: "urn:pulumi:dev::flotilla::command:local:Command::old",
            id: "old-1",
            created: "2026-01-01T00:00:00Z",
            undo: { kind: "command:local", delete: `rm ${marker}`, interpreter: ["/bin/sh", "-c"] },
          },
        ],
      }),
    );
    await expect(execute({ stack: "dev", state: journal, log: quiet, program: () => ({}) })).rejects.toThrow(
      /journal of a rehearsal made by the create-only executor.*--down/,
    );
    const down = await teardown({ stack: "dev", state: journal, log: quiet });
    expect(down.undone).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(journal)).toBe(false);
  });
});
