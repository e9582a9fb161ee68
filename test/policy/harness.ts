// Run the Flotilla policy pack the way the Pulumi CLI does, minus the gRPC socket: real
// protobuf AnalyzeRequest / AnalyzeStackRequest messages, handled by @pulumi/policy's
// own RPC handlers (the ones `new PolicyPack` serves), so property deserialization,
// the unknown-value proxy, secrets, enforcement levels and remediation serialization
// are the SDK's, not a re-implementation (cf. pulumi-policy-aws src/tests/util.ts).
import type { Policies } from "@pulumi/policy";
import {
  AnalyzeRequest,
  type AnalyzeResponse,
  AnalyzerResource,
  AnalyzerResourceOptions,
  AnalyzeStackRequest,
  EnforcementLevel,
  type RemediateResponse,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { policies as flotillaPolicies } from "../../policy/policies";
import type { RecordedResource } from "../support/pulumi";

type Callback<T> = (err: unknown, resp: T | undefined) => void;
type Handler<Req, Resp> = (call: { request: Req }, callback: Callback<Resp>) => Promise<void>;
interface PolicyServer {
  makeAnalyzeRpcFun(
    pack: string,
    version: string,
    level: string,
    policies: Policies,
  ): Handler<AnalyzeRequest, AnalyzeResponse>;
  makeAnalyzeStackRpcFun(
    pack: string,
    version: string,
    level: string,
    policies: Policies,
  ): Handler<AnalyzeStackRequest, AnalyzeResponse>;
  makeRemediateRpcFun(
    pack: string,
    version: string,
    level: string,
    policies: Policies,
  ): Handler<AnalyzeRequest, RemediateResponse>;
}
// The handlers are @internal in the SDK's typings, so they are typed here.
const server = require("@pulumi/policy/server") as PolicyServer;

/** A value the program marked secret, as the engine sends it. */
export function secret(value: unknown): Record<string, unknown> {
  return { [specialSigKey]: specialSecretSig, value };
}
/** A string input not known until the update (preview of a new resource). */
export const UNKNOWN = unknownValue;

export interface TestResource {
  type: string;
  name?: string;
  props: Record<string, unknown>;
  protect?: boolean;
  parent?: string;
}

export interface Violation {
  policy: string;
  message: string;
  level: "advisory" | "mandatory" | "remediate" | "disabled";
  urn: string;
}

const LEVELS: Record<number, Violation["level"]> = {
  [EnforcementLevel.ADVISORY]: "advisory",
  [EnforcementLevel.MANDATORY]: "mandatory",
  [EnforcementLevel.REMEDIATE]: "remediate",
  [EnforcementLevel.DISABLED]: "disabled",
};

export function urnOf(r: TestResource): string {
  const name = r.name ?? "test";
  return `urn:pulumi:helion::flotilla::${r.type}::${name}`;
}

function options(r: TestResource): AnalyzerResourceOptions {
  const opts = new AnalyzerResourceOptions();
  opts.setProtect(r.protect ?? false);
  if (r.parent) opts.setParent(r.parent);
  return opts;
}

/** Fill in what the engine says of a resource, alike in a per-resource request and in a stack's resource list. */
function described<T extends AnalyzeRequest | AnalyzerResource>(target: T, r: TestResource): T {
  target.setType(r.type);
  target.setName(r.name ?? "test");
  target.setUrn(urnOf(r));
  target.setProperties(Struct.fromJavaScript(r.props as Parameters<typeof Struct.fromJavaScript>[0]));
  target.setOptions(options(r));
  return target;
}

/** The AnalyzeRequest the engine sends for one resource. */
export function analyzeRequest(r: TestResource): AnalyzeRequest {
  return described(new AnalyzeRequest(), r);
}

function invoke<Req, Resp>(handler: Handler<Req, Resp>, request: Req): Promise<Resp> {
  return new Promise((resolve, reject) => {
    void handler({ request }, (err, resp) => (err ? reject(err) : resolve(resp as Resp)));
  });
}

/** The diagnostics of an AnalyzeResponse, messages without the SDK's description prefix. */
export function violations(resp: AnalyzeResponse): Violation[] {
  return resp.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    // The SDK prefixes each message with the policy's description and a newline.
    message: d.getMessage().startsWith(`${d.getDescription()}\n`)
      ? d.getMessage().slice(d.getDescription().length + 1)
      : d.getMessage(),
    level: LEVELS[d.getEnforcementlevel()],
    urn: d.getUrn(),
  }));
}

const PACK = "flotilla";
const VERSION = "0.1.0";

/** The pack's per-resource validation of one resource (what `pulumi preview` runs before each step). */
export async function analyze(r: TestResource, policies: Policies = flotillaPolicies): Promise<Violation[]> {
  const handler = server.makeAnalyzeRpcFun(PACK, VERSION, "mandatory", policies);
  return violations(await invoke(handler, analyzeRequest(r)));
}

/** The pack's stack validation over a set of resources (what runs at the end of a preview). */
export async function analyzeStack(
  resources: TestResource[],
  policies: Policies = flotillaPolicies,
): Promise<Violation[]> {
  const req = new AnalyzeStackRequest();
  req.setResourcesList(
    resources.map((r) => {
      const res = described(new AnalyzerResource(), r);
      if (r.parent) res.setParent(r.parent);
      return res;
    }),
  );
  const handler = server.makeAnalyzeStackRpcFun(PACK, VERSION, "mandatory", policies);
  return violations(await invoke(handler, req));
}

export interface Remediated {
  policy: string;
  /** The properties the engine would use instead (secret values still carry the secret signature). */
  properties: Record<string, unknown>;
}

/** The pack's remediations of one resource (run before validation, in preview and update). */
export async function remediate(
  r: TestResource,
  policies: Policies = flotillaPolicies,
): Promise<Remediated[]> {
  const handler = server.makeRemediateRpcFun(PACK, VERSION, "mandatory", policies);
  const resp = await invoke(handler, analyzeRequest(r));
  return resp.getRemediationsList().map((rem) => ({
    policy: rem.getPolicyname(),
    properties: (rem.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>,
  }));
}

/** True when `value` is a secret-signed value as the engine reads it. */
export function isSecretValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[specialSigKey] === specialSecretSig
  );
}

/** A resource recorded by the mock harness, as the engine would send it (its secret inputs re-marked). */
export function fromRecorded(r: RecordedResource): TestResource {
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.inputs)) {
    if (v === undefined) continue;
    props[k] = r.secretInputs.includes(k) ? secret(v) : v;
  }
  return { type: r.type, name: r.name, props, protect: r.protect };
}

/** The violations one policy reported. */
export function by(policy: string, vs: Violation[]): Violation[] {
  return vs.filter((v) => v.policy === policy);
}
