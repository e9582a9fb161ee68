// The lab end to end: the `lab` stack (Pulumi.lab.yaml) brought up from nothing by the
// rehearsal executor, which runs the program's own resources for real: the VM containers
// boot cloud-init, SwarmBootstrap and every stack deploy go over real SSH through the
// bastion with pinned host keys, the images come from the lab's registry by digest. A
// wrong command line, a missing output or a wrong order in the program fails here.
// Then three second ups under the same load (nothing changed, a rotated password, a
// release), and node failures under steady load (50 req/s from a client container on the lab
// network to the VIP): power off the lb node holding the VIP, a worker with webapp tasks,
// the Swarm leader, a Consul server's node, the db node; unplug a node and plug it back;
// a rolling update across nodes; power every node back on. One row per fault, written to
// test/artifacts/lab-chaos.json and .md (the README's table).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { planLabAddresses } from "../../components/lab";
import { PORTS } from "../../components/stacks";
import { planNodes } from "../../components/swarm";
import { certificateFile } from "../../tools/demo";
import type { Step } from "../../tools/executor/engine";
import { execute, teardown } from "../../tools/executor/executor";
import { journalPath } from "../../tools/executor/journal";
import { selfSignedPem } from "../e2e/lib";
import { describeWithDocker } from "../support/docker";
import { certificateOf, request } from "../support/https";
import { ROOT, stackConfig } from "../support/pulumi";
import {
  failuresByKind,
  failuresByWindow,
  type LoadSummary,
  ok,
  onNode,
  outageSeconds,
  plugIn,
  powerOff,
  powerOn,
  removeLabelled,
  run,
  running,
  sleep,
  startLoad,
  swarm,
  tasksByNode,
  unplug,
  until,
  vipHolder,
} from "./chaos-lib";

const { config } = parseConfig(stackConfig("lab"));
const lab = config.lab as NonNullable<typeof config.lab>;
const nodes = planNodes(config.swarm, config.mysql.nodes);
const addresses = planLabAddresses(
  lab.subnetCidr,
  nodes.map((n) => n.key),
);
const PREFIX = "flotilla-lab";
const NETWORK = PREFIX;
const vm = (key: string) => `${PREFIX}-${key}`;
const managers = nodes.filter((n) => n.role === "manager").map((n) => n.key);
const lbNodes = nodes.filter((n) => n.labels.includes("lb")).map((n) => n.key);
const dbNodes = nodes.filter((n) => n.labels.includes("db")).map((n) => n.key);
const plainWorkers = nodes.filter((n) => n.role === "worker" && n.labels.length === 0).map((n) => n.key);
// Clients reach the site over HTTPS at the VIP, verified against the stack's own
// (self-signed) certificate: the program's output, kept in a file for the load client.
const URL = `https://${addresses.vip}:${config.haproxy.httpsPort}/`;
const CA_FILE = certificateFile("lab");
const ca = () => readFileSync(CA_FILE);
/** One request through the VIP (a fresh TLS handshake), true on a 2xx. */
const answers = async (timeoutMs = 2_000) =>
  request(URL, { ca: ca(), timeoutMs })
    .then((a) => a.status >= 200 && a.status < 300)
    .catch(() => false);
const WEBAPP = "flotilla-webapp_webapp";
const RATE = 50;
/** Leave the lab running after the suite (to look at it), and reuse a running one (to iterate). */
const KEEP = process.env.FLOTILLA_KEEP_LAB === "1";
/** A row's budget: a power cycle under load takes minutes on two cores (steady state included). */
const STEP_MS = 900_000;
const REUSE = process.env.FLOTILLA_REUSE_LAB === "1" && existsSync(journalPath(ROOT, "lab"));
/**
 * The quorum rows (a majority of the Galera members, of the managers, both lb nodes, every
 * node, powered off at once) add about 7 minutes: run by the nightly workflow and on demand
 * (`FLOTILLA_LAB_QUORUM=1`), shown as skipped in `npm test` (docs/lab.md).
 */
const QUORUM = process.env.FLOTILLA_LAB_QUORUM === "1";
/** How long a quorum row's nodes stay off. */
const OFF_MS = 20_000;

interface Row {
  scenario: string;
  sent: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  outageSeconds: number;
  /** Failed requests by what the client saw: where a row's failures come from. */
  failedBy: Record<string, number>;
  /** A second up's failed requests by the deploy steps they happened under. */
  failedDuring?: Record<string, number>;
  recovery: string;
  rowsKept: string;
}
const rows: Row[] = [];
let loadImage = "";

/** A manager that is up, to ask the Swarm from (the leader may be the node just killed). */
async function anyManager(): Promise<string> {
  for (const key of managers) {
    if (!(await running(vm(key)))) continue;
    const r = await onNode(vm(key), "docker node ls -q >/dev/null", 15_000);
    if (r.code === 0) return vm(key);
  }
  throw new Error("no manager answers");
}

async function leader(): Promise<string> {
  const out = await swarm(await anyManager(), ["node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}}"]);
  const line = out.split("\n").find((l) => l.endsWith(" Leader"));
  if (!line) throw new Error(`no leader in:\n${out}`);
  return line.split(" ")[0];
}

/** A Consul server runs on the manager and knows a leader (its own health check, with its local token). */
async function consulServerHealthy(node: string): Promise<boolean> {
  const id = (
    await onNode(vm(node), "docker ps -q --filter label=com.docker.swarm.service.name=flotilla-consul_consul")
  ).stdout.split("\n")[0];
  return (
    !!id && (await onNode(vm(node), `docker exec ${id} /usr/lib/flotilla/consul-healthcheck`)).code === 0
  );
}

/** Plays that must survive: created before the fault, refused as "already played" after it. */
async function play(customer: string): Promise<number> {
  const res = await request(`${URL}play`, {
    ca: ca(),
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ customer }),
    timeoutMs: 10_000,
  });
  return res.status;
}

async function writeRows(tag: string, count = 3): Promise<string[]> {
  const customers = Array.from({ length: count }, (_, i) => `${tag}-${i}-${Date.now()}`);
  for (const c of customers) {
    const status = await play(c);
    if (status !== 201) throw new Error(`play ${c} before the fault answered ${status}`);
  }
  return customers;
}

/** Every earlier customer's play is still there (409: already played). */
async function rowsKept(customers: string[]): Promise<string> {
  let kept = 0;
  for (const c of customers) {
    const status = await until(
      `a database answer for ${c}`,
      async () => [201, 409].includes(await play(c)),
      120_000,
    )
      .then(() => play(c))
      .catch(() => 0);
    if (status === 409) kept++;
  }
  return `${kept}/${customers.length}`;
}

/**
 * Nodes whose Docker engine the suite had to restart before a row: a Swarm defect seen once
 * (7 December 2026): a worker powered on again picked a manager for its new agent session,
 * logged "waiting 0s before registering session" and never registered, so the managers
 * kept it Down for 20 minutes while its engine said "active"; `systemctl restart docker`
 * on the node brought it back Ready in 2 s. The product does not heal this by itself yet
 * (docs/lab.md), so the suite does what an operator would, says so, and counts it
 * (printed with the rows) instead of every later row waiting and failing on that node.
 */
const engineRestarts: { node: string; at: string }[] = [];

async function nodeReadyOrRestarted(key: string): Promise<void> {
  const ready = await until(`${key} Ready`, () => nodeReady(key), 120_000, 2_000).then(
    () => true,
    () => false,
  );
  if (ready) return;
  engineRestarts.push({ node: key, at: new Date().toISOString() });
  console.log(
    `lab chaos: ${key} still not Ready 120 s into the steady-state check (its Swarm agent never registered a session): restarting its Docker engine, as an operator would`,
  );
  await onNode(vm(key), "systemctl restart docker", 180_000);
  await until(`${key} Ready after its engine restarted`, () => nodeReady(key), 180_000, 2_000);
}

/**
 * Steady state before a fault: every node powered on and Ready, every manager in Raft, and
 * the site answering 20 requests in a row through the VIP. A fault starts from a healthy system, so one
 * row's aftermath is never counted against the next.
 */
async function steadyState(): Promise<void> {
  for (const n of nodes) if (!(await running(vm(n.key)))) await powerOn(vm(n.key));
  for (const n of nodes) await nodeReadyOrRestarted(n.key);
  // A manager back from a fault rejoins Raft after its node is Ready; until then the leader
  // may still step down under a request.
  await until(
    "every manager Reachable, one of them the Leader",
    async () => {
      const out = await anyManager()
        .then((m) => swarm(m, ["node", "ls", "--format", "{{.ManagerStatus}}"]))
        .catch(() => "");
      const status = out.split("\n").filter(Boolean);
      return (
        status.length === managers.length &&
        status.filter((s) => s === "Leader").length === 1 &&
        status.every((s) => s === "Leader" || s === "Reachable")
      );
    },
    300_000,
    2_000,
  );
  // Every lb node's HAProxy serving (a webapp replica UP there): keepalived adds that to
  // its priority, so a node that starts serving during a row takes the VIP and resets
  // connections (seen: 14 resets with nothing changed, the first row after a bring-up).
  await until(
    "every lb node's HAProxy serving",
    async () => {
      for (const key of lbNodes) {
        const r = await onNode(
          vm(key),
          `curl -fsS -o /dev/null -m 2 http://127.0.0.1:${PORTS.haproxyHealth}/servingz`,
          10_000,
        );
        if (r.code !== 0) return false;
      }
      return true;
    },
    300_000,
    2_000,
  );
  let streak = 0;
  await until(
    "20 answers in a row through the VIP",
    async () => {
      streak = (await answers()) ? streak + 1 : 0;
      return streak >= 20;
    },
    300_000,
    100,
  );
}

/** The row whose steady state never came (the lab is broken from there on). */
let notSteadyBefore: string | undefined;

async function scenario(
  name: string,
  fault: () => Promise<string>,
  settleMs = 5_000,
  steps?: () => { name: string; from: number; to: number }[],
): Promise<Row> {
  // A lab that did not come back to its steady state stays broken: each later row would
  // wait out the same 300 s deadlines (11 rows, 50 minutes, in the CI run of 7 December).
  if (notSteadyBefore)
    throw new Error(`not run: the lab never came back to its steady state before "${notSteadyBefore}"`);
  try {
    await steadyState();
  } catch (e) {
    notSteadyBefore = name;
    throw e;
  }
  const before = await writeRows(name.replace(/\W+/g, "-").slice(0, 24));
  const load = await startLoad({
    name: `${PREFIX}-load`,
    network: NETWORK,
    image: loadImage,
    url: URL,
    rate: RATE,
    ca: CA_FILE,
  });
  await sleep(3_000);
  let recovery: string;
  let summary: LoadSummary;
  try {
    recovery = await fault();
    await sleep(settleMs);
  } finally {
    summary = await load.stop();
  }
  const row: Row = {
    scenario: name,
    sent: summary.sent,
    failed: summary.failed,
    p50: summary.p50,
    p95: summary.p95,
    p99: summary.p99,
    outageSeconds: outageSeconds(summary, RATE),
    failedBy: failuresByKind(summary),
    ...(steps && summary.failed > 0 ? { failedDuring: failuresByWindow(summary.failures, steps()) } : {}),
    recovery,
    rowsKept: await rowsKept(before),
  };
  rows.push(row);
  console.log(`lab chaos: ${JSON.stringify(row)}`);
  return row;
}

const secondsSince = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

async function nodeReady(key: string): Promise<boolean> {
  const out = await swarm(await anyManager(), ["node", "inspect", "--format", "{{.Status.State}}", key]);
  return out === "ready";
}

/** Every Swarm service's ID by name. */
async function serviceIds(): Promise<Record<string, string>> {
  const out = await swarm(await anyManager(), ["service", "ls", "--format", "{{.Name}} {{.ID}}"]);
  return Object.fromEntries(
    out
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ") as [string, string]),
  );
}

/** The stack deploys a run's steps did with `op`, sorted. */
const deploysBy = (ran: Step[], op: string) =>
  ran
    .filter((s) => s.op === op && s.name.endsWith("-deploy"))
    .map((s) => s.name)
    .sort();

/** The release the second-up row bumps to (the committed stacks run the default, 0.1.0). */
const BUMPED = "0.1.1";

async function webappRunning(): Promise<number> {
  const counts = await tasksByNode(await anyManager(), WEBAPP);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describeWithDocker(
  "lab: the helion topology on VM containers, the program's own commands, node failures under load",
  () => {
    beforeAll(async () => {
      loadImage = (await ok("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]))
        .split("\n")
        .find((t) => t.endsWith("/flotilla/webapp:0.1.0")) as string;
      if (REUSE) return;
      await teardown({ stack: "lab", log: () => {}, unprotect: true });
      await removeLabelled("flotilla.lab=flotilla");
      const t0 = Date.now();
      const result = await execute({ stack: "lab", log: (l) => console.log(l) });
      const programSeconds = (Date.now() - t0) / 1000;
      expect(result.outputs.publicUrl).toBe(URL);
      // The certificate the program made (self-signed for the VIP): what every client here verifies.
      mkdirSync(path.dirname(CA_FILE), { recursive: true });
      writeFileSync(CA_FILE, String(result.outputs.tlsCertificatePem));
      // A deadline for a starved machine (the program alone took 814 s once, at load average
      // 100 on two cores): the row's recovery column is the measure.
      const firstOk = await until("the first 200 through the VIP", answers, 600_000, 500);
      loadImage ||= (await ok("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]))
        .split("\n")
        .find((t) => t.endsWith("/flotilla/webapp:0.1.0")) as string;
      rows.push({
        scenario: "cold bring-up (nothing → first 200 via the VIP)",
        sent: 0,
        failed: 0,
        p50: 0,
        p95: 0,
        p99: 0,
        outageSeconds: 0,
        failedBy: {},
        recovery: `program done in ${programSeconds.toFixed(0)} s (${result.resources.length} resources), first 200 at ${((Date.now() - t0 - 0) / 1000).toFixed(0)} s (${(firstOk / 1000).toFixed(1)} s after)`,
        rowsKept: "–",
      });
    }, 2_400_000);

    afterAll(async () => {
      const dir = path.join(ROOT, "test", "artifacts");
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, "lab-chaos.json"),
        `${JSON.stringify({ rate: RATE, rows, engineRestarts }, null, 2)}\n`,
      );
      console.log(`lab chaos: engines restarted by the suite: ${JSON.stringify(engineRestarts)}`);
      const table = [
        "| scenario | sent | failed | p50/p95/p99 ms | longest outage | recovery | rows kept |",
        "|---|---|---|---|---|---|---|",
        ...rows.map(
          (r) =>
            `| ${r.scenario} | ${r.sent || "–"} | ${r.sent ? r.failed : "–"} | ${r.sent ? `${r.p50}/${r.p95}/${r.p99}` : "–"} | ${r.sent ? `${r.outageSeconds} s` : "–"} | ${r.recovery} | ${r.rowsKept} |`,
        ),
      ].join("\n");
      writeFileSync(path.join(dir, "lab-chaos.md"), `${table}\n`);
      console.log(`lab chaos (${RATE} req/s):\n${table}`);
      await run("docker", ["rm", "-f", `${PREFIX}-load`]);
      if (!KEEP) await teardown({ stack: "lab", log: () => {}, unprotect: true });
    }, 600_000);

    it("came up from nothing through the program's own commands: a 7-node Swarm with its labels", async () => {
      const out = await swarm(vm(managers[0]), ["node", "ls", "--format", "{{.Hostname}} {{.Status}}"]);
      expect(out.split("\n").sort()).toEqual(nodes.map((n) => `${n.key} Ready`).sort());
      const labels = await swarm(vm(managers[0]), [
        "node",
        "inspect",
        "--format",
        "{{.Description.Hostname}} {{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}",
        ...nodes.map((n) => n.key),
      ]);
      for (const key of lbNodes) expect(labels).toMatch(new RegExp(`^${key} .*lb=true`, "m"));
      for (const key of dbNodes) expect(labels).toMatch(new RegExp(`^${key} .*db=true`, "m"));
      // The login user reaches the engine only through sudo (the helion path the deploys use).
      const asUser = await onNode(vm(managers[0]), `su -s /bin/sh ${lab.sshUser} -c 'docker info'`);
      expect(asUser.code).not.toBe(0);
      expect(await vipHolder(lbNodes.map(vm), addresses.vip)).toBeDefined();
    });

    /**
     * A second `up` (the engine's second run, by the executor from its state) as the fault
     * of a row: under the row's load, with the Swarm services' IDs before and after (a
     * stack removed and deployed again would give new IDs).
     */
    const secondUp = async (
      name: string,
      options: { replace?: string[]; config?: Record<string, unknown> },
    ): Promise<{ row: Row; ran: Step[]; before: Record<string, string>; after: Record<string, string> }> => {
      let ran: Step[] = [];
      let before: Record<string, string> = {};
      let t = 0;
      const row = await scenario(
        name,
        async () => {
          before = await serviceIds();
          t = Date.now();
          const result = await execute({ stack: "lab", log: () => {}, ...options });
          ran = result.steps.filter((s) => s.op !== "same");
          return `${ran.length} of ${result.steps.length} resources changed (${deploysBy(ran, "update").join(", ") || "no deploy"}) in ${secondsSince(t)}`;
        },
        undefined,
        // The steps' times are from the executor's start, a few ms after t.
        () =>
          ran.map((s) => ({
            name: `${s.op} ${s.name} (${(s.startedMs / 1000).toFixed(1)}-${(s.finishedMs / 1000).toFixed(1)} s)`,
            from: t + s.startedMs,
            to: t + s.finishedMs,
          })),
      );
      return { row, ran, before, after: await serviceIds() };
    };

    it("a second up with nothing changed runs nothing; no request failed", async () => {
      const { row, ran, before, after } = await secondUp("second up, nothing changed", {});
      expect(ran.map((s) => `${s.op} ${s.name}`)).toEqual([]);
      expect(after).toEqual(before);
      expect(row.failed).toBe(0);
      expect(row.rowsKept).toBe("3/3");
    });

    it("a second up with the monitoring password rotated: only the monitoring stack updated, in place; no request failed", async () => {
      const { row, ran, before, after } = await secondUp("second up, monitoring password rotated", {
        replace: ["flotilla-monitoringPassword"],
      });
      expect(ran.find((s) => s.name === "flotilla-monitoringPassword")?.op).toBe("replace");
      expect(deploysBy(ran, "update")).toEqual(["flotilla-monitoring-deploy"]);
      // No removal ran (its delete is `docker stack rm`), no other deploy ran.
      expect(ran.filter((s) => s.name.endsWith("-removal"))).toEqual([]);
      expect(ran.filter((s) => s.name.endsWith("-deploy") && s.op !== "update")).toEqual([]);
      expect(after).toEqual(before);
      expect(row.failed).toBe(0);
      expect(row.rowsKept).toBe("3/3");
    });

    it("a second up with images.version bumped: every image pushed, every stack rolled in place, none removed, the Galera members one after another (not yet lossless: printed by window and bounded at 12 % and the longest outage at 5 s; measured 0.7 % alone and 7.4 % beside the CI's other lane, 10-13 % before the members rolled in turn)", async () => {
      const { row, ran, before, after } = await secondUp("second up, images.version bumped", {
        config: { "flotilla:images": JSON.stringify({ version: BUMPED }) },
      });
      const stacks = [...new Set(Object.keys(before).map((s) => s.split("_")[0]))].sort();
      expect(deploysBy(ran, "update")).toEqual(stacks.map((s) => `${s}-deploy`));
      expect(ran.filter((s) => s.name.endsWith("-removal"))).toEqual([]);
      expect(after).toEqual(before);
      // keepalived rolls only once HAProxy's roll has converged (the catalog's rollsAfter).
      const step = (name: string) => ran.find((s) => s.name === `flotilla-${name}-deploy`);
      expect(step("keepalived")?.startedMs).toBeGreaterThanOrEqual(step("haproxy")?.finishedMs ?? Infinity);
      // Every service runs a new-version image: a pushed image is named by its registry
      // digest, which must be the digest of one of the <registry>/<name>:BUMPED pushed here.
      const bumped = new Set(
        (await ok("docker", ["image", "ls", "--digests", "--format", "{{.Tag}} {{.Digest}}"]))
          .split("\n")
          .filter((l) => l.startsWith(`${BUMPED} sha256:`))
          .map((l) => l.split(" ")[1]),
      );
      const manager = await anyManager();
      for (const service of Object.keys(after)) {
        const image = await swarm(manager, [
          "service",
          "inspect",
          "-f",
          "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
          service,
        ]);
        expect(bumped.has(image.match(/sha256:[0-9a-f]{64}$/)?.[0] ?? image), `${service}: ${image}`).toBe(
          true,
        );
      }
      // The Galera members rolled one after another (the deploy's rolling phases): each
      // member's new task was created once the one before had converged, which takes at
      // least Swarm's 30 s monitor window (a stack deploy alone creates them within seconds).
      const created: number[] = [];
      for (const i of [1, 2, 3]) {
        const task = (
          await swarm(manager, [
            "service",
            "ps",
            "-q",
            "--filter",
            "desired-state=running",
            `flotilla-mysql_mysql-${i}`,
          ])
        ).split("\n")[0];
        created.push(Number(await swarm(manager, ["inspect", "-f", "{{.CreatedAt.Unix}}", task])));
      }
      console.log(`lab release: the Galera members' new tasks created at (unix s): ${created.join(", ")}`);
      for (const k of [1, 2]) expect(created[k] - created[k - 1]).toBeGreaterThanOrEqual(25);
      // A removed stack would be an outage of minutes: the bound that tells them apart.
      expect(row.outageSeconds).toBeLessThanOrEqual(5);
      expect(row.failed).toBeLessThanOrEqual(row.sent * 0.12);
      expect(row.rowsKept).toBe("3/3");
    });

    it("powering off the lb node that holds the VIP moves the VIP to the other one", async () => {
      const row = await scenario("power off the lb node holding the VIP", async () => {
        const holder = await vipHolder(lbNodes.map(vm), addresses.vip);
        if (!holder) throw new Error("no lb node holds the VIP in the steady state");
        const other = lbNodes.map(vm).find((c) => c !== holder) as string;
        const t = Date.now();
        await powerOff(holder);
        await until(
          "the VIP on the other lb node",
          async () => (await vipHolder([other], addresses.vip)) === other,
          60_000,
          100,
        );
        return `VIP on ${other.replace(`${PREFIX}-`, "")} after ${secondsSince(t)}`;
      });
      expect(row.rowsKept).toBe("3/3");
    });

    it("powering off a worker that runs webapp tasks: Swarm reschedules them, HAProxy routes around", async () => {
      let victim = "";
      const row = await scenario("power off a node running webapp tasks", async () => {
        const counts = await tasksByNode(await anyManager(), WEBAPP);
        // Webapp tasks spread over every node (placement has no constraint), so the victim is
        // the first node running one, in order of how little else it carries: a plain worker,
        // a manager (the deployer last), the lb node not holding the VIP (its own row moves
        // the VIP), and only then a db node (its own row takes a Galera member).
        const holder = await vipHolder(lbNodes.map(vm), addresses.vip);
        const order = [
          ...plainWorkers,
          ...managers.slice(1),
          managers[0],
          ...lbNodes.filter((k) => vm(k) !== holder),
          ...dbNodes,
        ];
        victim = order.find((k) => (counts[k] ?? 0) > 0) as string;
        if (!victim)
          throw new Error(`no node outside the VIP holder runs webapp tasks: ${JSON.stringify(counts)}`);
        const t = Date.now();
        await powerOff(vm(victim));
        await until("the node seen down", async () => !(await nodeReady(victim)), 120_000, 1_000);
        const down = secondsSince(t);
        await until(
          "every webapp replica running elsewhere",
          async () => (await webappRunning()) >= config.webapp.replicas,
          180_000,
          1_000,
        );
        return `${victim} (${counts[victim]} webapp tasks) seen down after ${down}, ${config.webapp.replicas} replicas running after ${secondsSince(t)}`;
      });
      expect(row.rowsKept).toBe("3/3");
      await powerOn(vm(victim));
    });

    it("powering off the Swarm leader: a new leader, and the Swarm still takes a deploy", async () => {
      const old = await leader();
      const row = await scenario(`power off the Swarm leader (${old})`, async () => {
        const t = Date.now();
        await powerOff(vm(old));
        await until("a new leader", async () => (await leader()) !== old, 120_000, 500);
        const elected = secondsSince(t);
        // A deploy through a surviving manager: scale the webapp up and back, each converged.
        const manager = await anyManager();
        await swarm(manager, [
          "service",
          "scale",
          "--detach=false",
          `${WEBAPP}=${config.webapp.replicas + 1}`,
        ]);
        await swarm(manager, ["service", "scale", "--detach=false", `${WEBAPP}=${config.webapp.replicas}`]);
        return `new leader after ${elected}; scale ${config.webapp.replicas}→${config.webapp.replicas + 1}→${config.webapp.replicas} converged through ${manager.replace(`${PREFIX}-`, "")}`;
      });
      expect(row.rowsKept).toBe("3/3");
      await powerOn(vm(old));
      await until(`${old} back in the Swarm`, () => nodeReady(old), 180_000, 2_000);
    });

    it("powering off the node of a Consul server: the other servers keep a leader", async () => {
      const current = await leader();
      // From a whole quorum where there is one: the leader's power-off row before may leave a
      // server still rejoining (slow at a high load average), and losing a healthy one then
      // would take two of three, not the fault tested here. If one is still rejoining after
      // the wait, that one is the victim: the two healthy servers must keep a leader.
      let healthy: boolean[] = [];
      await until(
        "a Consul server healthy on every manager",
        async () => {
          healthy = await Promise.all(managers.map(consulServerHealthy));
          return healthy.every(Boolean);
        },
        180_000,
        2_000,
      ).catch(() =>
        console.log(
          `lab chaos: Consul servers healthy per manager before the fault: ${JSON.stringify(healthy)}`,
        ),
      );
      const rejoining = managers.filter((_, i) => healthy[i] === false);
      const victim = (rejoining[0] ?? managers.find((k) => k !== current)) as string;
      const row = await scenario(`power off ${victim} (a Consul server)`, async () => {
        const t = Date.now();
        await powerOff(vm(victim));
        const survivor = managers.find((k) => k !== victim && !rejoining.includes(k)) as string;
        await until(
          "a Consul leader among the surviving servers",
          () => consulServerHealthy(survivor),
          120_000,
          1_000,
        );
        return `Consul leader present ${secondsSince(t)} after`;
      });
      expect(row.rowsKept).toBe("3/3");
      await powerOn(vm(victim));
      await until(`${victim} back in the Swarm`, () => nodeReady(victim), 180_000, 2_000);
    });

    it("powering off the db node: the data outlives it", async () => {
      const victim = dbNodes[0];
      const row = await scenario(
        `power off the db node (${victim}${dbNodes.length > 1 ? `, 1 of ${dbNodes.length} Galera members` : ", the only MySQL"})`,
        async () => {
          const t = Date.now();
          await powerOff(vm(victim));
          await sleep(10_000);
          await powerOn(vm(victim));
          await until("the app answering from the database again", answers, 240_000, 500);
          return `off 10 s, serving again ${secondsSince(t)} after the power-off`;
        },
        10_000,
      );
      expect(row.rowsKept).toBe("3/3");
    });

    it("unplugging a node from the network and plugging it back", async () => {
      const victim = managers[managers.length - 1];
      const row = await scenario(`unplug ${victim} for 20 s`, async () => {
        await unplug(vm(victim), NETWORK);
        await sleep(20_000);
        const t = Date.now();
        await plugIn(vm(victim), NETWORK, addresses.nodes[victim]);
        await until(`${victim} ready again`, () => nodeReady(victim), 180_000, 1_000);
        return `back in the Swarm ${secondsSince(t)} after it was plugged in`;
      });
      expect(row.rowsKept).toBe("3/3");
    });

    it("a rolling update of the webapp across the nodes (lossless by design; at most 1 % failed allowed on the CPU-starved lab, the figure printed)", async () => {
      const row = await scenario("rolling update of the webapp (every replica replaced)", async () => {
        const t = Date.now();
        await swarm(await anyManager(), ["service", "update", "--force", "--detach=false", WEBAPP]);
        return `${config.webapp.replicas} replicas replaced in ${secondsSince(t)}`;
      });
      // start-first with drains: no failure is the design; a CPU-starved lab is allowed 1 %.
      expect(row.failed).toBeLessThanOrEqual(row.sent * 0.01);
    });

    it("rotating the edge certificate under load: one lb node at a time, the VIP moved first (lossless by design; at most 1 % failed allowed on the CPU-starved lab, the figure printed)", async () => {
      // What `pulumi up` does with a new flotilla:tlsCertificate: a new Docker secret name on
      // the HAProxy service (stop-first per node; keepalived moves the VIP during the grace).
      const service = "flotilla-haproxy_haproxy";
      const manager = await anyManager();
      const refs = JSON.parse(
        await swarm(manager, [
          "service",
          "inspect",
          "--format",
          "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}",
          service,
        ]),
      ) as { SecretName: string; File: { Name: string; UID: string; GID: string; Mode: number } }[];
      const old = refs.find((r) => r.File.Name === "haproxy_tls_pem");
      if (!old) throw new Error(`${service} has no haproxy_tls_pem secret: ${JSON.stringify(refs)}`);
      const pem = selfSignedPem(`IP:${addresses.vip}`);
      const newCert = certificateOf(pem).trim();
      const name = `${old.SecretName.replace(/-[0-9a-f]+$/, "")}-rotated${Date.now() % 100000}`;
      // The PEM travels on stdin only (never argv).
      await swarm(manager, ["secret", "create", name, "-"], pem);
      // Clients trust the old and the new certificate while both may be served.
      writeFileSync(CA_FILE, `${ca().toString("utf8").trim()}\n${newCert}\n`);
      const row = await scenario(
        "rotate the edge certificate (new secret, one lb node at a time)",
        async () => {
          const t = Date.now();
          const f = old.File;
          await swarm(manager, [
            "service",
            "update",
            "--detach=false",
            "--secret-rm",
            old.SecretName,
            "--secret-add",
            `source=${name},target=${f.Name},uid=${f.UID},gid=${f.GID},mode=${f.Mode.toString(8).padStart(4, "0")}`,
            service,
          ]);
          return `both lb nodes serving the new certificate ${secondsSince(t)} after the update started`;
        },
      );
      // The new certificate is the one served now: verified against it alone.
      const served = await request(URL, { ca: newCert, timeoutMs: 5_000 });
      expect(served.status).toBe(200);
      // Lossless by design (docs/edge.md); a CPU-starved lab is allowed 1 %, the figure is printed.
      expect(row.failed).toBeLessThanOrEqual(row.sent * 0.01);
      expect(row.rowsKept).toBe("3/3");
    });

    /** Power off `victims` at once, power them on after OFF_MS, and time the way back. */
    const powerCycle = async (victims: string[], back: () => Promise<unknown>, what: string) => {
      await Promise.all(victims.map((k) => powerOff(vm(k))));
      await sleep(OFF_MS);
      const t = Date.now();
      await Promise.all(victims.map((k) => powerOn(vm(k))));
      await back();
      return `off ${OFF_MS / 1000} s; ${what} ${secondsSince(t)} after power returned`;
    };

    it.runIf(QUORUM)(
      "quorum: two of the three db nodes powered off at once, then on: the survivor goes non-Primary, the cluster re-forms by itself, no committed row lost",
      async () => {
        if (dbNodes.length < 3) throw new Error(`needs 3 db nodes, the lab has ${dbNodes.length}`);
        const victims = dbNodes.slice(0, 2);
        const row = await scenario(
          `power off 2 of 3 db nodes at once (${victims.join(", ")}): Galera majority lost`,
          () =>
            powerCycle(
              victims,
              () => until("the app answering from the database again", answers, 600_000, 500),
              "serving again",
            ),
          10_000,
        );
        expect(row.rowsKept).toBe("3/3");
      },
    );

    it.runIf(QUORUM)(
      "quorum: two of the three managers powered off at once (Swarm's Raft and Consul's lose their majority), then on: both re-form by themselves",
      async () => {
        const victims = managers.filter((k) => k !== managers[0]).slice(0, 2);
        const row = await scenario(`power off 2 of 3 managers at once (${victims.join(", ")})`, () =>
          powerCycle(
            victims,
            async () => {
              await until("a Swarm leader again", () => leader().then(Boolean), 600_000, 2_000);
              await until(
                "a Consul leader known on every manager",
                async () => (await Promise.all(managers.map(consulServerHealthy))).every(Boolean),
                600_000,
                2_000,
              );
            },
            "Swarm and Consul leaders back",
          ),
        );
        expect(row.rowsKept).toBe("3/3");
      },
    );

    it.runIf(QUORUM)(
      "quorum: both lb nodes powered off at once, then on: the VIP and the edge come back by themselves",
      async () => {
        const row = await scenario(`power off both lb nodes at once (${lbNodes.join(", ")})`, () =>
          powerCycle(
            lbNodes,
            () => until("the first 200 through the VIP", answers, 600_000, 500),
            "first 200",
          ),
        );
        expect(row.rowsKept).toBe("3/3");
      },
    );

    it.runIf(QUORUM)(
      "quorum: every node powered off at once (the site's power), then on: everything re-forms by itself, no committed row lost",
      async () => {
        const row = await scenario(
          `power off all ${nodes.length} nodes at once`,
          () =>
            powerCycle(
              nodes.map((n) => n.key),
              () => until("the app answering from the database again", answers, 900_000, 1_000),
              "serving again",
            ),
          10_000,
        );
        expect(row.rowsKept).toBe("3/3");
      },
    );

    it("every node back: all Ready, HAProxy on both lb nodes, the VIP held", async () => {
      const row = await scenario("every node powered on and back", async () => {
        const t = Date.now();
        for (const n of nodes) if (!(await running(vm(n.key)))) await powerOn(vm(n.key));
        for (const n of nodes) await until(`${n.key} ready`, () => nodeReady(n.key), 240_000, 2_000);
        const haproxy = await tasksByNode(await anyManager(), "flotilla-haproxy_haproxy");
        await until(
          "HAProxy on every lb node",
          async () => {
            const now = await tasksByNode(await anyManager(), "flotilla-haproxy_haproxy");
            return lbNodes.every((k) => (now[k] ?? 0) === 1);
          },
          180_000,
          2_000,
        );
        const holder = await vipHolder(lbNodes.map(vm), addresses.vip);
        const spread = await tasksByNode(await anyManager(), WEBAPP);
        return `all ${nodes.length} Ready after ${secondsSince(t)}; HAProxy ${Object.keys(haproxy).length}→${lbNodes.length} lb nodes; VIP on ${holder?.replace(`${PREFIX}-`, "")}; webapp per node ${JSON.stringify(spread)}`;
      });
      expect(row.rowsKept).toBe("3/3");
    });
  },
  STEP_MS,
);
