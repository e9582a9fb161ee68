// Evaluate the real Pulumi program (or one component) under pulumi.runtime.setMocks
// and return every registered resource with its type, name, parent and inputs, so
// tests assert on the whole graph. No Pulumi CLI or provider plugin is involved.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { REPO_ROOT } from "../../components/repo";
import { stackConfig } from "./config";

// One config loader (./config): re-exported, as most tests import it with `evaluate`.
export { stackConfig };

/** The repository root (components/repo knows it). */
export const ROOT = REPO_ROOT;

export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  /** URN of the parent resource ("" for the stack itself). */
  parent: string;
  /** Whether a provider resource (true) or a component (false). */
  custom: boolean;
  /** Inputs as the program passed them (secrets unwrapped, see `secretInputs`). */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  /** URNs of explicit dependsOn. */
  dependencies: string[];
  /** Names of the inputs that the program marked secret (the engine encrypts them in state). */
  secretInputs: string[];
}

export interface Evaluation {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
  /** Every invoke the program made, with its token and arguments. */
  invokes: { token: string; inputs: Record<string, unknown> }[];
  byType(type: string): RecordedResource[];
  one(type: string, nameIncludes?: string): RecordedResource;
  childrenOf(resource: RecordedResource): RecordedResource[];
}

/** Extra provider state for chosen resources (merged over the default mock state), e.g. a command's stdout. */
export type MockOutputs = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
) => Record<string, unknown> | undefined;

/** Answers for the invokes the program is expected to make; anything else fails the test loudly. */
export type InvokeAnswers = Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>;

function unwrapSecrets(value: unknown, pathSoFar: string, found: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${pathSoFar}[${i}]`, found));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) {
      found.add(pathSoFar.split(/[.[]/)[0]);
      return unwrapSecrets(obj.value, pathSoFar, found);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj))
      out[k] = unwrapSecrets(v, pathSoFar ? `${pathSoFar}.${k}` : k, found);
    return out;
  }
  return value;
}

interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getRetainondelete?(): boolean;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getDependenciesList(): string[];
}

/**
 * Run `fn` (which constructs resources) as a Pulumi program under mocks, with the given
 * raw config. Returns the recorded graph once every registration has settled.
 */
export async function evaluate(
  fn: () => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined,
  options: {
    config?: Record<string, string>;
    secretKeys?: string[];
    stack?: string;
    invokes?: InvokeAnswers;
    /** Extra state for chosen resources, on top of the built-in mock state. */
    mockOutputs?: MockOutputs;
    /** Where registrations are recorded (also when the evaluation fails): pass one to look after a failure. */
    recorded?: RecordedResource[];
  } = {},
): Promise<Evaluation> {
  const resources: RecordedResource[] = options.recorded ?? [];
  const invokes: Evaluation["invokes"] = [];
  const pending = new Map<string, Omit<RecordedResource, "inputs" | "secretInputs" | "urn">>();
  const stack = options.stack ?? "test";
  const project = "flotilla";

  pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const meta = pending.get(`${args.type}::${args.name}`);
        const secretInputs = new Set<string>();
        const inputs = unwrapSecrets(args.inputs, "", secretInputs) as Record<string, unknown>;
        const urn = mockUrn(stack, project, meta?.parent ?? "", args.type, args.name);
        resources.push({
          type: args.type,
          name: args.name,
          urn,
          parent: meta?.parent ?? "",
          custom: args.custom ?? true,
          inputs,
          protect: meta?.protect ?? false,
          retainOnDelete: meta?.retainOnDelete ?? false,
          deleteBeforeReplace: meta?.deleteBeforeReplace ?? false,
          ignoreChanges: meta?.ignoreChanges ?? [],
          dependencies: meta?.dependencies ?? [],
          secretInputs: [...secretInputs],
        });
        return {
          id: args.custom === false ? undefined : `${args.name}-id`,
          state: {
            ...mockState(args.type, args.name, inputs),
            ...(options.mockOutputs?.(args.type, args.name, inputs) ?? {}),
          },
        };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs });
        const answer = options.invokes?.[args.token];
        if (!answer)
          throw new Error(`unexpected invoke ${args.token} (add it to the test's expected invokes)`);
        return answer(args.inputs);
      },
    },
    project,
    stack,
    true,
  );
  // Record what MockResourceArgs does not carry: parent and resource options.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: MonitorRequest, cb: unknown): Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    pending.set(`${req.getType()}::${req.getName()}`, {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      custom: req.getCustom(),
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete?.() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplace(),
      ignoreChanges: req.getIgnorechangesList(),
      dependencies: req.getDependenciesList(),
    });
    return original(req, cb);
  };

  // A program error is caught inside the stack and rethrown after the runtime settles,
  // so a refused config fails the test cleanly instead of as an unhandled rejection.
  let failure: unknown;
  // A resource that cannot register (a rejected `dependsOn`, a throwing apply) ends, by the
  // SDK's design, as an unhandled rejection (runtime/resource.js, runAsyncResourceOp),
  // which the CLI prints before it exits non-zero. Here it ends the evaluation instead:
  // the runtime would otherwise wait forever for the resources that depended on it.
  const { failed, release } = programFailures();
  let outputs: Record<string, unknown>;
  try {
    outputs =
      (await Promise.race([
        pulumi.runtime.runInPulumiStack(async () => {
          try {
            return (await fn()) ?? {};
          } catch (err) {
            failure = err;
            return {};
          }
        }),
        failed,
      ])) ?? {};
    await Promise.race([pulumi.runtime.disconnect(), failed]);
  } finally {
    await release();
  }
  if (failure !== undefined) throw failure;

  const byType = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    outputs: unwrapSecrets(outputs, "", new Set()) as Record<string, unknown>,
    invokes,
    byType,
    one(type, nameIncludes) {
      const matches = byType(type).filter((r) => !nameIncludes || r.name.includes(nameIncludes));
      if (matches.length !== 1) {
        throw new Error(
          `expected exactly one ${type}${nameIncludes ? ` named *${nameIncludes}*` : ""}, found ${matches.length}: ${matches.map((m) => m.name).join(", ")}`,
        );
      }
      return matches[0];
    },
    childrenOf(resource) {
      return resources.filter((r) => r.parent === resource.urn);
    },
  };
}

/** The URN the mock monitor gives a resource (it qualifies the type with the parent's type only). */
function mockUrn(stack: string, project: string, parent: string, type: string, name: string): string {
  const qualified = parent ? `${parent.split("::")[2].split("$").pop()}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** Plausible provider state for resources whose outputs the program reads. */
/** A Swarm cluster ID as `docker info` prints one (25 characters), the same in every mock. */
export const MOCK_SWARM_ID = "mockswarmclusterid0000001";

/** What the scripts whose output the program parses print (the rest print nothing here). */
function mockCommandStdout(create: string): string {
  if (create.includes(" flotilla-local-swarm")) return `swarm: initialised\nswarm: cluster ${MOCK_SWARM_ID}`;
  if (create.includes(" flotilla-init ")) return `mocknodeid-manager-0\n${MOCK_SWARM_ID}`;
  return "";
}

function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomBytes:RandomBytes":
      return {
        ...inputs,
        result: `mock-${name}-0123456789abcdef`,
        base64: Buffer.alloc(32, 7).toString("base64"),
      };
    case "random:index/randomUuid:RandomUuid": {
      // A stable UUID per name (the Consul ACL tokens' SecretIDs).
      const hex = Buffer.from(name.padEnd(16, "0")).toString("hex").slice(0, 32);
      return {
        ...inputs,
        result: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
      };
    }
    case "docker:index/image:Image":
      // The repository is the name without its tag (a registry's `host:port/` keeps its colon).
      return {
        ...inputs,
        repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${"0".repeat(64)}`,
      };
    case "command:local:Command":
    case "command:remote:Command":
      return { ...inputs, stdout: mockCommandStdout(String(inputs.create ?? "")), stderr: "" };
    case "tls:index/privateKey:PrivateKey":
      return {
        ...inputs,
        // A real key (PEM), so a certificate can be signed with it; the OpenSSH forms stay fakes.
        privateKeyPem: String(
          generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
            type: "sec1",
            format: "pem",
          }),
        ),
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nmock-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${Buffer.from(name).toString("base64").replace(/=/g, "")}\n`,
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { ...inputs, ...mockCertificate(inputs) };
    case "openstack:networking/port:Port":
      return { ...inputs, allFixedIps: [mockAddress("10.42.0", name)] };
    case "openstack:networking/floatingIp:FloatingIp":
      return { ...inputs, address: mockAddress("203.0.113", name) };
    case "openstack:compute/volumeAttach:VolumeAttach":
      return { ...inputs, device: "/dev/vdb" };
    default:
      return { ...inputs };
  }
}

/** A real self-signed certificate for a SelfSignedCert's inputs, signed by openssl with the input key (read from stdin). */
function mockCertificate(inputs: Record<string, unknown>): Record<string, unknown> {
  const subject = (inputs.subject ?? {}) as { commonName?: string; organization?: string };
  const sans = [
    ...((inputs.dnsNames as string[] | undefined) ?? []).map((n) => `DNS:${n}`),
    ...((inputs.ipAddresses as string[] | undefined) ?? []).map((a) => `IP:${a}`),
  ];
  const hours = Number(inputs.validityPeriodHours ?? 24);
  const start = new Date();
  const end = new Date(start.getTime() + hours * 3600_000);
  // The key goes through a private temporary file (openssl cannot read /dev/stdin in a test worker).
  const dir = mkdtempSync(path.join(tmpdir(), "flotilla-mock-cert-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    writeFileSync(keyFile, String(inputs.privateKeyPem), { mode: 0o600 });
    const certPem = execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-key",
        keyFile,
        "-days",
        String(Math.max(1, Math.round(hours / 24))),
        "-subj",
        `/CN=${subject.commonName ?? "mock"}${subject.organization ? `/O=${subject.organization}` : ""}`,
        ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : []),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    return {
      certPem,
      validityStartTime: start.toISOString().replace(/\.\d+Z$/, "Z"),
      validityEndTime: end.toISOString().replace(/\.\d+Z$/, "Z"),
      readyForRenewal: false,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stable fake address per resource name (prefix.2 to prefix.254), for ports and floating IPs. */
export function mockAddress(prefix: string, name: string): string {
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `${prefix}.${2 + (hash % 253)}`;
}

/** Evaluate index.ts for a committed stack file (`dev`, `helion`), with optional config overrides. */
export async function evaluateStack(
  stack: string,
  options: {
    overrides?: Record<string, unknown>;
    secretKeys?: string[];
    invokes?: InvokeAnswers;
    mockOutputs?: MockOutputs;
    recorded?: RecordedResource[];
  } = {},
): Promise<Evaluation> {
  vi.resetModules();
  return evaluate(
    async () => {
      const program = (await import("../../index")) as Record<string, unknown>;
      return { ...program };
    },
    {
      config: stackConfig(stack, options.overrides),
      secretKeys: options.secretKeys,
      stack,
      invokes: options.invokes,
      mockOutputs: options.mockOutputs,
      recorded: options.recorded,
    },
  );
}

/**
 * Unhandled rejections during one evaluation, as a promise that rejects with the first;
 * the test runner's own listeners are set aside meanwhile and restored after a short
 * settle (one failed dependency rejects once per waiting resource).
 */
function programFailures(): { failed: Promise<never>; release: () => Promise<void> } {
  const saved = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  let seen = false;
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  process.on("unhandledRejection", (err) => {
    seen = true;
    fail(err);
  });
  return {
    failed,
    async release() {
      if (seen) await new Promise((r) => setTimeout(r, 200));
      process.removeAllListeners("unhandledRejection");
      for (const listener of saved) process.on("unhandledRejection", listener);
    },
  };
}

/** Resolve a Pulumi Output (or plain value) to a promise, for assertions. */
export function resolved<T>(output: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}
