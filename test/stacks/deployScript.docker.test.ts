// scripts/host/stack-deploy.sh and stack-remove.sh against the real Swarm, with the Consul
// stack: convergence, a no-op second run, a rotated secret rolling the service and the
// old secret pruned, drift made by hand reported against the deploy's record, a deploy or
// a secret the Swarm timed out or lost its leader under tried again, clear refusals of bad
// input, and a removal that leaves nothing.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { secretName, serviceName } from "../../components/stacks";
import type { E2eEnv } from "../e2e/lib";
import { deploy, randomSecrets, remove } from "../support/deploy";
import { describeWithDocker, docker } from "../support/docker";
import { image as imageTag, stackImages } from "../support/images";
import { ok, run } from "../support/process";
import { stackConfig } from "../support/pulumi";

const PREFIX = "flotilla-dtest";

describeWithDocker("stack-deploy.sh / stack-remove.sh on a real Swarm", () => {
  const env: E2eEnv = {
    prefix: PREFIX,
    config: parseConfig(stackConfig("dev")).config,
    images: stackImages(),
    secrets: randomSecrets(),
  };
  const service = serviceName(PREFIX, "consul");
  const secrets = () =>
    docker([
      "secret",
      "ls",
      "--filter",
      `label=flotilla.secret=${PREFIX}-consul_gossip_key`,
      "--format",
      "{{.Name}}",
    ])
      .split("\n")
      .filter(Boolean);

  /**
   * Runs `fn` with a `docker` in front of the real one whose first `<verb>` fails with
   * `error`, as a busy or electing manager's does (or with another error); the number of
   * `<verb>` calls made.
   */
  const withFailingDocker = async (verb: string, error: string, fn: () => Promise<unknown>) => {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-dtest-shim-"));
    const real = (await ok("bash", ["-c", "command -v docker"])).trim();
    writeFileSync(
      path.join(dir, "docker"),
      `#!/bin/sh\nif [ "$1 $2" = "${verb}" ]; then\n  echo x >> "${dir}/calls"\n  if [ ! -e "${dir}/failed" ]; then touch "${dir}/failed"; echo "${error}" >&2; exit 1; fi\nfi\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    const savedPath = process.env.PATH;
    process.env.PATH = `${dir}:${savedPath}`;
    try {
      await fn();
      return readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean).length;
    } finally {
      process.env.PATH = savedPath;
      rmSync(dir, { recursive: true, force: true });
    }
  };

  beforeAll(async () => {
    await ok("bash", ["images/build.sh", "--only", "s6-base", "--only", "consul"], { timeoutMs: 900_000 });
    await ok("bash", ["scripts/host/local-swarm.sh"]);
    await remove(env, "consul");
  }, 900_000);
  afterAll(async () => {
    await remove(env, "consul");
    // The server's data volume (one per task slot; Swarm never removes named volumes).
    for (let i = 0; i < 30; i++) {
      if ((await run("docker", ["volume", "rm", `${PREFIX}-consul-data-1`])).code === 0) break;
      if (!docker(["volume", "ls", "-q", "--filter", `name=${PREFIX}-consul-data-1`])) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, 180_000);

  it("deploys, converges, and a second run with the same input changes nothing", async () => {
    const out = await deploy(env, "consul");
    expect(out).toMatch(/converged in \d+ s/);
    expect(secrets()).toEqual([
      secretName(PREFIX, "consul_gossip_key", env.secrets.consulGossipKey, env.secrets.secretNameKey),
    ]);
    // `docker stack deploy` always sends an update; an unchanged document must leave
    // the spec and the running task alone. (Docker CLI 28 adds an empty DNSConfig on the
    // first update of a service the engine created, so compare from the second run on.)
    await deploy(env, "consul");
    const spec = () => docker(["service", "inspect", "-f", "{{json .Spec}}", service]);
    const task = () => docker(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`]);
    const [specBefore, taskBefore] = [spec(), task()];
    await deploy(env, "consul");
    expect(spec()).toBe(specBefore);
    expect(task()).toBe(taskBefore);
  }, 300_000);

  it("a rotated secret gets a new name (created again when the leader steps down under it), rolls the service, and the old secret is pruned", async () => {
    const oldName = secretName(
      PREFIX,
      "consul_gossip_key",
      env.secrets.consulGossipKey,
      env.secrets.secretNameKey,
    );
    env.secrets = { ...env.secrets, consulGossipKey: randomBytes(32).toString("base64") };
    const newName = secretName(
      PREFIX,
      "consul_gossip_key",
      env.secrets.consulGossipKey,
      env.secrets.secretNameKey,
    );
    // The leader steps down under the new secret's create: tried again.
    let out = "";
    const creates = await withFailingDocker(
      "secret create",
      "Error response from daemon: rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status",
      async () => {
        out = await deploy(env, "consul");
      },
    );
    expect(creates).toBe(2);
    expect(out).toContain(`created secret ${newName}`);
    expect(out).toContain(`removed unused secret ${oldName}`);
    expect(secrets()).toEqual([newName]);
    const used = docker([
      "service",
      "inspect",
      "-f",
      "{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}",
      service,
    ]);
    // The gossip key among the stack's other secrets (the Consul ACL tokens).
    expect(used.split(" ")).toContain(newName);
    expect(used).not.toContain(oldName);
  }, 300_000);

  it("--check-drift: nothing after a deploy; a hand-run scale and a hand-run image change are a diff (exit 3), for one stack and with --all; a deploy puts both back", async () => {
    const check = () =>
      run("bash", ["scripts/host/stack-deploy.sh", "--stack", `${PREFIX}-consul`, "--check-drift"]);
    const clean = await check();
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/runs what was deployed \(\d+ services\)/);
    const replicas = Number(
      docker(["service", "inspect", "-f", "{{.Spec.Mode.Replicated.Replicas}}", service]),
    );
    expect(replicas).toBeGreaterThan(0);

    await ok("docker", ["service", "scale", "--detach", `${service}=${replicas + 1}`]);
    const scaled = await check();
    expect(scaled.code).toBe(3);
    expect(scaled.stdout).toMatch(new RegExp(`^-${service} .* replicas=${replicas} `, "m"));
    expect(scaled.stdout).toMatch(new RegExp(`^\\+${service} .* replicas=${replicas + 1} `, "m"));
    expect(scaled.stderr).toContain(`${PREFIX}-consul drifted from its last deploy`);
    // --all: every stack this Swarm has a record of. Other suites' stacks may be deployed
    // (and scaled by hand) beside this one, so only this stack's part is asserted.
    const all = () => run("bash", ["scripts/host/stack-deploy.sh", "--all", "--check-drift"]);
    const allScaled = await all();
    expect(allScaled.code, allScaled.stderr).toBe(3);
    expect(allScaled.stdout).toMatch(new RegExp(`^\\+${service} .* replicas=${replicas + 1} `, "m"));
    expect(allScaled.stderr).toMatch(new RegExp(`stacks drifted: (.* )?${PREFIX}-consul( |$)`, "m"));
    await deploy(env, "consul");
    expect((await check()).code).toBe(0);
    const allBack = await all();
    expect(allBack.stdout).toContain(`stack-deploy: ${PREFIX}-consul runs what was deployed`);
    expect(allBack.stderr).not.toContain(`${PREFIX}-consul drifted`);
    const refused = [
      await run("bash", ["scripts/host/stack-deploy.sh", "--all"]),
      await run("bash", [
        "scripts/host/stack-deploy.sh",
        "--all",
        "--check-drift",
        "--stack",
        `${PREFIX}-consul`,
      ]),
    ];
    expect(refused.map((r) => r.code)).toEqual([1, 1]);
    expect(refused[0].stderr).toContain("--all goes with --check-drift only");
    expect(refused[1].stderr).toContain("--all checks every recorded stack: leave out --stack");

    const swapped = "flotilla/consul:hand-swapped";
    await ok("docker", ["tag", env.images.consul, swapped]);
    try {
      await ok("docker", [
        "service",
        "update",
        "--detach",
        "--no-resolve-image",
        "--image",
        swapped,
        service,
      ]);
      const changed = await check();
      expect(changed.code).toBe(3);
      expect(changed.stdout).toMatch(new RegExp(`^\\+${service} image=flotilla/consul:hand-swapped `, "m"));
      await deploy(env, "consul");
      const back = await check();
      expect(back.code, back.stdout).toBe(0);
    } finally {
      await run("docker", ["image", "rm", swapped]);
    }
    // One record per stack: each deploy replaces the one before.
    expect(
      docker([
        "config",
        "ls",
        "--filter",
        `label=flotilla.deployed=${PREFIX}-consul`,
        "--format",
        "{{.Name}}",
      ])
        .split("\n")
        .filter(Boolean),
    ).toHaveLength(1);
  }, 600_000);

  it("tries again when the Swarm times out or loses its leader under a deploy, and stops at once on any other error", async () => {
    expect(
      await withFailingDocker(
        "stack deploy",
        "failed to update service x: Error response from daemon: rpc error: code = DeadlineExceeded desc = context deadline exceeded",
        () => deploy(env, "consul"),
      ),
    ).toBe(2);
    // A partitioned manager rejoining makes the leader step down under a request.
    expect(
      await withFailingDocker(
        "stack deploy",
        "failed to update service x: Error response from daemon: rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status",
        () => deploy(env, "consul"),
      ),
    ).toBe(2);
    expect(
      await withFailingDocker(
        "stack deploy",
        "failed to create service x: Error response from daemon: invalid mount config",
        () => expect(deploy(env, "consul")).rejects.toThrow(/docker stack deploy failed \(error above\)/),
      ),
    ).toBe(1);
  }, 300_000);

  it("an update whose task fails is rolled back by Swarm, deployed once more, then the deploy fails naming the service, the task's exit code and its last lines", async () => {
    const stack = `${PREFIX}-rb`;
    const base = imageTag("s6-base");
    // A host directory the tasks share: the "fails once" task leaves its mark there.
    const flagDir = mkdtempSync(path.join(tmpdir(), "flotilla-dtest-rb-"));
    const doc = (command: string) =>
      `%%compose\nversion: "3.8"\nservices:\n  app:\n    image: ${base}\n    entrypoint: ["/bin/sh", "-c", ${JSON.stringify(command)}]\n    volumes: ["${flagDir}:/flag"]\n    stop_grace_period: 1s\n    deploy:\n      update_config: { parallelism: 1, order: stop-first, failure_action: rollback, monitor: 3s }\n      rollback_config: { parallelism: 1, order: stop-first, monitor: 2s }\n      restart_policy: { condition: any, delay: 1s }\n`;
    const script = (command: string) =>
      run(
        "bash",
        ["scripts/host/stack-deploy.sh", "--stack", stack, "--resolve-image", "never", "--wait", "120"],
        {
          input: doc(command),
          timeoutMs: 180_000,
        },
      );
    try {
      const first = await script("exec sleep 600");
      expect(first.code, first.stderr).toBe(0);
      const broken = await script("echo 'app: cannot start, config broken'; exit 3");
      expect(broken.code).toBe(1);
      // Deployed once more after the first rollback, then given up with both reasons.
      expect(broken.stderr).toContain(
        `Swarm rolled back an update of ${stack} (reason above): deploying once more`,
      );
      expect(broken.stderr).toContain(`deploy of ${stack} failed and was rolled back, twice (reasons above)`);
      expect(broken.stderr.match(/was rolled back \(rollback_/g)).toHaveLength(2);
      expect(broken.stderr).toMatch(new RegExp(`service ${stack}_app was rolled back \\(rollback_`));
      expect(broken.stderr).toContain("exit 3");
      expect(broken.stderr).toContain("| app: cannot start, config broken");
      // The rollback put the first spec back: the service still runs the sleeper.
      const spec = docker([
        "service",
        "inspect",
        "-f",
        "{{json .Spec.TaskTemplate.ContainerSpec.Command}}",
        `${stack}_app`,
      ]);
      expect(spec).toContain("exec sleep 600");
      // A task that dies of something passing (here: its first start only) goes through on
      // the second try, and the deploy succeeds.
      const once = await script(
        "if [ ! -e /flag/failed ]; then touch /flag/failed; echo 'app: a passing fault'; exit 4; fi; exec sleep 601",
      );
      expect(once.code, once.stderr).toBe(0);
      expect(once.stderr).toContain("| app: a passing fault");
      expect(once.stderr).toContain(
        `Swarm rolled back an update of ${stack} (reason above): deploying once more`,
      );
      expect(once.stdout).toMatch(new RegExp(`${stack} converged in \\d+ s`));
      expect(
        docker([
          "service",
          "inspect",
          "-f",
          "{{json .Spec.TaskTemplate.ContainerSpec.Command}}",
          `${stack}_app`,
        ]),
      ).toContain("exec sleep 601");
    } finally {
      await run("bash", ["scripts/host/stack-remove.sh", "--stack", stack]);
      rmSync(flagDir, { recursive: true, force: true });
    }
  }, 300_000);

  it("refuses bad input with a clear message and never echoes a value", async () => {
    const noCompose = await run("bash", ["scripts/host/stack-deploy.sh", "--stack", `${PREFIX}-x`], {
      input: "flotilla-x-key-0123=c2VjcmV0LXZhbHVl\n",
    });
    expect(noCompose.code).not.toBe(0);
    expect(noCompose.stderr).toContain("no '%%compose' line");
    const notBase64 = await run("bash", ["scripts/host/stack-deploy.sh", "--stack", `${PREFIX}-x`], {
      input: "flotilla-x-key-0123=not base64 at all!\n%%compose\nversion: '3.8'\n",
    });
    expect(notBase64.code).not.toBe(0);
    expect(notBase64.stderr).toContain("is not base64 (not shown)");
    expect(notBase64.stderr).not.toContain("not base64 at all!");
    const badName = await run("bash", ["scripts/host/stack-deploy.sh", "--stack", "bad name"], { input: "" });
    expect(badName.stderr).toContain("--stack must be a Docker name");
    const badPhase = await run("bash", ["scripts/host/stack-deploy.sh", "--stack", `${PREFIX}-x`], {
      input: "%%phase no such/name\nversion: '3.8'\n%%compose\nversion: '3.8'\n",
    });
    expect(badPhase.code).not.toBe(0);
    expect(badPhase.stderr).toContain("'%%phase' must name a service, got 'no such/name'");
  });

  it("removal takes the stack, its network and its secret, and is idempotent", async () => {
    await remove(env, "consul");
    expect(docker(["service", "ls", "-q", "--filter", `name=${service}`])).toBe("");
    expect(secrets()).toEqual([]);
    expect(docker(["network", "ls", "-q", "--filter", `name=${PREFIX}-consul`])).toBe("");
    expect(docker(["config", "ls", "-q", "--filter", `label=flotilla.deployed=${PREFIX}-consul`])).toBe("");
    const again = await run("bash", ["scripts/host/stack-remove.sh", "--stack", `${PREFIX}-consul`]);
    expect(again.code).toBe(0);
  }, 180_000);
});
