// The pack as a whole: its policies, the resource types it guards (checked against the
// provider SDKs), real SDK resources declared under Pulumi's mocks, and the committed
// stacks, which must pass every policy.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { policies } from "../../policy/policies";
import { TYPES } from "../../policy/util";
import { openstackInvokes, swarmScriptOutputs } from "../openstack/invokes";
import { evaluate, evaluateStack, ROOT } from "../support/pulumi";
import { analyze, analyzeStack, by, fromRecorded, remediate, type Violation } from "./harness";

const typeOf = (cls: unknown) => (cls as { __pulumiType: string }).__pulumiType;

/**
 * SSH ingress, a MariaDB data volume and a stack deploy, declared with the real SDK the
 * wrong way (SSH from anywhere, the volume unprotected, the image by tag, the password in
 * plaintext) or the right way.
 */
function declareSamples(way: "wrong" | "right"): Record<string, never> {
  const right = way === "right";
  new openstack.networking.SecGroupRule(right ? "ssh-admin" : "ssh-world", {
    securityGroupId: "sg",
    direction: "ingress",
    ethertype: "IPv4",
    protocol: "tcp",
    portRangeMin: 22,
    portRangeMax: 22,
    remoteIpPrefix: right ? "203.0.113.0/24" : "0.0.0.0/0",
  });
  new openstack.blockstorage.Volume("mysql-data", { size: 50 }, right ? { protect: true } : {});
  const image = right ? `flotilla/webapp@sha256:${"c".repeat(64)}` : "flotilla/webapp:0.1.0";
  new command.local.Command("deploy", {
    create: "docker stack deploy -c - webapp",
    stdin: `services:\n  webapp:\n    image: ${image}\n`,
    environment: { MYSQL_ROOT_PASSWORD: right ? pulumi.secret("s3cret-s3cret") : "plaintext-password" },
  });
  return {};
}

describe("the flotilla policy pack", () => {
  it("has the five policies, each described, with a unique name and an enforcement level", () => {
    expect(policies.map((p) => p.name)).toEqual([
      "no-world-open-admin-ports",
      "odd-quorums",
      "data-volumes-protected",
      "secret-inputs-are-secret",
      "images-pinned-by-digest",
    ]);
    for (const p of policies) {
      expect(p.description.length).toBeGreaterThan(20);
      expect(p.enforcementLevel).toMatch(/^(mandatory|remediate)$/);
    }
  });

  it("is documented: docs/ci-and-policies.md has a row for every policy", () => {
    const docs = readFileSync(path.join(ROOT, "docs", "ci-and-policies.md"), "utf8");
    for (const p of policies) expect(docs).toMatch(new RegExp(`^\\| \`${p.name}\` +\\|`, "m"));
  });

  it("guards the type tokens the provider SDKs really register", () => {
    expect(TYPES.secGroupRule).toBe(typeOf(openstack.networking.SecGroupRule));
    expect(TYPES.volumes).toEqual([
      typeOf(openstack.blockstorage.Volume),
      typeOf(openstack.blockstorage.VolumeV2),
      typeOf(openstack.blockstorage.VolumeV1),
    ]);
    expect(TYPES.instance).toBe(typeOf(openstack.compute.Instance));
    expect(TYPES.dockerService).toBe(typeOf(docker.Service));
    expect(TYPES.dockerContainer).toBe(typeOf(docker.Container));
    expect(TYPES.dockerSecret).toBe(typeOf(docker.Secret));
    expect(TYPES.localCommand).toBe(typeOf(command.local.Command));
    expect(TYPES.remoteCommand).toBe(typeOf(command.remote.Command));
  });

  it("has the layout `pulumi preview --policy-pack policy` loads", () => {
    const manifest = parse(readFileSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(manifest.runtime).toBe("nodejs");
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "policy", "package.json"), "utf8")) as {
      version: string;
      dependencies: Record<string, string>;
    };
    // PolicyPack reads its version from package.json and refuses to start without one.
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    const root = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const dep of ["@pulumi/policy", "@pulumi/pulumi", "yaml"])
      expect(pkg.dependencies[dep]).toBe(root.dependencies[dep]);
    expect(readFileSync(path.join(ROOT, "policy", "index.ts"), "utf8")).toContain(
      'new PolicyPack("flotilla"',
    );
  });

  it("catches real SDK resources declared the wrong way (inputs as the SDK serialises them)", async () => {
    const ev = await evaluate(() => declareSamples("wrong"));
    const found: Violation[] = [];
    for (const r of ev.resources) found.push(...(await analyze(fromRecorded(r))));
    expect(found.map((v) => [v.policy, v.message]).sort()).toEqual([
      [
        "data-volumes-protected",
        "volume 'mysql-data' is not protected: a replacement or a stack destroy would delete its data",
      ],
      [
        "images-pinned-by-digest",
        "command 'deploy' deploys a stack whose service 'webapp' uses image 'flotilla/webapp:0.1.0' (not pinned by digest)",
      ],
      ["no-world-open-admin-ports", "security group rule 'ssh-world' opens SSH (port 22) to 0.0.0.0/0"],
    ]);
    const rem = await remediate(fromRecorded(ev.one("command:local:Command")));
    expect(rem.map((r) => r.policy)).toEqual(["secret-inputs-are-secret"]);
  });

  it("passes the same resources declared the right way", async () => {
    const ev = await evaluate(() => declareSamples("right"));
    for (const r of ev.resources) {
      expect(await analyze(fromRecorded(r))).toEqual([]);
      expect(await remediate(fromRecorded(r))).toEqual([]);
    }
  });

  it.each(["dev", "helion"])(
    "passes the committed %s stack (program evaluated under mocks)",
    async (stack) => {
      const ev = await evaluateStack(stack, { invokes: openstackInvokes, mockOutputs: swarmScriptOutputs });
      const resources = ev.resources.map(fromRecorded);
      const mandatory: Violation[] = [];
      for (const r of resources) mandatory.push(...(await analyze(r)).filter((v) => v.level === "mandatory"));
      mandatory.push(...(await analyzeStack(resources)).filter((v) => v.level === "mandatory"));
      expect(mandatory.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
      const remediated: string[] = [];
      for (const r of resources)
        for (const x of await remediate(r)) remediated.push(`${x.policy}: ${r.name}`);
      expect(remediated).toEqual([]);
      expect(by("odd-quorums", await analyzeStack(resources))).toEqual([]);
    },
  );
});
