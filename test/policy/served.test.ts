// The pack as `pulumi preview --policy-pack policy` runs it: the Pulumi Node.js policy
// runner (@pulumi/pulumi/cmd/run-policy-pack) compiles policy/ with ts-node (type-checked,
// policy/tsconfig.json), `new PolicyPack` serves the analyzer on a loopback gRPC port and
// prints it, and the engine's calls (GetAnalyzerInfo, Configure, Analyze, Remediate)
// arrive over that socket. Here this test plays the engine.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  type AnalyzeRequest,
  type AnalyzeResponse,
  type AnalyzerInfo,
  ConfigureAnalyzerRequest,
  EnforcementLevel,
  PolicyConfig,
  type RemediateResponse,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/pulumi";
import { analyzeRequest, isSecretValue, violations } from "./harness";

let pack: ChildProcess | undefined;
let client: AnalyzerClient;
let stderr = "";

function unary<Req, Resp>(
  call: (req: Req, cb: (err: grpc.ServiceError | null, resp: Resp) => void) => unknown,
  req: Req,
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    call.call(client, req, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

beforeAll(async () => {
  const runner = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
  // The engine address is only handed through; the pack never dials it.
  pack = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: path.join(ROOT, "policy"),
    stdio: ["ignore", "pipe", "pipe"],
  });
  pack.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`policy pack did not start in 120 s:\n${stderr}`)),
      120_000,
    );
    let out = "";
    pack?.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    pack?.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`policy pack exited (${code}) before serving:\n${stderr}`));
    });
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 150_000);

afterAll(() => {
  client?.close();
  pack?.kill("SIGTERM");
});

const ANALYZE = (req: AnalyzeRequest) => unary<AnalyzeRequest, AnalyzeResponse>(client.analyze, req);

describe("the policy pack served by the Pulumi policy runner", () => {
  it("announces the flotilla pack, its version and its five policies", async () => {
    const info = await unary<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
    expect(info.getName()).toBe("flotilla");
    expect(info.getVersion()).toBe("0.1.0");
    expect(
      info
        .getPoliciesList()
        .map((p) => p.getName())
        .sort(),
    ).toEqual([
      "data-volumes-protected",
      "images-pinned-by-digest",
      "no-world-open-admin-ports",
      "odd-quorums",
      "secret-inputs-are-secret",
    ]);
  });

  it("refuses a world-open SSH rule and passes an admin-only one over gRPC", async () => {
    const rule = (remoteIpPrefix: string) =>
      analyzeRequest({
        type: "openstack:networking/secGroupRule:SecGroupRule",
        name: "ssh",
        props: { direction: "ingress", protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix },
      });
    const bad = violations(await ANALYZE(rule("0.0.0.0/0")));
    expect(bad.map((v) => [v.policy, v.level, v.message])).toEqual([
      [
        "no-world-open-admin-ports",
        "mandatory",
        "security group rule 'ssh' opens SSH (port 22) to 0.0.0.0/0",
      ],
    ]);
    expect(violations(await ANALYZE(rule("203.0.113.0/24")))).toEqual([]);
  });

  it("remediates a plaintext password into a secret over gRPC", async () => {
    const req = analyzeRequest({
      type: "command:local:Command",
      name: "db",
      props: { create: "true", environment: { MYSQL_ROOT_PASSWORD: "plaintext-password" } },
    });
    const resp = await unary<AnalyzeRequest, RemediateResponse>(client.remediate, req);
    const [rem] = resp.getRemediationsList();
    expect(rem.getPolicyname()).toBe("secret-inputs-are-secret");
    const props = rem.getProperties()?.toJavaScript() as { environment: Record<string, unknown> };
    expect(isSecretValue(props.environment.MYSQL_ROOT_PASSWORD)).toBe(true);
  });

  it("takes the HAProxy stats port from the policy config (--policy-pack-config)", async () => {
    const config = new ConfigureAnalyzerRequest();
    const policy = new PolicyConfig();
    policy.setEnforcementlevel(EnforcementLevel.MANDATORY);
    policy.setProperties(Struct.fromJavaScript({ haproxyStatsPort: 9000 }));
    config.getPolicyconfigMap().set("no-world-open-admin-ports", policy);
    await unary<ConfigureAnalyzerRequest, Empty>(client.configure, config);
    const req = analyzeRequest({
      type: "openstack:networking/secGroupRule:SecGroupRule",
      name: "stats",
      props: {
        direction: "ingress",
        protocol: "tcp",
        portRangeMin: 9000,
        portRangeMax: 9000,
        remoteIpPrefix: "0.0.0.0/0",
      },
    });
    expect(violations(await ANALYZE(req)).map((v) => v.message)).toEqual([
      "security group rule 'stats' opens HAProxy stats (port 9000) to 0.0.0.0/0",
    ]);
  });
});
