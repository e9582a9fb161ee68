// The second `pulumi up` of the real program (index.ts), as the engine would run it: the
// executor's engine (state, diff, update, replace, delete) over the program's own
// resource graph, with stand-in providers that only record what they are asked to do (no
// Docker, no SSH). What runs for real is rehearsed by the dev and lab suites; this file
// pins down WHICH steps each change causes, for dev and lab, in seconds: a changed secret
// updates one stack, a version bump rolls every stack and replaces nothing, an unchanged
// run does nothing, a year later the certificate renews and HAProxy rolls, a replaced
// node is drained before its VM goes, and no stack's removal ever runs.
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { type ExecuteOptions, type ExecuteResult, execute, teardown } from "../../tools/executor/executor";
import type { ResourceHandler } from "../../tools/executor/types";
import { tempDir } from "../support/tempDir";

const work = tempDir("flotilla-second-up-");

const SWARM_ID = "fakeswarmclusterid0000001";
const hash = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");

/** What the stand-in providers were asked to do, in order: `<action> <name>`. */
type Calls = string[];

/** The stdout the program parses from a script, as the script prints it. */
function scriptStdout(create: string, name: string): string {
  if (create.includes(" flotilla-local-swarm")) return `swarm: already active\nswarm: cluster ${SWARM_ID}`;
  if (create.includes(" flotilla-init ")) return `node-${name}\n${SWARM_ID}`;
  if (create.includes(" flotilla-join-tokens"))
    return JSON.stringify({ manager: "SWMTKN-1-aaaa-manager", worker: "SWMTKN-1-aaaa-worker" });
  // A node's ID changes with the machine it runs on (a replaced VM joins anew).
  if (create.includes(" flotilla-join ")) return `node-${hash(create).slice(0, 12)}`;
  return "";
}

/** Stand-ins for every provider action the dev and lab programs need (random and tls stay real). */
function fakes(calls: Calls): Record<string, ResourceHandler> {
  const command: ResourceHandler = {
    create: async (inputs, ctx) => {
      calls.push(`create ${ctx.name}`);
      return {
        id: ctx.name,
        outputs: { stdout: scriptStdout(String(inputs.create ?? ""), ctx.name), stderr: "" },
      };
    },
    update: async (_prior, inputs, ctx) => {
      calls.push(`update ${ctx.name}`);
      const run = String(inputs.update ?? inputs.create ?? "");
      return { id: ctx.name, outputs: { stdout: scriptStdout(run, ctx.name), stderr: "" } };
    },
    delete: async (prior, ctx) => {
      calls.push(
        `delete ${ctx.name}${prior.inputs.delete ? ` (runs ${deleteScript(String(prior.inputs.delete))})` : ""}`,
      );
    },
  };
  // A container's ID changes each time it is created, as Docker's does.
  let containers = 0;
  return {
    "command:local:Command": command,
    "command:remote:Command": command,
    "docker:index/image:Image": {
      // The image's content follows its inputs: a new version label is a new image.
      create: async (inputs, ctx) => {
        calls.push(`create ${ctx.name}`);
        return { id: ctx.name, outputs: { repoDigest: `sha256:${hash(inputs)}` } };
      },
      update: async (_prior, inputs, ctx) => {
        calls.push(`update ${ctx.name}`);
        return { id: ctx.name, outputs: { repoDigest: `sha256:${hash(inputs)}` } };
      },
    },
    "docker:index/container:Container": {
      create: async (inputs, ctx) => {
        calls.push(`create ${ctx.name}`);
        const id = `container-${++containers}`;
        return { id, outputs: { id, name: String(inputs.name) } };
      },
      delete: async (_prior, ctx) => {
        calls.push(`delete ${ctx.name}`);
      },
    },
    "docker:index/network:Network": {
      create: async (inputs, ctx) => {
        calls.push(`create ${ctx.name}`);
        return { id: `net-${ctx.name}`, outputs: { name: String(inputs.name) } };
      },
      delete: async (_prior, ctx) => {
        calls.push(`delete ${ctx.name}`);
      },
    },
    "docker:index/volume:Volume": {
      create: async (inputs, ctx) => {
        calls.push(`create ${ctx.name}`);
        return { id: String(inputs.name), outputs: { name: String(inputs.name), mountpoint: "/x" } };
      },
      delete: async (_prior, ctx) => {
        calls.push(`delete ${ctx.name}`);
      },
    },
  };
}

/** The script a delete command runs (its `flotilla-<script>` name), or the text itself. */
function deleteScript(text: string): string {
  return / (flotilla-[a-z-]+)/.exec(text)?.[1] ?? text;
}

/** One `up` of stack `stack` on the state file of `state`, with the stand-ins. */
async function up(
  stack: "dev" | "lab",
  state: string,
  options: Partial<ExecuteOptions> = {},
): Promise<ExecuteResult & { calls: Calls }> {
  const calls: Calls = [];
  const result = await execute({ stack, state, log: () => {}, handlers: fakes(calls), ...options });
  return { ...result, calls };
}

const ops = (r: ExecuteResult, op: string) =>
  r.steps.filter((s) => s.op === op && !(op === "delete" && s.replaced)).map((s) => s.name);
const deploys = (names: string[]) => names.filter((n) => n.endsWith("-deploy")).sort();
const STACKS = ["consul", "mysql", "webapp", "haproxy", "monitoring"];

describe("the second up of the dev program", () => {
  const state = path.join(work, "dev", "state.json");
  let first: Awaited<ReturnType<typeof up>>;

  it("first up: everything created, nothing deleted", async () => {
    first = await up("dev", state);
    expect(first.summary).toMatchObject({ update: 0, replace: 0, delete: 0, same: 0 });
    expect(deploys(ops(first, "create"))).toEqual(STACKS.map((s) => `flotilla-${s}-deploy`).sort());
    expect(first.calls.filter((c) => c.startsWith("delete"))).toEqual([]);
  }, 120_000);

  it("unchanged: every resource the same, no provider called", async () => {
    const again = await up("dev", state);
    expect(again.calls).toEqual([]);
    expect(again.steps.every((s) => s.op === "same")).toBe(true);
    expect(again.steps.length).toBe(first.steps.length);
  }, 120_000);

  it("a changed monitoring password: the monitoring stack's deploy updated in place, nothing else runs", async () => {
    const r = await up("dev", state, {
      secretConfig: { monitoringPassword: "an-operator-chosen-password-0123" },
    });
    const commands = r.steps.filter((s) => s.type.startsWith("command:"));
    expect(commands.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual([
      "update flotilla-monitoring-deploy",
    ]);
    // The generated password it replaces leaves the program (deleting a random does nothing).
    expect(ops(r, "delete")).toEqual(["flotilla-monitoringPassword"]);
    expect(ops(r, "replace")).toEqual([]);
    expect(r.calls).toEqual(["update flotilla-monitoring-deploy"]);
  }, 120_000);

  it("images.version bumped: every image rebuilt and every stack rolled in place; nothing replaced or removed", async () => {
    const r = await up("dev", state, {
      config: { "flotilla:images": { version: "0.2.0" } },
      secretConfig: { monitoringPassword: "an-operator-chosen-password-0123" },
    });
    expect(
      ops(r, "update")
        .filter((n) => !n.endsWith("-deploy"))
        .sort(),
    ).toEqual(
      ["s6-base", "consul", "webapp", "haproxy", "mysql", "keepalived", "prometheus"]
        .map((i) => `flotilla-${i}`)
        .sort(),
    );
    expect(deploys(ops(r, "update"))).toEqual(STACKS.map((s) => `flotilla-${s}-deploy`).sort());
    expect(ops(r, "replace")).toEqual([]);
    expect(ops(r, "delete")).toEqual([]);
    expect(r.calls.filter((c) => /removal|^delete/.test(c))).toEqual([]);
  }, 120_000);

  it("a year later: the self-signed certificate renews (created first) and only HAProxy's stack rolls", async () => {
    const later = new Date(Date.now() + 366 * 86_400_000);
    const r = await up("dev", state, {
      config: { "flotilla:images": { version: "0.2.0" } },
      secretConfig: { monitoringPassword: "an-operator-chosen-password-0123" },
      now: () => later,
    });
    const replaced = r.steps.filter((s) => s.op === "replace");
    expect(replaced.map((s) => [s.name, s.order])).toEqual([["flotilla-edge-cert", "create-before-delete"]]);
    expect(r.steps.filter((s) => s.op === "update").map((s) => s.name)).toEqual(["flotilla-haproxy-deploy"]);
    // The only delete is the old certificate (a tls resource: its delete does nothing).
    expect(r.steps.filter((s) => s.op === "delete").map((s) => `${s.name} ${s.replaced}`)).toEqual([
      "flotilla-edge-cert true",
    ]);
    expect(r.calls).toEqual(["update flotilla-haproxy-deploy"]);
  }, 120_000);
});

describe("the second up of the lab program", () => {
  const state = path.join(work, "lab", "state.json");

  it("first up, then unchanged: nothing runs", async () => {
    const first = await up("lab", state);
    expect(first.summary.delete).toBe(0);
    const again = await up("lab", state);
    expect(again.calls).toEqual([]);
  }, 180_000);

  it("images.version bumped: images rebuilt and stacks rolled; no VM, volume or Swarm command touched", async () => {
    const r = await up("lab", state, { config: { "flotilla:images": { version: "0.2.0" } } });
    expect(ops(r, "replace")).toEqual([]);
    expect(ops(r, "delete")).toEqual([]);
    const touched = r.steps.filter((s) => s.op !== "same");
    // The lab's own machine images do not carry images.version: no VM is rebuilt.
    expect(touched.filter((s) => s.type === "docker:index/container:Container")).toEqual([]);
    expect(touched.filter((s) => /bootstrap/.test(s.name))).toEqual([]);
    expect(deploys(ops(r, "update"))).toEqual(
      [...STACKS, "keepalived"].map((s) => `flotilla-${s}-deploy`).sort(),
    );
  }, 180_000);

  it("a changed log rotation: running VMs keep theirs (no VM replaced), the stacks get the new one", async () => {
    const r = await up("lab", state, {
      config: { "flotilla:images": { version: "0.2.0" }, "flotilla:logging": { maxSize: "20m" } },
    });
    expect(r.steps.filter((s) => s.type === "docker:index/container:Container" && s.op !== "same")).toEqual(
      [],
    );
    expect(ops(r, "replace")).toEqual([]);
    expect(ops(r, "delete")).toEqual([]);
  }, 180_000);

  it("a VM replaced (up --replace): its member drained first, then the VM; it joins anew; no stack removed", async () => {
    const r = await up("lab", state, {
      config: { "flotilla:images": { version: "0.2.0" }, "flotilla:logging": { maxSize: "20m" } },
      replace: ["flotilla-lab-worker-4"],
    });
    const index = (call: string) => r.calls.indexOf(call);
    const drain = r.calls.find((c) => c.startsWith("delete flotilla-lab-bootstrap-member-worker-4"));
    expect(drain).toMatch(/runs flotilla-drain/);
    // Dependents first: the drain, then the VM goes; then it is created, joins, is labelled.
    expect(index(drain as string)).toBeLessThan(index("delete flotilla-lab-worker-4"));
    expect(index("delete flotilla-lab-worker-4")).toBeLessThan(index("create flotilla-lab-worker-4"));
    expect(index("create flotilla-lab-worker-4")).toBeLessThan(
      index("create flotilla-lab-bootstrap-join-worker-4"),
    );
    expect(index("create flotilla-lab-bootstrap-join-worker-4")).toBeLessThan(
      index("create flotilla-lab-bootstrap-member-worker-4"),
    );
    // Its engine and MySQL data volumes are not touched; no other node, no stack removed.
    expect(r.calls.filter((c) => /^delete/.test(c) && !/worker-4/.test(c))).toEqual([]);
    expect(r.calls.filter((c) => /removal|volume|docker$|mysql-data/.test(c))).toEqual([]);
  }, 180_000);
});

describe("destroying the lab", () => {
  it("keeps the protected MariaDB data volumes and what they need (--exclude-protected); the next up creates the rest around them", async () => {
    const state = path.join(work, "lab-keep", "state.json");
    await up("lab", state);
    const calls: Calls = [];
    const lines: string[] = [];
    const r = await teardown({
      stack: "lab",
      state,
      log: (l) => lines.push(l),
      handlers: fakes(calls),
      excludeProtected: true,
    });
    expect(r.undone).toBeGreaterThan(0);
    const deleted = calls.filter((c) => c.startsWith("delete ")).map((c) => c.slice(7));
    // Every VM went, the volumes did not: their dependents go, they and their needs stay.
    for (const n of ["worker-2", "worker-3", "worker-4"]) {
      expect(deleted).toContain(`flotilla-lab-${n}`);
      expect(deleted).not.toContain(`flotilla-lab-${n}-mysql-data`);
    }
    expect(lines.join("\n")).toMatch(
      /teardown: keeping \d+ resource\(s\): the protected ones \(.*mysql-data/,
    );
    // The state keeps them: the next up creates the VMs again and finds the volumes unchanged.
    const again = await up("lab", state);
    expect(ops(again, "create")).toContain("flotilla-lab-worker-2");
    expect(ops(again, "create").filter((n) => n.endsWith("-mysql-data"))).toEqual([]);
    expect(again.calls.filter((c) => c.startsWith("delete"))).toEqual([]);
  }, 180_000);

  it("refuses while the MariaDB data volumes are protected (naming them); --unprotect deletes them, dependents first", async () => {
    const state = path.join(work, "lab-destroy", "state.json");
    await up("lab", state);
    const calls: Calls = [];
    await expect(teardown({ stack: "lab", state, log: () => {}, handlers: fakes(calls) })).rejects.toThrow(
      /teardown refused: 3 protected resource\(s\): .*flotilla-lab-worker-2-mysql-data/,
    );
    expect(calls).toEqual([]);
    const r = await teardown({ stack: "lab", state, log: () => {}, handlers: fakes(calls), unprotect: true });
    expect(r.undone).toBeGreaterThan(0);
    // The data volume goes after the VM that mounts it.
    const index = (call: string) => calls.indexOf(call);
    expect(index("delete flotilla-lab-worker-2-mysql-data")).toBeGreaterThan(
      index("delete flotilla-lab-worker-2"),
    );
  }, 180_000);
});

describe("aliases, as the engine applies them", () => {
  it("a component's new type token, aliased to the old one, keeps its children: nothing created or deleted", async () => {
    const state = path.join(work, "alias", "state.json");
    const program = (type: string, aliases: pulumi.Alias[]) => () => {
      const parent = new (class extends pulumi.ComponentResource {
        constructor() {
          super(type, "flotilla", {}, { aliases });
          new command.local.Command("flotilla-init", { create: "true" }, { parent: this });
          this.registerOutputs({});
        }
      })();
      return { parent: parent.urn };
    };
    const calls: Calls = [];
    await execute({
      stack: "dev",
      state,
      log: () => {},
      handlers: fakes(calls),
      program: program("flotilla:swarm:LocalSwarm", []),
    });
    expect(calls).toEqual(["create flotilla-init"]);
    const again: Calls = [];
    const r = await execute({
      stack: "dev",
      state,
      log: () => {},
      handlers: fakes(again),
      program: program("flotilla:local:LocalSwarm", [{ type: "flotilla:swarm:LocalSwarm" }]),
    });
    expect(again).toEqual([]);
    expect(r.steps.filter((s) => s.op !== "same")).toEqual([]);
  }, 60_000);
});
