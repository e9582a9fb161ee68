// The stack components under Pulumi mocks: per stack a deploy command (no delete, no
// trigger: a change is an update) and a removal command (delete only), in order, local or
// remote as the target says, and no secret value outside the (secret) stdin.
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseConfig, SECRET_VALUE_KEYS } from "../../components/config";
import { STACK_CATALOG, type StackSpec, Stacks } from "../../components/stacks";
import { evaluate, type RecordedResource, ROOT, stackConfig } from "../support/pulumi";

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
const deploys = (resources: RecordedResource[]) =>
  commands(resources).filter((c) => c.name.endsWith("-deploy"));
const removals = (resources: RecordedResource[]) =>
  commands(resources).filter((c) => c.name.endsWith("-removal"));

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
    const cmds = deploys(ev.resources);
    expect(cmds.map((c) => c.type)).toEqual(Array(5).fill("command:local:Command"));
    for (const c of cmds) {
      expect(c.inputs.create).toMatch(
        /^bash -c "\$\(printf %s [A-Za-z0-9+/=]+ \| base64 -d\)" flotilla-stack-deploy --stack flotilla-\w+ /,
      );
      expect(c.inputs.update).toBe(c.inputs.create);
      // No delete and no trigger: nothing about a deploy can ever remove its stack.
      expect(c.inputs.delete).toBeUndefined();
      expect(c.inputs.triggers).toBeUndefined();
      expect(c.inputs.create).toContain("--resolve-image never");
      expect(c.inputs.create).toMatch(/--document-sha256 [0-9a-f]{64}( |$)/);
      // The repository's path is nowhere in a command (state from another checkout stays valid).
      expect(JSON.stringify(c.inputs)).not.toContain(ROOT);
    }
    const rms = removals(ev.resources);
    expect(rms.map((r) => r.name)).toEqual(cmds.map((c) => c.name.replace(/-deploy$/, "-removal")));
    for (const r of rms) {
      expect(r.inputs.create).toBeUndefined();
      expect(r.inputs.update).toBeUndefined();
      expect(r.inputs.delete).toMatch(/flotilla-stack-remove --stack flotilla-\w+/);
      expect(r.inputs.triggers).toEqual([r.name.replace(/^flotilla-(\w+)-removal$/, "flotilla-$1")]);
      expect(r.inputs.stdin).toBeUndefined();
      // Each deploy waits for its removal (a destroy runs the removal after the deploy is gone).
      expect(ev.one(cmds[0].type, r.name.replace(/-removal$/, "-deploy")).dependencies).toContain(r.urn);
    }
    expect(ev.one("command:local:Command", "mysql-removal").inputs.delete).toContain(
      "--secret-family flotilla-mysql_password",
    );
    expect(ev.one("command:local:Command", "mysql-deploy").inputs.create).toContain(
      "--ensure-dir /srv/flotilla/mysql",
    );
  });

  it("stacks deploy in parallel: no stack waits for another but keepalived, whose deploy waits for HAProxy's (each deploy waits for its own removal)", async () => {
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
    const haproxyDeploy = ev.one("command:remote:Command", "flotilla-haproxy-deploy");
    for (const s of stacks) {
      expect(s.dependencies).toEqual([]);
      const [removal, deploy] = ev.childrenOf(s);
      expect([removal.name, deploy.name]).toEqual([`${s.name}-removal`, `${s.name}-deploy`]);
      expect(deploy.dependencies).toEqual(
        s.name === "flotilla-keepalived" ? [removal.urn, haproxyDeploy.urn] : [removal.urn],
      );
    }
  });

  it("every stack's rollsAfter names a stack before it in the catalog", () => {
    const names = STACK_CATALOG.map((s) => s.name as string);
    for (const [i, spec] of STACK_CATALOG.entries())
      for (const before of (spec as StackSpec).rollsAfter ?? [])
        expect(names.slice(0, i), `${spec.name}.rollsAfter`).toContain(before);
    expect(STACK_CATALOG.filter((s) => (s as StackSpec).rollsAfter).map((s) => s.name)).toEqual([
      "keepalived",
    ]);
  });

  it("helion: remote commands on the manager's connection, with the script inside the command", async () => {
    const ev = await run("helion");
    const cmds = deploys(ev.resources);
    expect(cmds).toHaveLength(6);
    expect(removals(ev.resources)).toHaveLength(6);
    for (const c of commands(ev.resources)) expect(c.type).toBe("command:remote:Command");
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

  it("helion: the Galera members roll one at a time: phases on the mysql deploy's stdin, a longer wait", async () => {
    const ev = await run("helion");
    const mysql = deploys(ev.resources).find((c) => c.name.endsWith("-mysql-deploy"));
    const stdin = String(mysql?.inputs.stdin);
    const phases = [...stdin.matchAll(/^%%phase (\S+)$/gm)].map((m) => m[1]);
    expect(phases).toEqual(["mysql-1", "mysql-2"]);
    // Each phase's document holds the members up to its own; the whole one follows.
    const [first, second, whole] = stdin.split(/^%%(?:phase \S+|compose)$/m).slice(1);
    expect(Object.keys(parseYaml(first).services)).toEqual(["mysql-1"]);
    expect(Object.keys(parseYaml(second).services)).toEqual(["mysql-1", "mysql-2"]);
    expect(Object.keys(parseYaml(whole).services)).toEqual(["mysql-1", "mysql-2", "mysql-3"]);
    // 300 s per member: each phase converges in turn.
    expect(String(mysql?.inputs.create)).toContain("--wait 900");
    // No other stack has phases.
    for (const c of deploys(ev.resources).filter((c) => c !== mysql))
      expect(String(c.inputs.stdin)).not.toContain("%%phase");
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
      const stdin = deploys(ev.resources).map((c) => String(c.inputs.stdin));
      expect(stdin.join("\n")).toContain(Buffer.from(secretValues.mysqlPassword).toString("base64"));
      // The consul stack's (keepalived's, with no secret, may register first).
      const consul = String(
        deploys(ev.resources).find((c) => c.name.endsWith("-consul-deploy"))?.inputs.stdin,
      );
      expect(consul).toMatch(/^flotilla-consul_gossip_key-[0-9a-f]{16}=[A-Za-z0-9+/=]+\n/);
      // Then the consul stack's ACL tokens, then the document.
      expect(consul).toMatch(/\nflotilla-consul_prometheus_token-[0-9a-f]{16}=[A-Za-z0-9+/=]+\n%%compose\n/);
    }
  });

  it("a rotated secret changes the mysql deploy's command and stdin, nothing else of any stack", async () => {
    const before = await run("dev");
    const previous = secretValues.mysqlPassword;
    secretValues.mysqlPassword = "rotated-value-0123456789abcdefghij";
    const after = await run("dev");
    secretValues.mysqlPassword = previous;
    const inputs = (ev: typeof before, name: string) => ev.one("command:local:Command", name).inputs;
    // The deploy's inputs change (an update: create and update carry the new document's hash)...
    expect(inputs(after, "mysql-deploy").create).not.toEqual(inputs(before, "mysql-deploy").create);
    expect(inputs(after, "mysql-deploy").stdin).not.toEqual(inputs(before, "mysql-deploy").stdin);
    // ...and the webapp's too (it reads the same password); every removal stays as it was.
    expect(inputs(after, "webapp-deploy").create).not.toEqual(inputs(before, "webapp-deploy").create);
    for (const stack of ["consul", "mysql", "webapp", "haproxy", "monitoring"])
      expect(inputs(after, `${stack}-removal`)).toEqual(inputs(before, `${stack}-removal`));
    // Consul's and HAProxy's documents did not change: no redeploy.
    for (const stack of ["consul", "haproxy"])
      expect(inputs(after, `${stack}-deploy`)).toEqual(inputs(before, `${stack}-deploy`));
  });

  it("a rebuilt image changes only the stack that runs it", async () => {
    const { config } = parseConfig(stackConfig("dev"));
    const withImage = (webapp: string) =>
      evaluate(() => {
        new Stacks("flotilla", {
          config,
          secrets: secretValues as never,
          deployer: { kind: "local", swarmId: "abcdefghijklmnopqrstuvwxy" },
          images: { webapp },
        });
        return undefined;
      });
    const a = await withImage(`sha256:${"a".repeat(64)}`);
    const b = await withImage(`sha256:${"b".repeat(64)}`);
    const changed = deploys(b.resources)
      .filter((c) => JSON.stringify(c.inputs) !== JSON.stringify(a.one(c.type, c.name).inputs))
      .map((c) => c.name);
    expect(changed).toEqual(["flotilla-webapp-deploy"]);
    // The Swarm the program made is named in every deploy: another Swarm, another deploy.
    for (const c of deploys(b.resources))
      expect(c.inputs.create).toContain("--swarm-id abcdefghijklmnopqrstuvwxy");
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
