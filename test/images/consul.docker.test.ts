// Consul for real: three servers with bootstrap_expect 3 on a user network elect a
// leader by joining one DNS name (like tasks.consul on Swarm); gossip is encrypted with
// the key from the secret file, so a client agent with the key joins and one with a
// wrong key cannot. The client agent is the reusable s6 service other images enable.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithDocker, docker, runContainer } from "../support/docker";
import { ROOT } from "../support/pulumi";
import { buildImages, cleanup, image, labels, ramSecrets, tryExec, waitFor } from "./s6Support";

const SUITE = "consul";
const NET = "flotilla-consul-net";
const ALIAS = "consul-servers";
const SERVERS = ["flotilla-consul-1", "flotilla-consul-2", "flotilla-consul-3"];

describeWithDocker("consul image: server cluster and client agents", () => {
  const key = randomBytes(32).toString("base64");
  const secrets = ramSecrets({ consul_gossip_key: key });
  const wrong = ramSecrets({ consul_gossip_key: randomBytes(32).toString("base64") });

  /** Run one of the three servers, its data on its own volume (also used to re-create one). */
  const runServer = (name: string): void => {
    runContainer({
      name,
      hostname: name,
      suite: SUITE,
      network: NET,
      networkAlias: ALIAS,
      env: ["CONSUL_BOOTSTRAP_EXPECT=3", `CONSUL_RETRY_JOIN=${ALIAS}`],
      volumes: [`${name}-data:/consul/data`, `${secrets.dir}:/run/secrets:ro`],
      image: image("consul"),
    });
  };

  /** Run a client agent: the consul image with its server service swapped for the reusable client service. */
  const runClient = (name: string, secretDir: string): void => {
    runContainer({
      name,
      hostname: name,
      suite: SUITE,
      network: NET,
      env: [`CONSUL_RETRY_JOIN=${ALIAS}`],
      volumes: [`${secretDir}:/run/secrets:ro`],
      entrypoint: "sh",
      image: image("consul"),
      command: [
        "-c",
        "rm -rf /etc/services.d/consul && cp -a /usr/share/flotilla/services/consul-client /etc/services.d/consul && exec /usr/lib/flotilla/init",
      ],
    });
  };

  const aliveMembers = (): string[] =>
    docker(["exec", SERVERS[0], "consul", "members", "-status=alive"])
      .split("\n")
      .slice(1)
      .map((line) => line.split(/\s+/)[0]);

  beforeAll(() => {
    cleanup(SUITE);
    buildImages(["s6-base", "consul"]);
    docker(["network", "create", ...labels(SUITE), NET]);
    for (const name of SERVERS) {
      docker(["volume", "create", ...labels(SUITE), `${name}-data`]);
      runServer(name);
    }
  });

  afterAll(() => {
    cleanup(SUITE);
    secrets.remove();
    wrong.remove();
  });

  it("three servers joined through one DNS name elect a leader and turn healthy", async () => {
    const start = Date.now();
    const peers = await waitFor("a leader with three voters", 120_000, () => {
      const r = tryExec(SERVERS[0], ["consul", "operator", "raft", "list-peers"]);
      const lines = r.out.split("\n").filter((l) => /\bvoter\b|\btrue\b/.test(l));
      return r.status === 0 && /\bleader\b/.test(r.out) && lines.length === 3 ? r.out : undefined;
    });
    console.log(
      `consul: leader elected among 3 servers ${Date.now() - start} ms after the suite started them\n${peers}`,
    );
    for (const name of SERVERS) expect(peers).toContain(name);
    await waitFor("all three servers healthy", 60_000, () =>
      SERVERS.every((s) => docker(["inspect", "-f", "{{.State.Health.Status}}", s]) === "healthy")
        ? true
        : undefined,
    );
  });

  it("encrypts gossip with the key from the secret file, without writing it to disk or argv", () => {
    const logs = docker(["logs", SERVERS[1]]);
    expect(logs).toMatch(/Encrypt: Gossip: true/);
    // The banner alone is not proof: the serf keyring must hold exactly the secret's key.
    expect(docker(["exec", SERVERS[1], "consul", "info"])).toMatch(/encrypted = true/);
    const keyring = docker(["exec", SERVERS[1], "consul", "keyring", "-list"]);
    expect(keyring.includes(`${key} [3/3]`), "keyring -list shows the secret's key on all 3 servers").toBe(
      true,
    );
    expect(logs).not.toContain(key);
    expect(tryExec(SERVERS[1], ["find", "/consul/data", "-name", "*keyring*"]).out.trim()).toBe("");
    const cmdlines = tryExec(SERVERS[1], ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"]).out;
    expect(cmdlines).toContain("-server");
    expect(cmdlines).not.toContain(key);
    expect(docker(["inspect", SERVERS[1]])).not.toContain(key);
  });

  it("runs the agent as the unprivileged consul user", () => {
    const uid = tryExec(SERVERS[0], [
      "sh",
      "-c",
      "awk '/^Uid:/ { print $2 }' /proc/$(s6-svstat -o pid /run/service/consul)/status",
    ]).out.trim();
    expect(uid).toBe(tryExec(SERVERS[0], ["id", "-u", "consul"]).out.trim());
    expect(uid).not.toBe("0");
  });

  it("a client agent with the gossip key joins; one with a wrong key cannot", async () => {
    runClient("flotilla-consul-client-ok", secrets.dir);
    runClient("flotilla-consul-client-bad", wrong.dir);
    await waitFor("the client with the right key to join", 60_000, () =>
      aliveMembers().includes("flotilla-consul-client-ok") ? true : undefined,
    );
    // Give the wrong-key client as long again (several retry-join rounds): it must stay out.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(aliveMembers()).not.toContain("flotilla-consul-client-bad");
    expect(aliveMembers()).toHaveLength(4);
    expect(docker(["logs", "flotilla-consul-client-bad"])).toMatch(
      /\[consul\] .*(No installed keys could decrypt|decrypt|Failed to join)/i,
    );
  });

  it("refuses an unknown CONSUL_SOURCE at build time, naming it", () => {
    const r = spawnSync(
      "docker",
      [
        "build",
        "--force-rm", // no failed intermediate container left behind
        "--build-arg",
        `BASE_IMAGE=${image("s6-base")}`,
        "--build-arg",
        "CONSUL_SOURCE=elsewhere",
        "--target",
        "fetch",
        path.join(ROOT, "images", "consul"),
      ],
      { encoding: "utf8", timeout: 300_000 },
    );
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(
      "CONSUL_SOURCE must be hashicorp or debian-archive, not 'elsewhere'",
    );
  });

  it("keeps its state on the volume: a re-created server rejoins with the same node id", async () => {
    const name = SERVERS[2];
    const before = tryExec(name, ["cat", "/consul/data/node-id"]).out.trim();
    expect(before).toMatch(/^[0-9a-f-]{36}$/);
    docker(["rm", "-f", name]);
    runServer(name);
    await waitFor("the re-created server to be healthy", 90_000, () =>
      docker(["inspect", "-f", "{{.State.Health.Status}}", name]) === "healthy" ? true : undefined,
    );
    expect(tryExec(name, ["cat", "/consul/data/node-id"]).out.trim()).toBe(before);
    const peers = docker(["exec", SERVERS[0], "consul", "operator", "raft", "list-peers"]);
    expect(peers.split("\n").filter((l) => l.startsWith("flotilla-consul-")).length).toBe(3);
  });
});
