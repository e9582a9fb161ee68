// The haproxy stack as Flotilla deploys it, on the local one-node Swarm: the real deploy
// script and the rendered document (user 980, cap_drop ALL, read-only root, secrets owned
// by 980, ACLs on), a real Consul server stack, and a small HTTP backend registered in
// Consul as `webapp`. Checks: HTTPS served with the secret's certificate and plain HTTP
// redirected; the Swarm task's processes are uid 980 with no capability and no new
// privileges on a read-only root; a new certificate (a new secret, so a new task) is
// served after the rollout. Figures: test/artifacts/edge-stack.json.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { networkName } from "../../components/stacks";
import { type E2eEnv, until } from "../e2e/lib";
import { containers, deploy, publishedPort, randomSecrets, removeStacks } from "../support/deploy";
import { describeWithDocker } from "../support/docker";
import { stackImages } from "../support/images";
import { ok, run } from "../support/process";
import { stackConfig } from "../support/pulumi";
import { https, makeCert } from "./tlsSupport";

const PREFIX = "flotilla-edgestack";
const BACKEND = `${PREFIX}-backend`;
const ROOT = path.resolve(__dirname, "../..");

describeWithDocker("edge: the haproxy stack on the local Swarm", () => {
  const config = parseConfig(stackConfig("dev")).config;
  const first = makeCert("flotilla-edge-stack-1");
  const second = makeCert("flotilla-edge-stack-2");
  const env: E2eEnv = {
    prefix: PREFIX,
    config: { ...config, consul: { ...config.consul, servers: 1 } },
    images: stackImages(),
    secrets: { ...randomSecrets(), tlsPem: first.pem },
  };
  const figures: Record<string, number> = {};
  const site = async () => `https://127.0.0.1:${await publishedPort(env, 8443)}/`;

  const cleanup = async () => {
    await run("docker", ["service", "rm", BACKEND]);
    await removeStacks(env, ["consul", "haproxy"]);
    for (let i = 0; i < 30; i++) {
      if ((await run("docker", ["volume", "rm", `${PREFIX}-consul-data-1`])).code === 0) break;
      if (
        !(
          await run("docker", ["volume", "ls", "-q", "--filter", `name=${PREFIX}-consul-data-1`])
        ).stdout.trim()
      )
        break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  beforeAll(async () => {
    await ok("bash", ["images/build.sh", "--only", "s6-base", "--only", "consul", "--only", "haproxy"], {
      timeoutMs: 900_000,
    });
    await ok("bash", ["scripts/host/local-swarm.sh"]);
    await cleanup();
    const started = Date.now();
    await deploy(env, "consul");
    // HAProxy before the backend: its deploy creates the edge network the backend joins.
    await deploy(env, "haproxy");
    figures.deployMs = Date.now() - started;
    await ok("docker", [
      "service",
      "create",
      "--detach",
      "--name",
      BACKEND,
      "--label",
      "flotilla.test=1",
      "--container-label",
      "flotilla.test=1",
      "--network",
      networkName(PREFIX, "edge"),
      // The image's own check is the webapp's, not this server's.
      "--no-healthcheck",
      // No virtual IP: Swarm's VIPs need IPVS, which this kernel may lack (as the stacks).
      "--endpoint-mode",
      "dnsrr",
      "--entrypoint",
      "node",
      env.images.webapp,
      "-e",
      `require("http").createServer((q, s) => { s.setHeader("content-type", "application/json"); s.end(JSON.stringify({ host: require("os").hostname() })); }).listen(3000)`,
    ]);
    let address = "";
    await until(
      "the backend's task address on the edge network",
      async () => {
        const [task] = (
          await ok("docker", ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${BACKEND}`])
        )
          .trim()
          .split("\n");
        if (!task) return false;
        address = (
          await ok("docker", [
            "inspect",
            "-f",
            `{{(index .NetworkSettings.Networks "${networkName(PREFIX, "edge")}").IPAddress}}`,
            task,
          ])
        ).trim();
        return /^\d+\.\d+\.\d+\.\d+$/.test(address);
      },
      60_000,
    );
    // Registered with the management token, read from stdin inside the server's container.
    const [server] = await containers(env, "consul");
    await ok(
      "docker",
      [
        "exec",
        "-i",
        server,
        "sh",
        "-c",
        `read -r token; CONSUL_HTTP_TOKEN=$token consul services register -name webapp -id webapp-edge-test -address ${address} -port 3000`,
      ],
      { input: `${env.secrets.consulMasterToken}\n` },
    );
    const t = Date.now();
    await until(
      "the backend served through HAProxy over HTTPS",
      async () => (await https(await site(), { ca: first.cert, timeoutMs: 2000 })).status === 200,
      90_000,
      500,
    );
    figures.firstServedAfterRegisterMs = Date.now() - t;
  }, 900_000);

  afterAll(async () => {
    mkdirSync(path.join(ROOT, "test", "artifacts"), { recursive: true });
    writeFileSync(
      path.join(ROOT, "test", "artifacts", "edge-stack.json"),
      `${JSON.stringify(figures, null, 2)}\n`,
    );
    await cleanup();
  }, 300_000);

  it("serves HTTPS with the secret's certificate; plain HTTP answers 301", async () => {
    const r = await https(await site(), { ca: first.cert });
    expect(r.status).toBe(200);
    expect(r.fingerprint).toBe(first.fingerprint);
    expect(r.headers["strict-transport-security"]).toBe(`max-age=${env.config.haproxy.hstsMaxAge}`);
    const plain = await fetch(`http://127.0.0.1:${await publishedPort(env, 8080)}/x`, { redirect: "manual" });
    expect(plain.status).toBe(301);
  });

  it("the Swarm task: every process uid 980, no capability, no new privileges, read-only root", async () => {
    const [id] = await containers(env, "haproxy");
    const inspect = JSON.parse(await ok("docker", ["inspect", id]))[0];
    expect(inspect.Config.User).toBe("980:980");
    expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspect.HostConfig.CapDrop).toEqual(["ALL"]);
    const out = await ok("docker", [
      "exec",
      id,
      "sh",
      "-c",
      `for p in /proc/[0-9]*; do [ "$p" = /proc/$$ ] && continue; c=$(cat "$p/comm" 2>/dev/null) || continue; echo "$c $(awk '/^Uid:/ {u=$2} /^CapEff:/ {c=$2} /^NoNewPrivs:/ {n=$2} END {print u, c, n}' "$p/status")"; done`,
    ]);
    const procs = out
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/))
      .filter(([comm]) => !["sh", "awk", "cat"].includes(comm));
    expect(procs.map(([comm]) => comm)).toEqual(expect.arrayContaining(["s6-svscan", "haproxy", "consul"]));
    for (const [comm, uid, capEff] of procs) {
      expect(uid, comm).toBe("980");
      expect(capEff, comm).toBe("0000000000000000");
    }
    // PID 1 (and so every process it starts) runs under no_new_privs.
    expect(await ok("docker", ["exec", id, "awk", "/^NoNewPrivs:/ {print $2}", "/proc/1/status"])).toMatch(
      /^1/,
    );
    const write = await run("docker", ["exec", id, "touch", "/etc/haproxy/x"]);
    expect(write.code).not.toBe(0);
  });

  it("a new certificate is a new secret: the task is replaced and serves it", async () => {
    const started = Date.now();
    env.secrets = { ...env.secrets, tlsPem: second.pem };
    await deploy(env, "haproxy");
    figures.rotationDeployMs = Date.now() - started;
    await until(
      "the new certificate served",
      async () => (await https(await site(), { ca: second.cert, timeoutMs: 2000 })).status === 200,
      60_000,
      250,
    );
    figures.rotationServedMs = Date.now() - started;
    console.log(
      `edge stack: deployed in ${figures.deployMs} ms; first HTTPS 200 ${figures.firstServedAfterRegisterMs} ms after the backend's registration; new certificate served ${figures.rotationServedMs} ms after the rotation's deploy began`,
    );
    const r = await https(await site(), { ca: second.cert });
    expect(r.fingerprint).toBe(second.fingerprint);
  }, 300_000);
});
