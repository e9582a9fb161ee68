// The second `pulumi up`, decided without Docker: the pure decision (what the engine and
// each provider do with a changed input), the engine's graph walks (the dependents a
// delete-before-replace takes down first, the order of deletions), the provider's Check
// of a docker Image, and the state file's encryption. One test per rule, each naming the
// source line it follows (sources: tools/executor/rules.ts header).
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { checkInputs, contextDigest, dockerIgnore } from "../../tools/executor/check";
import {
  type DecisionOptions,
  decide,
  deleteWaves,
  dependentReplacements,
  type Goal,
  type Prior,
  ProtectedError,
  type StateNode,
} from "../../tools/executor/diff";
import {
  applyIgnoreChanges,
  diffPaths,
  formatPath,
  parsePath,
  pathContains,
} from "../../tools/executor/paths";
import { secretWrapper } from "../../tools/executor/secrets";
import {
  decryptValue,
  encryptValue,
  noOptions,
  passphrasePath,
  RehearsalState,
} from "../../tools/executor/state";
import { tempDir } from "../support/tempDir";

const work = tempDir("flotilla-engine-test-");

const LOCAL = "command:local:Command";
const REMOTE = "command:remote:Command";
const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";
const IMAGE = "docker:index/image:Image";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const KEY = "tls:index/privateKey:PrivateKey";
const CERT = "tls:index/selfSignedCert:SelfSignedCert";
const INSTANCE = "openstack:compute/instance:Instance";
const RULE = "openstack:networking/secGroupRule:SecGroupRule";

/** The options the command SDK adds to every Command (local/command.js:155, remote/command.js:132). */
const COMMAND_SDK: DecisionOptions = { replaceOnChanges: ["triggers[*]"] };

const urn = (type: string, name = "r") => `urn:pulumi:dev::flotilla::${type}::${name}`;

function prior(
  type: string,
  inputs: Record<string, unknown>,
  options: DecisionOptions = {},
  outputs: Record<string, unknown> = {},
): Prior {
  return { urn: urn(type), type, inputs, outputs: { ...inputs, ...outputs }, options };
}

function goal(type: string, inputs: Record<string, unknown>, options: DecisionOptions = {}): Goal {
  return { urn: urn(type), type, inputs, options };
}

/** Decide old → new with the same options on both sides. */
function change(
  type: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  options: DecisionOptions = type.startsWith("command:") ? COMMAND_SDK : {},
  extra: { outputs?: Record<string, unknown>; now?: Date } = {},
) {
  return decide(prior(type, olds, options, extra.outputs), goal(type, news, options), { now: extra.now });
}

describe("command:local/remote Command (pulumi-command v1.2.1 on go-provider v1.3.0)", () => {
  const base = { create: "deploy.sh", delete: "remove.sh", triggers: ["h1"] };

  it("unchanged inputs: same, nothing runs", () => {
    expect(change(LOCAL, base, { ...base }).op).toBe("same");
  });

  it("a changed create is an update that runs update ?? create (commandController.go:67-91)", () => {
    const d = change(LOCAL, base, { ...base, create: "deploy.sh --v2" });
    expect(d).toMatchObject({ op: "update", changedKeys: ["create"] });
    expect(d.inPlace.join()).toMatch(/runs `update`, or `create` when `update` is unset/);
  });

  it("a change of only the delete text is an update too: it re-runs update ?? create (no custom Diff)", () => {
    expect(change(REMOTE, base, { ...base, delete: "remove.sh --all" })).toMatchObject({
      op: "update",
      changedKeys: ["delete"],
    });
  });

  it("a changed trigger element replaces through the SDK's replaceOnChanges triggers[*], create first", () => {
    const d = change(LOCAL, base, { ...base, triggers: ["h2"] });
    expect(d).toMatchObject({ op: "replace", replaceKeys: ["triggers"], deleteBeforeReplace: false });
    expect(d.paths).toEqual(["triggers[0]"]);
    expect(d.reasons.join("\n")).toMatch(/triggers\[0\]: replaceOnChanges triggers\[\*\]/);
  });

  it("without the SDK's option a changed trigger element is only an update (the provider's forceReplace sees `triggers[0]`, not `triggers`: infer/resource.go:1141-1146,1228)", () => {
    expect(change(LOCAL, base, { ...base, triggers: ["h2"] }, {}).op).toBe("update");
  });

  it("triggers added or removed as a whole: the provider itself replaces (common/inputs.go:10 replaceOnChanges)", () => {
    const { triggers: _t, ...noTriggers } = base;
    expect(change(LOCAL, noTriggers, base, {})).toMatchObject({ op: "replace", replaceKeys: ["triggers"] });
    expect(change(LOCAL, base, noTriggers, {})).toMatchObject({ op: "replace", replaceKeys: ["triggers"] });
  });

  it("the deleteBeforeReplace option makes it delete-first (step_generator.go:2058-2061)", () => {
    const opts = { ...COMMAND_SDK, deleteBeforeReplace: true };
    expect(change(LOCAL, base, { ...base, triggers: ["h2"] }, opts)).toMatchObject({
      op: "replace",
      deleteBeforeReplace: true,
    });
  });

  it("ignoreChanges keeps the old value before the diff (processIgnoreChanges, step_generator.go:3076)", () => {
    const opts = { ...COMMAND_SDK, ignoreChanges: ["create", "triggers[0]"] };
    expect(change(LOCAL, base, { ...base, create: "other", triggers: ["h9"] }, opts).op).toBe("same");
  });

  it("keys the go-provider drops are no change: version and __-prefixed (infer/resource.go:1166-1172)", () => {
    expect(change(LOCAL, base, { ...base, __internal: 1, version: "9" }).op).toBe("same");
  });
});

describe("protect and --replace (step_generator.go)", () => {
  const base = { create: "a", triggers: ["1"] };

  it("a replace of a resource protected in old and new state is refused, naming the URN (:1955-1972)", () => {
    const opts = { ...COMMAND_SDK, protect: true };
    expect(() => change(LOCAL, base, { ...base, triggers: ["2"] }, opts)).toThrow(ProtectedError);
    expect(() => change(LOCAL, base, { ...base, triggers: ["2"] }, opts)).toThrow(
      `unable to replace resource "${urn(LOCAL)}"`,
    );
  });

  it("unprotecting and replacing in the same run is allowed (new.Protect && old.Protect, :1955)", () => {
    const d = decide(
      prior(LOCAL, base, { ...COMMAND_SDK, protect: true }),
      goal(LOCAL, { ...base, triggers: ["2"] }, COMMAND_SDK),
    );
    expect(d.op).toBe("replace");
  });

  it("--replace blames `id` without asking the provider: create-first even for a container with a name (:2892, :2058)", () => {
    const inputs = { name: "lab-node-1", image: "vm" };
    expect(
      decide(prior(CONTAINER, inputs), goal(CONTAINER, inputs), { targetedReplace: true }),
    ).toMatchObject({
      op: "replace",
      replaceKeys: ["id"],
      deleteBeforeReplace: false,
    });
    expect(
      decide(prior(CONTAINER, inputs), goal(CONTAINER, inputs, { deleteBeforeReplace: true }), {
        targetedReplace: true,
      }).deleteBeforeReplace,
    ).toBe(true);
  });

  it("a resource left pending replacement by an earlier delete-first is created without a second delete (:1952, :2142)", () => {
    const p = { ...prior(LOCAL, base, COMMAND_SDK), pendingReplacement: true };
    expect(decide(p, goal(LOCAL, base, COMMAND_SDK))).toMatchObject({
      op: "replace",
      deleteBeforeReplace: true,
    });
  });

  it("a dependent deleted earlier in this run by a delete-before-replace is created fresh (:1480-1505)", () => {
    expect(
      decide(prior(LOCAL, base, COMMAND_SDK), goal(LOCAL, base, COMMAND_SDK), {
        recreating: { keys: ["triggers"] },
      }),
    ).toMatchObject({ op: "replace", replaceKeys: ["triggers"] });
  });
});

describe("docker Image (pulumi-docker native provider: provider.go)", () => {
  const base = { imageName: "reg/webapp:1", build: { context: "/repo/images/webapp", args: { A: "1" } } };

  it("any change is an update (rebuild and push), never a replace (Diff :271, diffUpdates :330)", () => {
    const d = change(IMAGE, base, { ...base, build: { ...base.build, args: { A: "2" } } });
    expect(d).toMatchObject({ op: "update", changedKeys: ["build"], replaceKeys: [] });
    expect(change(IMAGE, base, { ...base, imageName: "reg/webapp:2" }).op).toBe("update");
  });

  it("a change of only the registry's username or password is no change (:336-340)", () => {
    const withRegistry = { ...base, registry: { server: "reg", username: "a", password: "x" } };
    expect(
      change(IMAGE, withRegistry, {
        ...withRegistry,
        registry: { server: "reg", username: "b", password: "y" },
      }).op,
    ).toBe("same");
    expect(change(IMAGE, withRegistry, { ...withRegistry, registry: { server: "other" } }).op).toBe("update");
  });
});

describe("docker Container (terraform-provider-docker v4.5.0, pulumi-docker resources.go:114)", () => {
  const base = {
    name: "lab-node-1",
    image: "sha256:aaa",
    hostname: "node-1",
    memory: 512,
    labels: [
      { label: "a", value: "1" },
      { label: "b", value: "2" },
    ],
    uploads: [{ file: "/etc/x", content: "one" }],
  };

  it("a new image replaces it, delete first (image ForceNew :141; DeleteBeforeReplace: true)", () => {
    expect(change(CONTAINER, base, { ...base, image: "sha256:bbb" })).toMatchObject({
      op: "replace",
      replaceKeys: ["image"],
      deleteBeforeReplace: true,
    });
  });

  it("changed uploads (a rendered file) replace it (upload ForceNew :987)", () => {
    expect(change(CONTAINER, base, { ...base, uploads: [{ file: "/etc/x", content: "two" }] })).toMatchObject(
      {
        op: "replace",
        replaceKeys: ["uploads"],
      },
    );
  });

  it("memory is updated in place with docker update (funcs.go:1015-1019)", () => {
    const d = change(CONTAINER, base, { ...base, memory: 1024 });
    expect(d).toMatchObject({ op: "update", changedKeys: ["memory"] });
    expect(d.inPlace.join()).toMatch(/docker update/);
  });

  it("a changed health check is only written to state: neither ForceNew nor in Update's list (:1045)", () => {
    const d = change(CONTAINER, base, { ...base, healthcheck: { tests: ["CMD", "true"] } });
    expect(d.op).toBe("update");
    expect(d.inPlace.join()).toMatch(/state only/);
  });

  it("labels in another order are no change (a TF set, :833)", () => {
    expect(change(CONTAINER, base, { ...base, labels: [...base.labels].reverse() }).op).toBe("same");
  });

  it("leaving out an Optional+Computed input keeps the stored value (hostname :148)", () => {
    const { hostname: _h, ...noHostname } = base;
    expect(change(CONTAINER, base, noHostname).op).toBe("same");
  });

  it("a replace through replaceOnChanges alone is create-first: the bridge asks for delete-first only with replaces of its own (provider.go:1275-1276)", () => {
    expect(
      change(CONTAINER, base, { ...base, memory: 1024 }, { replaceOnChanges: ["memory"] }),
    ).toMatchObject({
      op: "replace",
      deleteBeforeReplace: false,
    });
  });

  it("the deleteBeforeReplace option false overrides the provider's delete-first (step_generator.go:2058-2061)", () => {
    expect(
      change(CONTAINER, base, { ...base, image: "sha256:bbb" }, { deleteBeforeReplace: false })
        .deleteBeforeReplace,
    ).toBe(false);
  });
});

describe("docker Network and Volume (every input ForceNew; name auto-named: tfbridge/schema.go:195)", () => {
  it("an explicitly named network is replaced delete first", () => {
    const base = { name: "lab", ipamConfigs: [{ subnet: "10.77.0.0/24" }] };
    expect(change(NETWORK, base, { ...base, ipamConfigs: [{ subnet: "10.78.0.0/24" }] })).toMatchObject({
      op: "replace",
      replaceKeys: ["ipamConfigs"],
      deleteBeforeReplace: true,
    });
  });

  it("a network without an explicit name is replaced create first", () => {
    expect(change(NETWORK, { internal: false }, { internal: true })).toMatchObject({
      op: "replace",
      deleteBeforeReplace: false,
    });
  });

  it("a named volume whose labels change is replaced delete first: its data is gone", () => {
    const base = { name: "mysql-data", labels: [{ label: "a", value: "1" }] };
    expect(change(VOLUME, base, { ...base, labels: [{ label: "a", value: "2" }] })).toMatchObject({
      op: "replace",
      replaceKeys: ["labels"],
      deleteBeforeReplace: true,
    });
  });
});

describe("random and tls (every input RequiresReplace; plugin-framework resources: create first)", () => {
  it("a RandomPassword with a new length is replaced create first: a new password (resource_password.go:585)", () => {
    expect(change(PASSWORD, { length: 24 }, { length: 32 })).toMatchObject({
      op: "replace",
      replaceKeys: ["length"],
      deleteBeforeReplace: false,
    });
  });

  it("schema defaults given explicitly are no change (special defaults to true)", () => {
    expect(change(PASSWORD, { length: 24 }, { length: 24, special: true }).op).toBe("same");
    expect(change(KEY, { algorithm: "RSA" }, { algorithm: "RSA", rsaBits: 2048 }).op).toBe("same");
  });

  it("new keepers replace it (resource_password.go:576)", () => {
    expect(
      change(PASSWORD, { length: 24, keepers: { v: "1" } }, { length: 24, keepers: { v: "2" } }).op,
    ).toBe("replace");
  });

  it("a private key of another algorithm is a new key (resource_private_key.go:57)", () => {
    expect(change(KEY, { algorithm: "ECDSA" }, { algorithm: "ED25519" }).replaceKeys).toEqual(["algorithm"]);
  });

  const cert = {
    privateKeyPem: "PEM",
    validityPeriodHours: 8760,
    earlyRenewalHours: 720,
    allowedUses: ["server_auth"],
  };
  const issued = { validityEndTime: "2027-12-04T12:00:00Z" };

  it("a self-signed certificate's earlyRenewalHours is updated in state only (resource_self_signed_cert.go:127)", () => {
    const d = change(
      CERT,
      cert,
      { ...cert, earlyRenewalHours: 24 },
      {},
      { outputs: issued, now: new Date("2027-01-01T00:00:00Z") },
    );
    expect(d).toMatchObject({ op: "update", changedKeys: ["earlyRenewalHours"] });
  });

  it("the same certificate a year later, inside its early-renewal window, is replaced: readyForRenewal at plan time (common_cert.go:268-311)", () => {
    expect(change(CERT, cert, cert, {}, { outputs: issued, now: new Date("2027-01-01T00:00:00Z") }).op).toBe(
      "same",
    );
    const later = change(CERT, cert, cert, {}, { outputs: issued, now: new Date("2027-11-04T12:00:00Z") });
    expect(later).toMatchObject({
      op: "replace",
      replaceKeys: ["readyForRenewal"],
      deleteBeforeReplace: false,
    });
  });
});

describe("openstack compute Instance (terraform-provider-openstack v1.54.1; never performed here)", () => {
  const vm = {
    name: "flotilla-db-1",
    imageName: "debian-12",
    flavorName: "m1.small",
    keyPair: "flotilla",
    availabilityZone: "nova",
    networks: [{ port: "p1" }],
  };

  it("a new image_name is an in-place REBUILD: same ID, disk wiped (:73, funcs :1065-1093)", () => {
    const d = change(INSTANCE, vm, { ...vm, imageName: "debian-13" });
    expect(d).toMatchObject({ op: "update", changedKeys: ["imageName"] });
    expect(d.inPlace.join()).toMatch(/REBUILD in place/);
  });

  it("a new flavor_name is an in-place RESIZE (:84, :979-1044)", () => {
    expect(change(INSTANCE, vm, { ...vm, flavorName: "m1.large" }).inPlace.join()).toMatch(/RESIZE in place/);
  });

  for (const [key, value] of [
    ["keyPair", "flotilla-2"],
    ["availabilityZone", "az-2"],
    ["networks", [{ port: "p2" }]],
    ["schedulerHints", [{ group: "g1" }]],
  ] as const)
    it(`a changed ${key} replaces it, delete first (explicit name; pulumi-openstack resources.go:459)`, () => {
      expect(change(INSTANCE, vm, { ...vm, [key]: value })).toMatchObject({
        op: "replace",
        replaceKeys: [key],
        deleteBeforeReplace: true,
      });
    });

  it("a rename is in place (name is not ForceNew, :63)", () => {
    expect(change(INSTANCE, vm, { ...vm, name: "flotilla-db-01" }).op).toBe("update");
  });

  it("a security-group rule whose description alone changes is replaced create first (:37; no name)", () => {
    const r = { direction: "ingress", ethertype: "IPv4", description: "ssh", securityGroupId: "sg" };
    expect(change(RULE, r, { ...r, description: "SSH from the bastion" })).toMatchObject({
      op: "replace",
      deleteBeforeReplace: false,
    });
  });
});

describe("the engine's graph walks", () => {
  const node = (
    name: string,
    type: string,
    propertyDependencies: Record<string, string[]> = {},
    dependencies: string[] = Object.values(propertyDependencies).flat(),
    options: DecisionOptions = {},
  ): StateNode => ({
    key: urn(type, name),
    urn: urn(type, name),
    type,
    custom: true,
    dependencies,
    propertyDependencies,
    inputs: Object.fromEntries(Object.keys(propertyDependencies).map((k) => [k, "v"])),
    options,
  });
  const vm = node("vm", CONTAINER);
  const init = node("init", REMOTE, { connection: [vm.urn], triggers: [vm.urn] }, undefined, COMMAND_SDK);
  const join = node("join", REMOTE, { triggers: [init.urn] }, undefined, COMMAND_SDK);
  const viaConnection = node("probe", REMOTE, { connection: [vm.urn] }, undefined, COMMAND_SDK);
  const viaDependsOn = node("stack", LOCAL, {}, [init.urn], COMMAND_SDK);
  const unrelated = node("other", LOCAL, {}, [], COMMAND_SDK);

  it("condemns dependents whose replace keys take a value from the replaced resource, recursively; not those through an update key or dependsOn (calculateDependentReplacements, step_generator.go:3268-3417)", () => {
    expect(dependentReplacements(vm.urn, [vm, init, join, viaConnection, viaDependsOn, unrelated])).toEqual([
      { urn: init.urn, keys: ["triggers"] },
      { urn: join.urn, keys: ["triggers"] },
    ]);
  });

  it("skips dependents already registered in this run (:3391-3402)", () => {
    expect(dependentReplacements(vm.urn, [vm, init, join], new Set([init.urn]))).toEqual([]);
  });

  it("a replaceOnChanges path of the dependent counts as a replace key", () => {
    const custom = node("custom", LOCAL, { create: [vm.urn] }, undefined, { replaceOnChanges: ["create"] });
    expect(dependentReplacements(vm.urn, [vm, custom]).map((d) => d.urn)).toEqual([custom.urn]);
  });

  it("deletes in waves, dependents first; a resource nothing orders goes in the last wave (ScheduleDeletes peels dependency leaves, then reverses: step_generator.go:2747-2797)", () => {
    const waves = deleteWaves([vm, init, join, unrelated]).map((w) =>
      w.map((n) => n.urn.split("::").pop()).sort(),
    );
    expect(waves).toEqual([["join"], ["init"], ["other", "vm"]]);
  });
});

describe("property paths (sdk/go/common/resource/properties_path.go)", () => {
  it("parses and prints the engine's paths", () => {
    expect(parsePath('a.b[0]["c.d"][*]')).toEqual(["a", "b", 0, "c.d", "*"]);
    expect(formatPath(["labels", "a.b", 2])).toBe('labels["a.b"][2]');
  });

  it("Contains: * matches any key or index, a shorter path is never contained (:314-342)", () => {
    expect(pathContains(parsePath("triggers[*]"), parsePath("triggers[3]"))).toBe(true);
    expect(pathContains(parsePath("triggers[*]"), parsePath("triggers"))).toBe(false);
  });

  it("diffs element by element", () => {
    expect(
      diffPaths({ t: ["a", "b"] }, { t: ["a", "c", "d"] }).map((d) => [formatPath(d.path), d.kind]),
    ).toEqual([
      ["t[1]", "update"],
      ["t[2]", "add"],
    ]);
  });

  it("ignoreChanges puts the old value back, deletes what the old lacked, and reports what it cannot apply", () => {
    const r = applyIgnoreChanges({ a: 1, m: { x: 1 } }, { a: 2, b: 3, m: { x: 2, y: 1 } }, ["a", "b", "m.x"]);
    expect(r.inputs).toEqual({ a: 1, m: { x: 1, y: 1 } });
    expect(applyIgnoreChanges({ l: [1] }, { l: [] }, ["l[0]"]).invalid).toEqual(["l[0]"]);
  });
});

describe("the docker Image's Check: the context digest (pulumi-docker provider.go:128-268, hashContext :606)", () => {
  const ctx = path.join(work, "ctx");
  mkdirSync(path.join(ctx, "node_modules"), { recursive: true });
  writeFileSync(path.join(ctx, "Dockerfile"), "FROM scratch\n");
  writeFileSync(path.join(ctx, "app.js"), "one\n");
  writeFileSync(path.join(ctx, ".dockerignore"), "node_modules\n");
  writeFileSync(path.join(ctx, "node_modules", "x.js"), "x\n");
  const digest = () => contextDigest(ctx, path.join(ctx, "Dockerfile"));

  it("changes with a file's bytes and with its mode, not with an ignored file", () => {
    const first = digest();
    writeFileSync(path.join(ctx, "node_modules", "x.js"), "y\n");
    expect(digest()).toBe(first);
    chmodSync(path.join(ctx, "app.js"), 0o755);
    const chmodded = digest();
    expect(chmodded).not.toBe(first);
    writeFileSync(path.join(ctx, "app.js"), "two\n");
    expect(digest()).not.toBe(chmodded);
  });

  it("adds the platform, the dockerfile and the digest to the inputs the provider diffs", () => {
    const checked = checkInputs(IMAGE, { imageName: "x", build: { context: ctx } });
    expect(checked.build).toMatchObject({
      context: ctx,
      dockerfile: `${ctx}/Dockerfile`,
      platform: expect.stringMatching(/^linux\//),
      contextDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it(".dockerignore: a directory pattern excludes what is under it; ! re-includes", () => {
    const ignored = dockerIgnore(["node_modules", "*.log", "!keep.log"]);
    expect(ignored("node_modules/a/b.js")).toBe(true);
    expect(ignored("x.log")).toBe(true);
    expect(ignored("keep.log")).toBe(false);
    expect(ignored("src/app.js")).toBe(false);
  });
});

describe("the state file (Pulumi's passphrase secrets provider: crypt.go:165-183)", () => {
  it("AES-256-GCM values as v1:<nonce>:<sealed>, which a wrong key cannot open", () => {
    const key = Buffer.alloc(32, 7);
    const sealed = encryptValue(key, '"hunter2"');
    expect(sealed).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(decryptValue(key, sealed)).toBe('"hunter2"');
    expect(() => decryptValue(Buffer.alloc(32, 8), sealed)).toThrow();
  });

  it("never holds a secret in plaintext, keeps its passphrase 0600, and reads the secret back as a secret", () => {
    const file = path.join(work, "state", "state.json");
    const secret = "correct-horse-battery-staple-42";
    const state = RehearsalState.open(file, "dev");
    state.put({
      urn: urn(PASSWORD, "pw"),
      type: PASSWORD,
      name: "pw",
      parent: "",
      id: "none",
      inputs: { length: 31 },
      outputs: { length: 31, result: secretWrapper(secret) },
      dependencies: [],
      propertyDependencies: {},
      options: noOptions(),
      created: "2026-12-04T00:00:00Z",
      modified: "2026-12-04T00:00:00Z",
    });
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(secret);
    expect(text).toContain(pulumi.runtime.specialSecretSig);
    expect(statSync(passphrasePath(file)).mode & 0o777).toBe(0o600);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = RehearsalState.open(file, "dev");
    expect(again.get(urn(PASSWORD, "pw"))?.outputs.result).toEqual(secretWrapper(secret));
  });

  it("refuses to read a state whose passphrase is gone", () => {
    const file = path.join(work, "state", "state.json");
    rmSync(passphrasePath(file));
    expect(() => RehearsalState.open(file, "dev")).toThrow(/passphrase file .* is missing/);
  });
});
