// The second `up` under the real Pulumi runtime, with fake providers that record what
// they are asked to do: nothing on an unchanged run, an update that runs `update`, a
// create-before-delete replacement whose original is deleted last with its OLD inputs, a
// delete-before-replace that takes a dependent down first, what left the program deleted
// dependents first, protect, ignoreChanges, a failed update, additionalSecretOutputs,
// --replace, and a certificate a year later (real tls handlers). The rules themselves are
// in engine.test.ts.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { describe, expect, it } from "vitest";
import { type ExecuteOptions, ExecutionError, execute, teardown } from "../../tools/executor/executor";
import type { ResourceHandler } from "../../tools/executor/types";
import { tempDir } from "../support/tempDir";

const work = tempDir("flotilla-executor-state-test-");

let stateCount = 0;
const freshState = () => path.join(work, `s${++stateCount}`, "state.json");

/** A fake command provider: records "op name text" for every call; stdout changes with every create. */
function recorder(opts: { failUpdates?: number } = {}) {
  const calls: string[] = [];
  let n = 0;
  let failUpdates = opts.failUpdates ?? 0;
  const handler: ResourceHandler = {
    create: async (inputs, ctx) => {
      calls.push(`create ${ctx.name} ${inputs.create}`);
      return { id: `${ctx.name}-${++n}`, outputs: { stdout: `${inputs.create}#${n}`, stderr: "" } };
    },
    update: async (prior, inputs, ctx) => {
      const text = String(inputs.update ?? inputs.create);
      calls.push(`update ${ctx.name} ${text}`);
      if (failUpdates-- > 0) throw new Error(`update of ${ctx.name} failed`);
      return { id: prior.id, outputs: { stdout: `${text}#u`, stderr: "" } };
    },
    delete: async (prior, ctx) => {
      calls.push(`delete ${ctx.name} ${prior.inputs.delete}`);
    },
  };
  return { calls, handlers: { "command:local:Command": handler } };
}

type Program = ExecuteOptions["program"];

function runner(state: string, handlers: Record<string, ResourceHandler>) {
  return (program: Program, extra: Partial<ExecuteOptions> = {}) =>
    execute({ stack: "dev", state, log: () => {}, handlers, program, ...extra });
}

const ops = (steps: { op: string; name: string; replaced?: boolean; because?: string }[]) =>
  steps.map((s) => `${s.op}${s.replaced ? "-replaced" : s.because ? "-first" : ""} ${s.name}`);

describe("the second up", () => {
  it("with nothing changed performs nothing and returns the same outputs, secrets still secret", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = () => {
      const pw = new random.RandomPassword("pw", { length: 24, special: false });
      const cmd = new command.local.Command("deploy", { create: "deploy", delete: "remove" });
      return {
        pw: pw.result,
        out: cmd.stdout,
        secretSeen: pw.result.apply(() => pulumi.isSecret(pw.result)),
      };
    };
    const first = await up(program);
    calls.length = 0;
    const second = await up(program);
    expect(calls).toEqual([]);
    expect(ops(second.steps)).toEqual(["same pw", "same deploy"]);
    expect(second.summary).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 2 });
    expect(second.secretOutputs.pw).toBe(first.secretOutputs.pw);
    expect(second.outputs.pw).toBe("[secret]");
    expect(second.outputs.out).toBe(first.outputs.out);
  });

  it("a changed create is an update that runs `update` when set, `create` otherwise", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = (v: string) => () => {
      new command.local.Command("with-update", { create: `create-${v}`, update: `update-${v}` });
      new command.local.Command("no-update", { create: `create-${v}` });
      return {};
    };
    await up(program("1"));
    calls.length = 0;
    const second = await up(program("2"));
    expect(calls.sort()).toEqual(["update no-update create-2", "update with-update update-2"]);
    expect(second.steps.map((s) => s.op)).toEqual(["update", "update"]);
    expect(second.steps.find((s) => s.name === "with-update")?.changedKeys).toEqual(["create", "update"]);
  });

  it("changed triggers replace create-first: the replacement and its dependents' updates before the original's delete, which runs last with the OLD inputs", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = (v: string) => () => {
      const a = new command.local.Command("a", { create: "make-a", delete: `remove-a-${v}`, triggers: [v] });
      new command.local.Command("b", { create: a.stdout, delete: "remove-b" });
      return {};
    };
    await up(program("1"));
    calls.length = 0;
    const second = await up(program("2"));
    expect(calls).toEqual(["create a make-a", "update b make-a#3", "delete a remove-a-1"]);
    expect(ops(second.steps)).toEqual(["replace a", "update b", "delete-replaced a"]);
    expect(second.steps[0]).toMatchObject({ replaceKeys: ["triggers"], order: "create-before-delete" });
    expect(second.summary).toMatchObject({ replace: 1, update: 1, delete: 0 });
  });

  it("delete-before-replace deletes the dependents whose replace keys come from it first, then creates both again", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = (v: string) => () => {
      const a = new command.local.Command(
        "a",
        { create: "make-a", delete: "remove-a", triggers: [v] },
        { deleteBeforeReplace: true },
      );
      // Its trigger takes a's output: condemned with a.
      const b = new command.local.Command("b", {
        create: "make-b",
        delete: "remove-b",
        triggers: [a.stdout],
      });
      // Only its create takes a's output (an update key): left standing, updated later.
      new command.local.Command("c", { create: a.stdout, delete: "remove-c" });
      return { b: b.stdout };
    };
    await up(program("1"));
    calls.length = 0;
    const second = await up(program("2"));
    // b and c both wait for a's new output, then run concurrently.
    expect(calls.slice(0, 3)).toEqual(["delete b remove-b", "delete a remove-a", "create a make-a"]);
    expect(calls.slice(3).sort()).toEqual(["create b make-b", "update c make-a#4"]);
    expect(ops(second.steps).slice(0, 3)).toEqual(["delete-first b", "delete-replaced a", "replace a"]);
    expect(ops(second.steps).slice(3).sort()).toEqual(["replace b", "update c"]);
    expect(second.steps.find((s) => s.op === "replace" && s.name === "a")).toMatchObject({
      order: "delete-before-replace",
    });
  });

  it("deletes what left the program at the end, dependents first", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    await up(() => {
      const base = new command.local.Command("base", { create: "make-base", delete: "remove-base" });
      const mid = new command.local.Command("mid", { create: base.stdout, delete: "remove-mid" });
      new command.local.Command("top", { create: mid.stdout, delete: "remove-top" });
      new command.local.Command("kept", { create: "make-kept" });
      return {};
    });
    calls.length = 0;
    const second = await up(() => {
      new command.local.Command("kept", { create: "make-kept" });
      return {};
    });
    expect(calls).toEqual(["delete top remove-top", "delete mid remove-mid", "delete base remove-base"]);
    expect(second.summary).toMatchObject({ delete: 3, same: 1 });
  });

  it("refuses to delete or replace a protected resource, naming its URN, and keeps it in the state", async () => {
    const { calls, handlers } = recorder();
    const state = freshState();
    const up = runner(state, handlers);
    const program = (v: string) => () => {
      new command.local.Command(
        "db",
        { create: "make-db", delete: "drop-db", triggers: [v] },
        { protect: true },
      );
      return {};
    };
    await up(program("1"));
    // The mock monitor's URN (runtime/mocks.js newUrn): the stack's type, then the resource's.
    const urn = "urn:pulumi:dev::flotilla::pulumi:pulumi:Stack$command:local:Command::db";
    await expect(up(program("2"))).rejects.toThrow(`unable to replace resource "${urn}"`);
    await expect(up(() => ({}))).rejects.toThrow(
      `resource "${urn}" cannot be deleted because it is protected`,
    );
    await expect(teardown({ stack: "dev", state, log: () => {}, handlers })).rejects.toThrow(/protected/);
    expect(calls).toEqual(["create db make-db"]);
    expect(JSON.parse(readFileSync(state, "utf8")).resources.map((r: { urn: string }) => r.urn)).toEqual([
      urn,
    ]);
    const down = await teardown({ stack: "dev", state, log: () => {}, handlers, unprotect: true });
    expect(down.undone).toBe(1);
    expect(calls).toEqual(["create db make-db", "delete db drop-db"]);
  });

  it("honours ignoreChanges: an ignored input's change does nothing", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = (v: string) => () => {
      new command.local.Command(
        "x",
        { create: `make-${v}`, triggers: [v] },
        { ignoreChanges: ["create", "triggers"] },
      );
      return {};
    };
    await up(program("1"));
    calls.length = 0;
    const second = await up(program("2"));
    expect(calls).toEqual([]);
    expect(second.steps.map((s) => s.op)).toEqual(["same"]);
  });

  it("a failed update keeps the old state, and the next run tries the update again", async () => {
    const { calls, handlers } = recorder({ failUpdates: 1 });
    const state = freshState();
    const up = runner(state, handlers);
    const program = (v: string) => () => {
      new command.local.Command("x", { create: `make-${v}` });
      return {};
    };
    await up(program("1"));
    const err = await up(program("2")).catch((e) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toMatch(/update of x failed/);
    expect(err.steps.map((s: { op: string; error?: string }) => [s.op, !!s.error])).toEqual([
      ["update", true],
    ]);
    const saved = JSON.parse(readFileSync(state, "utf8"));
    expect(saved.resources[0].inputs.create).toBe("make-1");
    const third = await up(program("2"));
    expect(third.steps.map((s) => s.op)).toEqual(["update"]);
    expect(calls).toEqual(["create x make-1", "update x make-2", "update x make-2"]);
  });

  it("marks additionalSecretOutputs secret in the runtime and shows them as [secret]", async () => {
    const { handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = () => {
      const token = new command.local.Command(
        "token",
        { create: "print-token" },
        { additionalSecretOutputs: ["stdout"] },
      );
      return { token: token.stdout, isSecret: pulumi.output(pulumi.isSecret(token.stdout)) };
    };
    for (const result of [await up(program), await up(program)]) {
      expect(result.outputs.token).toBe("[secret]");
      expect(result.outputs.isSecret).toBe(true);
    }
    const first = await up(program);
    expect(first.resources.find((r) => r.name === "token")?.outputs.stdout).toBe("[secret]");
  });

  it("--replace replaces an unchanged resource (by name), create first", async () => {
    const { calls, handlers } = recorder();
    const up = runner(freshState(), handlers);
    const program = () => {
      new command.local.Command("x", { create: "make", delete: "remove" });
      return {};
    };
    await up(program);
    calls.length = 0;
    const second = await up(program, { replace: ["x"] });
    expect(calls).toEqual(["create x make", "delete x remove"]);
    expect(second.steps[0]).toMatchObject({
      op: "replace",
      replaceKeys: ["id"],
      order: "create-before-delete",
    });
  });
});

describe("a year later", () => {
  it("the edge certificate is replaced once inside its early-renewal window; its key, and everything else, stays", async () => {
    const { calls, handlers } = recorder();
    const state = freshState();
    const start = Date.now();
    const program = () => {
      const key = new tls.PrivateKey("edge-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
      const cert = new tls.SelfSignedCert("edge-cert", {
        privateKeyPem: key.privateKeyPem,
        validityPeriodHours: 8760,
        earlyRenewalHours: 720,
        allowedUses: ["server_auth"],
        subject: { commonName: "localhost" },
      });
      new command.local.Command("deploy", { create: "deploy", delete: "remove", triggers: [cert.certPem] });
      return { cert: cert.certPem, key: pulumi.secret(key.privateKeyPem) };
    };
    const run = (days: number) =>
      execute({
        stack: "dev",
        state,
        log: () => {},
        handlers,
        program,
        now: () => new Date(start + days * 86_400_000),
      });
    const first = await run(0);
    const month = await run(30);
    expect(month.steps.map((s) => s.op)).toEqual(["same", "same", "same"]);
    const later = await run(340);
    expect(ops(later.steps)).toEqual([
      "same edge-key",
      "replace edge-cert",
      "replace deploy",
      // The deploy took the certificate as a trigger: its original goes first.
      "delete-replaced deploy",
      "delete-replaced edge-cert",
    ]);
    expect(later.steps[1].replaceKeys).toEqual(["readyForRenewal"]);
    expect(later.outputs.cert).not.toBe(first.outputs.cert);
    expect(later.secretOutputs.key).toBe(first.secretOutputs.key);
    expect(calls).toEqual(["create deploy deploy", "create deploy deploy", "delete deploy remove"]);
  });
});
