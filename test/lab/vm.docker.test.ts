// Lab VMs for real: a bastion and a node booted from images/lab-vm with the exact
// command lines components/lab/vm.ts derives from the spec LabCluster deploys, each
// seeded with user-data from the program's own cloud-init renderer. Checks the boot
// path a helion VM takes (cloud-init done, host name, user and groups, pinned host key),
// SSH through the bastion as jump host with StrictHostKeyChecking, the sudo/docker-group
// finding of issue 10, a Swarm inside, and the lab registry path: pushed by the host on
// 127.0.0.1, pulled by the node by digest on the lab network (insecure registry set by
// cloud-init's daemon.json). Boot figures go to test/artifacts/lab-vm.json.
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { planLabAddresses } from "../../components/lab/plan";
import {
  dockerRunSteps,
  LAB_REGISTRY_PORT,
  type LabVmSpec,
  labRegistrySpec,
  labVmSpec,
  renderMetaData,
} from "../../components/lab/vm";
import { connectionLogin, renderCloudInit, sshCommandLine } from "../../components/swarm";
import { describeWithDocker, docker, removeSuiteContainers } from "../support/docker";
import { ROOT } from "../support/pulumi";

const PREFIX = `flotilla-labvm-${process.pid}`;
const NET = `${PREFIX}-net`;
const LABELS = { "flotilla.test": "1", "flotilla.suite": PREFIX };
const LABEL_ARGS = Object.entries(LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
const VM_IMAGE = "flotilla/lab-vm:0.1.0";
const REGISTRY_IMAGE = "flotilla/lab-registry:0.1.0";
const USER = "debian";

interface Vm {
  readonly key: "bastion" | "node";
  readonly spec: LabVmSpec;
  readonly ip: string;
  readonly hostKeyPublic: string;
  startedAt: number;
  /** CPU time the VM's cgroup used from start until cloud-init was done: what a boot costs, whatever the load. */
  cpuSecondsToDone?: number;
  sshOkSeconds?: number;
  cloudInitDoneSeconds?: number;
}

/** `ssh-ed25519 AAAA...` without the comment. */
const keyType = (key: string) => key.split(/\s+/).slice(0, 2).join(" ");
/** The host's cgroup layout: v1 (a tmpfs of controller hierarchies) or v2 (one cgroup2 tree). */
const CGROUP_V1 =
  spawnSync("stat", ["-fc", "%T", "/sys/fs/cgroup"], { encoding: "utf8" }).stdout.trim() === "tmpfs";
/** CPU seconds a container's cgroup has used so far (cgroup v1 cpuacct or v2 cpu.stat). */
function cpuSeconds(name: string): number | undefined {
  const id = docker(["inspect", "-f", "{{.Id}}", name]);
  const v1 = spawnSync("cat", [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`], { encoding: "utf8" });
  if (v1.status === 0) return Math.round(Number(v1.stdout.trim()) / 1e7) / 100;
  const v2 = spawnSync("sh", ["-c", `cat /sys/fs/cgroup/docker/${id}/cpu.stat 2>/dev/null`], {
    encoding: "utf8",
  });
  const usec = /^usage_usec (\d+)$/m.exec(v2.stdout ?? "")?.[1];
  return usec === undefined ? undefined : Math.round(Number(usec) / 1e4) / 100;
}

/** Every cgroup directory (any hierarchy) whose name holds a container ID. */
const cgroupsOf = (id: string) =>
  spawnSync("find", ["/sys/fs/cgroup", "-type", "d", "-name", `*${id}*`], { encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean);
const sleep = (ms: number) => execFileSync("sleep", [String(ms / 1000)]);

function cleanup(): void {
  removeSuiteContainers(PREFIX);
  spawnSync("docker", ["network", "rm", NET], { stdio: "ignore" });
  const volumes = docker(["volume", "ls", "-q", "--filter", `label=flotilla.suite=${PREFIX}`])
    .split("\n")
    .filter(Boolean);
  if (volumes.length > 0) docker(["volume", "rm", ...volumes]);
}

/** Generate an ed25519 key pair in a private temporary directory, read it, and delete the files. */
function keyPair(dir: string, name: string): { privateKey: string; publicKey: string } {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  const pair = {
    privateKey: readFileSync(file, "utf8"),
    publicKey: readFileSync(`${file}.pub`, "utf8").trim(),
  };
  rmSync(file);
  rmSync(`${file}.pub`);
  return pair;
}

describeWithDocker(
  "lab VMs: systemd, cloud-init, pinned SSH through a bastion, Docker, the lab registry",
  () => {
    const work = mkdtempSync(path.join(tmpdir(), "flotilla-labvm-"));
    const agentSocket = path.join(work, "agent.sock");
    const sshConfig = path.join(work, "ssh_config");
    const knownHosts = path.join(work, "known_hosts");
    let agent: ChildProcess | undefined;
    const vms: Record<"bastion" | "node", Vm> = {} as Record<"bastion" | "node", Vm>;
    let bastionPort = 0;
    let registryIp = "";
    let registryPort = 0;
    const figures: Record<string, unknown> = {};

    /**
     * ssh with the test's config (agent, pinned known_hosts, strict checking); the node
     * through the bastion by the very line the `managerSsh` and `nodes` outputs print.
     */
    function ssh(target: "bastion" | "node", command: string, config = sshConfig) {
      const hop = ["-F", config];
      const nodeLine = () => {
        const [ssh, ...args] = sshCommandLine(
          connectionLogin({
            host: vms.node.ip,
            user: USER,
            proxy: { host: "127.0.0.1", port: bastionPort, user: USER },
          }),
        ).split(" ");
        if (ssh !== "ssh") throw new Error(`not an ssh line: ${[ssh, ...args].join(" ")}`);
        return args;
      };
      const args =
        target === "bastion"
          ? [...hop, "-p", String(bastionPort), `${USER}@127.0.0.1`, command]
          : [...hop, ...nodeLine(), command];
      const r = spawnSync("ssh", args, { encoding: "utf8", timeout: 60_000 });
      return { status: r.status ?? -1, stdout: (r.stdout ?? "").trim(), stderr: r.stderr ?? "" };
    }

    /** What each VM is doing, for a timeout's message: cloud-init's status, systemd's pending jobs, the boot log's tail. */
    function diagnose(): string {
      return Object.values(vms)
        .map((vm) => {
          const r = spawnSync(
            "docker",
            [
              "exec",
              vm.spec.name,
              "sh",
              "-c",
              "cloud-init status --long; systemctl list-jobs --no-pager | head -20; tail -n 15 /var/log/cloud-init-output.log",
            ],
            { encoding: "utf8", timeout: 30_000 },
          );
          return `--- ${vm.key}\n${r.stdout ?? ""}${r.stderr ?? ""}`;
        })
        .join("\n");
    }

    function sshOk(target: "bastion" | "node", command: string): string {
      const r = ssh(target, command);
      if (r.status !== 0) throw new Error(`ssh ${target} '${command}' failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    }

    beforeAll(async () => {
      cleanup();
      mkdirSync(work, { recursive: true, mode: 0o700 });
      docker(["build", "-q", "--force-rm", "-t", VM_IMAGE, path.join(ROOT, "images/lab-vm")]);
      docker(["build", "-q", "--force-rm", "-t", REGISTRY_IMAGE, path.join(ROOT, "images/lab-registry")]);

      // A user-defined network with a subnet Docker chose free, re-created with that subnet
      // given explicitly (fixed addresses need one), as the lab's address plan lays out.
      docker(["network", "create", ...LABEL_ARGS, NET]);
      const subnet = docker(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", NET]);
      docker(["network", "rm", NET]);
      const plan = planLabAddresses(subnet, ["node-0"]);
      docker([
        "network",
        "create",
        ...LABEL_ARGS,
        "--subnet",
        plan.network.subnet,
        "--gateway",
        plan.network.gateway,
        "--ip-range",
        plan.network.ipRange,
        NET,
      ]);
      registryIp = plan.registry;

      // The operator's key lives in an ssh-agent only; host keys are generated here, as the program's tls keys are.
      agent = spawn("ssh-agent", ["-D", "-a", agentSocket], { stdio: "ignore" });
      for (let i = 0; i < 50 && spawnSync("test", ["-S", agentSocket]).status !== 0; i++) sleep(100);
      const operator = keyPair(work, "operator");
      execFileSync("ssh-add", ["-q", "-"], {
        input: operator.privateKey,
        env: { ...process.env, SSH_AUTH_SOCK: agentSocket },
        stdio: ["pipe", "ignore", "pipe"],
      });

      // The registry first: the node's daemon.json names its address.
      docker(["volume", "create", ...LABEL_ARGS, `${PREFIX}-registry`]);
      const registry = labRegistrySpec({
        name: `${PREFIX}-registry`,
        image: REGISTRY_IMAGE,
        network: NET,
        ipv4Address: registryIp,
        dataVolume: `${PREFIX}-registry`,
        publish: { hostIp: "127.0.0.1" },
        labels: LABELS,
      });
      for (const step of dockerRunSteps(registry)) docker([...step.args]);

      for (const [key, ip, docker_] of [
        ["bastion", plan.bastion, false],
        ["node", plan.nodes["node-0"], true],
      ] as const) {
        const hostname = `${PREFIX}-${key}`.replace(/[^a-z0-9-]/g, "");
        const hostKey = keyPair(work, `${key}-host`);
        const userData = renderCloudInit({
          hostname,
          sshUser: USER,
          authorizedKeys: [operator.publicKey],
          hostKey: { privateKeyOpenssh: hostKey.privateKey, publicKeyOpenssh: hostKey.publicKey },
          docker: docker_,
          ...(docker_
            ? { dockerDaemon: { "insecure-registries": [`${registryIp}:${LAB_REGISTRY_PORT}`] } }
            : {}),
        });
        const volume = `${PREFIX}-${key}-docker`;
        docker(["volume", "create", ...LABEL_ARGS, volume]);
        const spec = labVmSpec({
          name: `${PREFIX}-${key}`,
          hostname,
          image: VM_IMAGE,
          network: NET,
          ipv4Address: ip,
          dockerVolume: volume,
          seed: { userData, metaData: renderMetaData(`${PREFIX}-${key}`, hostname) },
          ...(key === "bastion" ? { publishSsh: { hostIp: "127.0.0.1" } } : {}),
          labels: LABELS,
        });
        vms[key] = { key, spec, ip, hostKeyPublic: hostKey.publicKey, startedAt: 0 };
      }
      const loadAverageAtBoot = loadavg()[0];
      // Boot both at once, as the lab does; time from `docker create` (the whole of `docker run`).
      for (const vm of Object.values(vms)) {
        vm.startedAt = performance.now();
        for (const step of dockerRunSteps(vm.spec, Math.floor(Date.now() / 1000)))
          execFileSync("docker", [...step.args], { input: step.input, stdio: ["pipe", "ignore", "pipe"] });
      }
      bastionPort = Number(docker(["port", vms.bastion.spec.name, "22/tcp"]).split("\n")[0].split(":").pop());
      registryPort = Number(
        docker(["port", `${PREFIX}-registry`, "5000/tcp"])
          .split("\n")[0]
          .split(":")
          .pop(),
      );

      writeFileSync(
        knownHosts,
        `[127.0.0.1]:${bastionPort} ${keyType(vms.bastion.hostKeyPublic)}\n${vms.node.ip} ${keyType(vms.node.hostKeyPublic)}\n`,
      );
      // A config file, because `-J` passes -F (not -o options) on to the jump hop.
      writeFileSync(
        sshConfig,
        [
          "Host *",
          "  StrictHostKeyChecking yes",
          `  UserKnownHostsFile ${knownHosts}`,
          "  GlobalKnownHostsFile /dev/null",
          `  IdentityAgent ${agentSocket}`,
          "  IdentitiesOnly no",
          "  PasswordAuthentication no",
          "  KbdInteractiveAuthentication no",
          "  BatchMode yes",
          "  ConnectTimeout 5",
          "  LogLevel ERROR",
          "",
        ].join("\n"),
      );

      // Poll each VM on its own (concurrently) until SSH answers (the bastion directly, the node
      // through it) and until cloud-init is done: the figures are not skewed by each other's polls.
      const deadline = performance.now() + 240_000;
      const until = async (what: string, check: () => Promise<boolean>): Promise<number> => {
        const started = performance.now();
        while (!(await check())) {
          if (performance.now() > deadline)
            throw new Error(`lab VMs: ${what} not after 240 s\n${diagnose()}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return started;
      };
      const run = (args: string[]) =>
        new Promise<{ status: number; stdout: string }>((resolve) =>
          execFile(args[0], args.slice(1), { timeout: 30_000 }, (error, stdout) =>
            resolve({ status: error ? 1 : 0, stdout: String(stdout) }),
          ),
        );
      const seconds = (vm: Vm) => Math.round(performance.now() - vm.startedAt) / 1000;
      const sshArgs = (vm: Vm) =>
        vm.key === "bastion"
          ? ["ssh", "-F", sshConfig, "-p", String(bastionPort), `${USER}@127.0.0.1`, "true"]
          : ["ssh", "-F", sshConfig, "-J", `${USER}@127.0.0.1:${bastionPort}`, `${USER}@${vm.ip}`, "true"];
      await Promise.all(
        Object.values(vms).flatMap((vm) => [
          until(`cloud-init in ${vm.key}`, async () =>
            /status: (done|error|degraded)/.test(
              (await run(["docker", "exec", vm.spec.name, "cloud-init", "status"])).stdout,
            ),
          ).then(() => {
            vm.cloudInitDoneSeconds = seconds(vm);
            vm.cpuSecondsToDone = cpuSeconds(vm.spec.name);
          }),
          until(`ssh to ${vm.key}`, async () => (await run(sshArgs(vm))).status === 0).then(() => {
            vm.sshOkSeconds = seconds(vm);
          }),
        ]),
      );
      // Two cores shared with other suites: the load says how to read the figures.
      figures.loadAverage1mAtBoot = Number(loadAverageAtBoot.toFixed(2));
      for (const vm of Object.values(vms))
        figures[vm.key] = {
          sshOkSeconds: vm.sshOkSeconds,
          cloudInitDoneSeconds: vm.cloudInitDoneSeconds,
          cpuSecondsToDone: vm.cpuSecondsToDone,
        };
      console.log(
        `lab VM boot (docker create -> ...): ${Object.values(vms)
          .map(
            (vm) =>
              `${vm.key}: ssh ok ${vm.sshOkSeconds} s, cloud-init done ${vm.cloudInitDoneSeconds} s (${vm.cpuSecondsToDone} s of CPU)`,
          )
          .join("; ")}`,
      );
    });

    afterAll(() => {
      cleanup();
      if (agent?.pid) process.kill(agent.pid);
      rmSync(work, { recursive: true, force: true });
      if (Object.keys(figures).length > 0) {
        mkdirSync(path.join(ROOT, "test/artifacts"), { recursive: true });
        writeFileSync(
          path.join(ROOT, "test/artifacts/lab-vm.json"),
          `${JSON.stringify({ suite: "lab-vm", measuredAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
        );
      }
    });

    it("cloud-init finishes without errors on both VMs and systemd reports a running system", () => {
      for (const vm of Object.values(vms)) {
        const status = docker(["exec", vm.spec.name, "cloud-init", "status", "--long"]);
        expect(status, vm.key).toContain("status: done");
        expect(status, vm.key).toMatch(/errors: \[\]/);
        expect(status, vm.key).toContain("DataSourceNoCloud");
        const state = spawnSync("docker", ["exec", vm.spec.name, "systemctl", "is-system-running"], {
          encoding: "utf8",
        });
        const failed = docker(["exec", vm.spec.name, "systemctl", "--failed", "--no-legend", "--plain"]);
        expect(`${state.stdout.trim()} ${failed}`.trim(), vm.key).toBe("running");
        // What every Swarm bootstrap command waits for first, run as they run it: the
        // scripts' wait_for_boot (lib.sh, inlined into each remote command) returns at once
        // on a booted VM, on cloud-init's result file for this boot.
        const wait = spawnSync("docker", ["exec", "-i", vm.spec.name, "bash", "-s"], {
          input: `${readFileSync(path.join(ROOT, "scripts/host/swarm/lib.sh"), "utf8")}\nwait_for_boot\necho booted\n`,
          encoding: "utf8",
          timeout: 60_000,
        });
        expect(`${wait.stdout}${wait.stderr}`.trim(), vm.key).toBe("booted");
        expect(docker(["exec", vm.spec.name, "ls", "/run/cloud-init/result.json"]), vm.key).toBe(
          "/run/cloud-init/result.json",
        );
      }
    });

    it("the VMs answer SSH with the seeded host key only; a different pinned key is refused", () => {
      expect(sshOk("bastion", "hostname")).toBe(vms.bastion.spec.hostname);
      expect(sshOk("node", "hostname")).toBe(vms.node.spec.hostname);
      // The only host key on the node is the seeded one.
      const keys = sshOk("node", "cat /etc/ssh/ssh_host_*_key.pub").split("\n");
      expect(keys.map(keyType)).toEqual([keyType(vms.node.hostKeyPublic)]);
      // Pinning is real, on both hops: with another key in known_hosts for the node, or for the
      // bastion (checked by the jump hop, which reads the same -F file), the connection fails.
      const other = keyType(keyPair(work, "other-host").publicKey);
      const bastionLine = `[127.0.0.1]:${bastionPort} ${keyType(vms.bastion.hostKeyPublic)}`;
      const nodeLine = `${vms.node.ip} ${keyType(vms.node.hostKeyPublic)}`;
      for (const [which, lines] of [
        ["node", [bastionLine, `${vms.node.ip} ${other}`]],
        ["bastion", [`[127.0.0.1]:${bastionPort} ${other}`, nodeLine]],
      ] as const) {
        const wrongHosts = path.join(work, `known_hosts.wrong-${which}`);
        writeFileSync(wrongHosts, `${lines.join("\n")}\n`);
        const wrongConfig = path.join(work, `ssh_config.wrong-${which}`);
        writeFileSync(wrongConfig, readFileSync(sshConfig, "utf8").replace(knownHosts, wrongHosts));
        const refused = ssh("node", "true", wrongConfig);
        expect(refused.status, which).not.toBe(0);
        expect(refused.stderr, which).toMatch(
          /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/,
        );
      }
      // Password logins and root are off (the renderer's sshd drop-in).
      const sshd = sshOk("node", "sudo -n sshd -T");
      expect(sshd).toMatch(/^passwordauthentication no$/m);
      expect(sshd).toMatch(/^permitrootlogin no$/m);
      expect(sshd).toMatch(/^allowagentforwarding no$/m);
      expect(sshd).toMatch(/^x11forwarding no$/m);
      expect(sshd).toMatch(/^maxauthtries 5$/m);
    });

    it("the SSH user is in sudo but not docker: the engine answers only through sudo (issue 10)", () => {
      const groups = sshOk("node", "id -nG").split(/\s+/);
      expect(groups).toContain("sudo");
      expect(groups).not.toContain("docker");
      const plain = ssh("node", "docker info");
      expect(plain.status).not.toBe(0);
      expect(plain.stdout + plain.stderr).toMatch(/permission denied/i);
      expect(sshOk("node", "sudo -n docker info -f '{{.ServerVersion}}'")).toMatch(/^\d+\.\d+/);
      // The bastion has no engine at all.
      expect(ssh("bastion", "command -v dockerd").status).not.toBe(0);
    });

    it("sudo docker swarm init works inside the node", () => {
      sshOk("node", `sudo -n docker swarm init --advertise-addr ${vms.node.ip} >/dev/null`);
      expect(
        sshOk("node", "sudo -n docker info -f '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'"),
      ).toBe("active true");
    });

    it("an image pushed by the host to 127.0.0.1 is pulled by the node by digest from the lab address", () => {
      // The registry's own health check (its /v2/ answers) says when it takes pushes.
      for (let i = 0; i < 120; i++) {
        if (docker(["inspect", "-f", "{{.State.Health.Status}}", `${PREFIX}-registry`]) === "healthy") break;
        sleep(500);
      }
      expect(docker(["inspect", "-f", "{{.State.Health.Status}}", `${PREFIX}-registry`])).toBe("healthy");
      const ref = `127.0.0.1:${registryPort}/lab/test:1`;
      docker(["tag", "debian:trixie-slim", ref]);
      const pushed = docker(["push", ref]);
      docker(["rmi", ref]);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
      expect(digest, pushed).toBeDefined();
      const labRef = `${registryIp}:${LAB_REGISTRY_PORT}/lab/test@${digest}`;
      const started = performance.now();
      sshOk("node", `sudo -n docker pull -q ${labRef}`);
      figures.registryPullSeconds = Math.round(performance.now() - started) / 1000;
      expect(
        sshOk("node", `sudo -n docker image inspect -f '{{join .RepoDigests " "}}' ${labRef}`),
      ).toContain(labRef);
      // The inner engine runs it.
      expect(sshOk("node", `sudo -n docker run --rm ${labRef} cat /etc/debian_version`)).toMatch(
        /^\d+|trixie/,
      );
    });

    it("a killed node boots again: same pinned host key, engine enabled, still in its Swarm, cloud-init not re-run", () => {
      const before = docker(["exec", vms.node.spec.name, "cat", "/var/lib/cloud/data/instance-id"]);
      docker(["kill", vms.node.spec.name]);
      const started = performance.now();
      docker(["start", vms.node.spec.name]);
      let up = false;
      for (let i = 0; i < 240 && !up; i++) {
        up =
          ssh("node", "sudo -n docker info -f '{{.Swarm.LocalNodeState}}'; cloud-init status").stdout ===
          "active\nstatus: done";
        if (!up) sleep(250);
      }
      expect(up).toBe(true);
      figures.restartSwarmActiveSeconds = Math.round(performance.now() - started) / 1000;
      // Same instance: per-instance modules (users, keys, packages) did not run again.
      expect(docker(["exec", vms.node.spec.name, "cat", "/var/lib/cloud/data/instance-id"])).toBe(before);
    });

    it("docker stop shuts a VM down cleanly (systemd's halt on SIGRTMIN+3) and leaves no cgroups behind", () => {
      // The node is killed with a container of its engine running: nothing of either is left.
      const nodeId = docker(["inspect", "-f", "{{.Id}}", vms.node.spec.name]);
      const innerId = sshOk(
        "node",
        "sudo -n docker run -d --entrypoint sleep $(sudo -n docker images -q | head -1) infinity",
      );
      expect(innerId).toMatch(/^[0-9a-f]{64}$/);
      // Its cgroups sit under the VM's own (on v1 through the image's lab-docker-env).
      const inner = cgroupsOf(innerId);
      expect(inner.length).toBeGreaterThan(0);
      for (const dir of inner)
        expect(dir).toContain(CGROUP_V1 ? `/docker/${nodeId}/flotilla-lab-engine/` : `/docker/${nodeId}/`);
      const id = docker(["inspect", "-f", "{{.Id}}", vms.bastion.spec.name]);
      const started = performance.now();
      docker(["stop", "-t", "30", vms.bastion.spec.name]);
      figures.stopSeconds = Math.round(performance.now() - started) / 1000;
      // 137 would mean SIGKILL after the grace period.
      expect(docker(["inspect", "-f", "{{.State.ExitCode}}", vms.bastion.spec.name])).not.toBe("137");
      docker(["rm", "-f", vms.node.spec.name]);
      for (const gone of [id, nodeId, innerId]) {
        expect(cgroupsOf(gone), gone).toEqual([]);
      }
    });
  },
);
