// The stack components under Pulumi mocks: one deploy command per stack, in order,
// local or remote as the target says, and no secret value outside the (secret) stdin.
import { describe, expect, it } from "vitest";
import { parseConfig, SECRET_VALUE_KEYS } from "../../components/config";
import { Stacks } from "../../components/stacks";
import { evaluate, type RecordedResource, stackConfig } from "../support/pulumi";

const secretValues = Object.fromEntries(SECRET_VALUE_KEYS.map((k) => [k, `s3cr3t-${k}-0123456789abcdefXYZ`]));
const connection = { host: "10.42.0.5", user: "debian", privateKey: "not-a-real-key" };

async function run(stack: "dev" | "helion", overrides: Record<string, unknown> = {}) {
  const { config } = parseConfig(stackConfig(stack, overrides));
  return evaluate(() => {
    new Stacks("flotilla", {
      config,
      secrets: secretValues as never,
      deployer: config.target === "local" ? { kind: "local" } : { kind: "remote", connection },
      keepalived: config.keepalived.enabled
        ? { vip: "10.42.0.200/24", peers: ["10.42.0.11", "10.42.0.12"] }
        : undefined,
    });
    return undefined;
  });
}

/** Every string inside a value, flattened. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

function commands(resources: RecordedResource[]) {
  return resources.filter((r) => r.type === "command:local:Command" || r.type === "command:remote:Command");
}

describe("Stacks component", () => {
  it("dev: five stack components with their own type tokens, one local deploy command each", async () => {
    const ev = await run("dev");
    expect(ev.byType("flotilla:stacks:Stacks")).toHaveLength(1);
    const types = ev.resources.filter((r) => /^flotilla:stacks:\w+Stack$/.test(r.type)).map((r) => r.type);
    expect(types).toEqual([
      "flotilla:stacks:ConsulStack",
      "flotilla:stacks:MysqlStack",
      "flotilla:stacks:WebappStack",
      "flotilla:stacks:HaproxyStack",
      "flotilla:stacks:MonitoringStack",
    ]);
    const cmds = commands(ev.resources);
    expect(cmds.map((c) => c.type)).toEqual(Array(5).fill("command:local:Command"));
    for (const c of cmds) {
      expect(c.inputs.create).toMatch(/stack-deploy\.sh --stack flotilla-\w+ /);
      expect(c.inputs.update).toBe(c.inputs.create);
      expect(c.inputs.delete).toMatch(/stack-remove\.sh --stack flotilla-\w+/);
      expect(c.inputs.create).toContain("--resolve-image never");
      expect((c.inputs.triggers as string[])[0]).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(ev.one("command:local:Command", "mysql").inputs.create).toContain(
      "--ensure-dir /srv/flotilla/mysql",
    );
  });

  it("stacks deploy in order: each depends on the one before it", async () => {
    const ev = await run("helion");
    const stacks = ev.resources.filter((r) => /^flotilla:stacks:\w+Stack$/.test(r.type));
    expect(stacks.map((s) => s.name)).toEqual([
      "flotilla-consul",
      "flotilla-mysql",
      "flotilla-webapp",
      "flotilla-haproxy",
      "flotilla-keepalived",
      "flotilla-monitoring",
    ]);
    expect(stacks[0].dependencies).toEqual([]);
    // Pulumi expands a dependency on a component to its children: the previous deploy command.
    for (let i = 1; i < stacks.length; i++) {
      expect(stacks[i].dependencies).toEqual(ev.childrenOf(stacks[i - 1]).map((c) => c.urn));
      expect(ev.childrenOf(stacks[i - 1])[0].type).toBe("command:remote:Command");
    }
  });

  it("helion: remote commands on the manager's connection, with the script inside the command", async () => {
    const ev = await run("helion");
    const cmds = commands(ev.resources);
    expect(cmds).toHaveLength(6);
    for (const c of cmds) {
      expect(c.type).toBe("command:remote:Command");
      expect(c.inputs.connection).toMatchObject({ host: "10.42.0.5", user: "debian" });
      expect(c.inputs.create).toMatch(
        // As root (`sudo -n`): the login user is in group sudo, not docker (issue 10).
        /^sudo -n bash -c "\$\(printf %s [A-Za-z0-9+/=]+ \| base64 -d\)" flotilla-stack-deploy /,
      );
      expect(c.inputs.create).toContain("--resolve-image always");
      expect(c.inputs.create).not.toContain("--ensure-dir");
    }
  });

  it("no secret value appears in any input but the command's stdin, and stdin is secret", async () => {
    for (const stack of ["dev", "helion"] as const) {
      const ev = await run(stack);
      const values = Object.values(secretValues);
      const b64 = values.map((v) => Buffer.from(v).toString("base64"));
      for (const r of ev.resources) {
        const { stdin, connection: _c, ...rest } = r.inputs;
        for (const s of strings(rest)) {
          for (const v of [...values, ...b64]) expect(s, `${r.type} ${r.name}`).not.toContain(v);
        }
        if (stdin !== undefined) expect(r.secretInputs).toContain("stdin");
      }
      // The values do reach the deploy script: base64 on stdin.
      const stdin = commands(ev.resources).map((c) => String(c.inputs.stdin));
      expect(stdin.join("\n")).toContain(Buffer.from(secretValues.mysqlPassword).toString("base64"));
      expect(stdin[0]).toMatch(/^flotilla-consul_gossip_key-[0-9a-f]{16}=[A-Za-z0-9+/=]+\n/);
      // Then the consul stack's ACL tokens, then the document.
      expect(stdin[0]).toMatch(
        /\nflotilla-consul_prometheus_token-[0-9a-f]{16}=[A-Za-z0-9+/=]+\n%%compose\n/,
      );
    }
  });

  it("a rotated secret changes the document hash (a redeploy) and the secret's name", async () => {
    const before = await run("dev");
    secretValues.mysqlPassword = "rotated-value-0123456789abcdefghij";
    const after = await run("dev");
    const mysql = (ev: typeof before) => ev.one("command:local:Command", "mysql").inputs;
    expect(mysql(after).triggers).not.toEqual(mysql(before).triggers);
    expect(mysql(after).delete).not.toEqual(mysql(before).delete);
    // Consul's secrets did not change: no redeploy.
    const consul = (ev: typeof before) => ev.one("command:local:Command", "consul").inputs;
    expect(consul(after).triggers).toEqual(consul(before).triggers);
  });

  it("refuses keepalived without a VIP, and a deployer that does not match the target", async () => {
    const { config } = parseConfig(stackConfig("helion"));
    await expect(
      evaluate(() => {
        new Stacks("x", { config, secrets: secretValues as never, deployer: { kind: "remote", connection } });
        return undefined;
      }),
    ).rejects.toThrow(/keepalived.enabled/);
    const dev = parseConfig(stackConfig("dev")).config;
    await expect(
      evaluate(() => {
        new Stacks("x", {
          config: dev,
          secrets: secretValues as never,
          deployer: { kind: "remote", connection },
        });
        return undefined;
      }),
    ).rejects.toThrow(/flotilla:target is 'local' but the deployer is 'remote'/);
  });
});
