// odd-quorums: Swarm manager and Consul server counts must be odd, wherever the stack declares them.

import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { analyzeStack, by, type TestResource, type Violation } from "./harness";

const own = (vs: Violation[]) => by("odd-quorums", vs);
const cluster = (swarmManagers: number, consulServers: number): TestResource => ({
  type: "flotilla:openstack:Cluster",
  name: "flotilla",
  props: { swarmManagers, consulServers },
});
const instance = (i: number, role: string): TestResource => ({
  type: "openstack:compute/instance:Instance",
  name: `flotilla-${role}-${i}`,
  props: { name: `flotilla-${role}-${i}`, metadata: { "flotilla-role": role } },
});
const consulStack = (env: Record<string, string> | string[], replicas?: number): TestResource => ({
  type: "command:remote:Command",
  name: "flotilla-stack-consul",
  props: {
    create: "docker stack deploy -c - consul",
    stdin: stringify({
      services: {
        server: {
          image: `flotilla/consul@sha256:${"0".repeat(64)}`,
          environment: env,
          ...(replicas === undefined ? {} : { deploy: { replicas } }),
        },
      },
    }),
  },
});

describe("odd-quorums", () => {
  it("passes 3 managers and 3 Consul servers, however declared", async () => {
    const stack = [
      cluster(3, 3),
      ...[1, 2, 3].map((i) => instance(i, "manager")),
      ...[1, 2].map((i) => instance(i, "worker")),
      consulStack({ CONSUL_BOOTSTRAP_EXPECT: "3" }, 3),
    ];
    expect(own(await analyzeStack(stack))).toEqual([]);
  });

  it("passes a one-node dev stack", async () => {
    expect(own(await analyzeStack([cluster(1, 1), consulStack(["CONSUL_BOOTSTRAP_EXPECT=1"], 1)]))).toEqual(
      [],
    );
  });

  it("refuses even counts declared by a component", async () => {
    const vs = own(await analyzeStack([cluster(2, 4)]));
    expect(vs.map((v) => v.message)).toEqual([
      "2 Swarm managers (flotilla.swarmManagers): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure",
      "4 Consul servers (flotilla.consulServers): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure",
    ]);
    expect(vs.every((v) => v.level === "mandatory")).toBe(true);
    expect(vs[0].urn).toBe("urn:pulumi:helion::flotilla::flotilla:openstack:Cluster::flotilla");
  });

  it("counts manager instances", async () => {
    const vs = own(await analyzeStack([1, 2, 3, 4].map((i) => instance(i, "manager"))));
    expect(vs.map((v) => v.message)).toEqual([
      "4 Swarm managers (instances with metadata flotilla-role=manager): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure",
    ]);
  });

  it("reads Consul's bootstrap-expect and replicas from the deployed compose document", async () => {
    expect(
      own(await analyzeStack([consulStack({ CONSUL_BOOTSTRAP_EXPECT: "2" })])).map((v) => v.message),
    ).toEqual([
      "2 Consul servers (flotilla-stack-consul: service 'server' bootstrap-expect): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure",
    ]);
    expect(
      own(await analyzeStack([consulStack({ CONSUL_BOOTSTRAP_EXPECT: "3" }, 4)])).map((v) => v.message),
    ).toEqual([
      "4 Consul servers (flotilla-stack-consul: service 'server' replicas): a quorum needs an odd count (1, 3, 5 or 7) to survive a failure",
    ]);
  });

  it("refuses zero", async () => {
    expect(own(await analyzeStack([cluster(0, 1)]))).toHaveLength(1);
  });
});
