// The Docker stacks as the Stacks component deploys them on helion (under Pulumi's mocks):
// with the images pinned by digest they pass the pack, Consul's quorum read from the
// rendered compose document; left to their default tags, the pack refuses them.
import { describe, expect, it } from "vitest";
import { parseConfig, SECRET_VALUE_KEYS } from "../../components/config";
import { STACK_IMAGES, Stacks } from "../../components/stacks";
import { evaluate, stackConfig } from "../support/pulumi";
import { analyze, analyzeStack, by, fromRecorded, remediate, type TestResource } from "./harness";

const secretValues = Object.fromEntries(SECRET_VALUE_KEYS.map((k) => [k, `s3cr3t-${k}-0123456789abcdefXYZ`]));
const connection = { host: "10.42.0.5", user: "debian", privateKey: "not-a-real-key" };
const digest = (image: string) =>
  `registry.helion.internal:5000/flotilla/${image}@sha256:${Buffer.from(image).toString("hex").padEnd(64, "0").slice(0, 64)}`;

async function helionStacks(pinned: boolean): Promise<TestResource[]> {
  const { config } = parseConfig(stackConfig("helion"));
  const ev = await evaluate(() => {
    new Stacks("flotilla", {
      config,
      secrets: secretValues as never,
      deployer: { kind: "remote", connection },
      keepalived: { vip: "10.42.0.200/24", peers: ["10.42.0.11", "10.42.0.12"] },
      ...(pinned ? { images: Object.fromEntries(STACK_IMAGES.map((i) => [i, digest(i)])) } : {}),
    });
    return undefined;
  });
  return ev.resources.map(fromRecorded);
}

describe("the helion Docker stacks under the policy pack", () => {
  it("pass every policy with images pinned by digest", async () => {
    const resources = await helionStacks(true);
    const deploys = resources.filter((r) => r.type === "command:remote:Command");
    expect(deploys.length).toBeGreaterThanOrEqual(4);
    const found: string[] = [];
    for (const r of resources) {
      for (const v of await analyze(r)) found.push(`${v.policy}: ${v.message}`);
      for (const x of await remediate(r)) found.push(`${x.policy}: remediated ${r.name}`);
    }
    for (const v of await analyzeStack(resources)) found.push(`${v.policy}: ${v.message}`);
    expect(found).toEqual([]);
  });

  it("are refused with their default (mutable) tags, and the messages show no secret", async () => {
    const resources = await helionStacks(false);
    const messages: string[] = [];
    for (const r of resources)
      messages.push(...by("images-pinned-by-digest", await analyze(r)).map((v) => v.message));
    expect(messages.length).toBeGreaterThanOrEqual(4);
    expect(messages.join("\n")).toMatch(
      /uses image 'registry\.helion\.internal:5000\/flotilla\/webapp:[^']+' \(not pinned by digest\)/,
    );
    for (const value of Object.values(secretValues)) {
      expect(messages.join("\n")).not.toContain(value);
      expect(messages.join("\n")).not.toContain(Buffer.from(value).toString("base64"));
    }
  });

  it("have their Consul quorum checked from the rendered compose document", async () => {
    const resources = await helionStacks(true);
    // stdin is a secret (it carries the Docker secrets' values): read through its wrapper.
    const stdinOf = (r: TestResource) =>
      String((r.props.stdin as { value?: unknown } | undefined)?.value ?? "");
    const consul = resources.find((r) => stdinOf(r).includes("CONSUL_BOOTSTRAP_EXPECT"));
    expect(consul).toBeDefined();
    if (!consul) return;
    expect(stdinOf(consul)).toContain('CONSUL_BOOTSTRAP_EXPECT: "3"');
    // The same document with an even server count, as a program bug would render it.
    const stdin = stdinOf(consul).replace('CONSUL_BOOTSTRAP_EXPECT: "3"', 'CONSUL_BOOTSTRAP_EXPECT: "4"');
    const even = { ...consul, props: { ...consul.props, stdin } };
    expect(by("odd-quorums", await analyzeStack([even])).map((v) => v.message)).toEqual([
      expect.stringMatching(/^4 Consul servers \(flotilla.*: service '.*' bootstrap-expect\)/),
    ]);
  });
});
