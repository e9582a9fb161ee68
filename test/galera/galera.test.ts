// Galera's pure parts, without Docker: the config rules for mysql.nodes, the rendered
// mysql stack with three members and the webapp's member list, the webapp's writer
// choice and retry classification (images/webapp/src/members.ts), and the rules for a
// member left running non-Primary or joining with nothing to join (heal_choice and
// primary_seen in the image's galera-lib).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import {
  mysqlHosts,
  renderStack,
  rollingPhases,
  SECRET_TARGETS,
  stackWaitSeconds,
} from "../../components/stacks";
import { planNodes } from "../../components/swarm";
import {
  chooseWriter,
  isConnectionError,
  isRetryable,
  type MemberStatus,
  nextReadiness,
  type Readiness,
} from "../../images/webapp/src/members";
import { ROOT, stackConfig } from "../support/pulumi";

describe("the webapp's readiness (nextReadiness)", () => {
  const walk = (samples: [number, boolean][], start: Readiness = { up: false }) => {
    let r = start;
    return samples.map(([t, present]) => {
      r = nextReadiness(r, present, t, 5000);
      return r.up;
    });
  };

  it("is not ready before a writer was ever seen, ready from the first one", () => {
    expect(
      walk([
        [0, false],
        [10_000, false],
        [10_250, true],
      ]),
    ).toEqual([false, false, true]);
  });

  it("rides out a writer change shorter than the grace (no site-wide 503 while a writer moves)", () => {
    expect(
      walk([
        [0, true],
        [250, false],
        [2500, false],
        [4999, false],
        [5250, true],
      ]),
    ).toEqual([true, true, true, true, true]);
  });

  it("fails once no member has been usable for the whole grace, and the grace starts again after a writer", () => {
    expect(
      walk([
        [0, true],
        [1000, false],
        [5999, false],
        [6000, false],
        [6250, false],
      ]),
    ).toEqual([true, true, true, false, false]);
    expect(
      walk([
        [0, true],
        [1000, false],
        [4000, true],
        [5000, false],
        [9999, false],
        [10_000, false],
      ]),
    ).toEqual([true, true, true, true, true, false]);
  });
});

describe("mysql.nodes", () => {
  it("refuses an even count, naming the key", () => {
    expect(() => parseConfig(stackConfig("dev", { "flotilla:mysql": { nodes: 2 } }))).toThrow(
      /flotilla:mysql\.nodes: expected an odd number of MariaDB members \(1, 3, 5 or 7\)/,
    );
  });

  it("refuses too few workers for the db nodes on OpenStack, naming the keys", () => {
    expect(() =>
      parseConfig(
        stackConfig("helion", {
          "flotilla:swarm": { managers: 3, workers: 4, loadBalancerNodes: 2 },
          "flotilla:mysql": { nodes: 3 },
        }),
      ),
    ).toThrow(
      /flotilla:swarm\.workers: expected at least 5 workers .*3 database nodes for flotilla:mysql\.nodes/,
    );
  });

  it("puts the members on the workers after the lb nodes, each labelled with its index", () => {
    const nodes = planNodes({ managers: 3, workers: 6, loadBalancerNodes: 2 }, 3);
    expect(
      nodes.filter((n) => n.role === "worker").map((n) => [n.key, n.labels.join("+"), n.dbMember]),
    ).toEqual([
      ["worker-0", "lb", undefined],
      ["worker-1", "lb", undefined],
      ["worker-2", "db", 1],
      ["worker-3", "db", 2],
      ["worker-4", "db", 3],
      ["worker-5", "", undefined],
    ]);
    // One server: the single db node as before, no member label.
    expect(planNodes({ managers: 1, workers: 3, loadBalancerNodes: 2 }).map((n) => n.dbMember)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("dev defaults to one server", () => {
    expect(parseConfig(stackConfig("dev")).config.mysql.nodes).toBe(1);
  });
});

describe("the mysql stack with three members", () => {
  const config = parseConfig(
    stackConfig("dev", { "flotilla:mysql": { nodes: 3, dataPath: "/srv/db", backupIntervalMinutes: 60 } }),
  ).config;
  const input = {
    config,
    images: {
      consul: "c",
      mysql: "flotilla/mysql:0.1.0",
      webapp: "w",
      haproxy: "h",
      keepalived: "k",
      prometheus: "p",
    },
    secretNames: Object.fromEntries(SECRET_TARGETS.map((t) => [t, `p-${t}`])),
    prefix: "p",
  } as unknown as Parameters<typeof renderStack>[1];

  it("renders one service per member with its own data directory and the member list", () => {
    const doc = renderStack("mysql", input);
    expect(Object.keys(doc.services)).toEqual(["mysql-1", "mysql-2", "mysql-3"]);
    const hosts = "p-mysql_mysql-1,p-mysql_mysql-2,p-mysql_mysql-3";
    for (const i of [1, 2, 3]) {
      const s = doc.services[`mysql-${i}`];
      expect(s.environment).toMatchObject({ GALERA_MEMBERS: hosts, GALERA_INDEX: String(i) });
      expect(s.volumes?.[0]).toEqual({ type: "bind", source: `/srv/db/${i}`, target: "/var/lib/mysql" });
      expect(s.deploy.endpoint_mode).toBe("dnsrr");
      expect(s.ports).toBeUndefined();
      // A member waits its turn to leave (galera-leave, up to 45 s), then shuts down (25 s).
      expect(s.stop_grace_period).toBe("90s");
    }
    // Backups on the last member only (member 1 is the writer).
    expect(doc.services["mysql-3"].environment.MYSQL_BACKUP_INTERVAL_SECONDS).toBe("3600");
    expect(doc.services["mysql-1"].environment.MYSQL_BACKUP_INTERVAL_SECONDS).toBeUndefined();
  });

  it("rolls the members one at a time: a phase per member but the last, each with the members up to it", () => {
    const doc = renderStack("mysql", input);
    const phases = rollingPhases(doc, ["mysql-1", "mysql-2", "mysql-3"]);
    expect(phases.map((p) => [p.service, Object.keys(p.document.services)])).toEqual([
      ["mysql-1", ["mysql-1"]],
      ["mysql-2", ["mysql-1", "mysql-2"]],
    ]);
    // The rest of the document (networks, secrets, volumes) comes along unchanged.
    expect(phases[0].document.secrets).toEqual(doc.secrets);
    expect(rollingPhases(doc, ["mysql-1"])).toEqual([]);
    expect(() => rollingPhases(doc, ["mysql-1", "mysql-9"])).toThrow(/no service mysql-9/);
  });

  it("gives the deploy swarm.deployWaitSeconds (300 s) per member rolled in turn, and once to a stack that rolls at once", () => {
    expect(stackWaitSeconds("mysql", config)).toBe(900);
    expect(stackWaitSeconds("webapp", config)).toBe(300);
    const single = parseConfig(stackConfig("dev", {})).config;
    expect(stackWaitSeconds("mysql", single)).toBe(300);
    // The lab's stack file raises the wait per phase (seven VMs on a few cores).
    expect(stackWaitSeconds("mysql", parseConfig(stackConfig("lab")).config)).toBe(1800);
  });

  it("gives the webapp every member, in the order that picks the writer", () => {
    const web = renderStack("webapp", input).services.webapp;
    expect(web.environment.MYSQL_HOSTS).toBe(mysqlHosts("p", config).join(","));
    expect(web.environment.MYSQL_HOST).toBe("p-mysql_mysql-1");
  });
});

describe("the webapp's writer choice", () => {
  const m = (host: string, over: Partial<MemberStatus> = {}): MemberStatus => ({
    host,
    reachable: true,
    galera: true,
    cluster: "Primary",
    state: "Synced",
    ready: true,
    since: 0,
    ...over,
  });

  it("is the first Synced member of the primary component, in configured order", () => {
    expect(chooseWriter([m("a"), m("b"), m("c")])).toBe(0);
    expect(chooseWriter([m("a", { reachable: false }), m("b"), m("c")])).toBe(1);
    expect(chooseWriter([m("a", { state: "Donor/Desynced" }), m("b"), m("c")])).toBe(1);
    expect(
      chooseWriter([m("a", { cluster: "non-Primary", ready: false }), m("b", { ready: false }), m("c")]),
    ).toBe(2);
    expect(chooseWriter([m("a", { reachable: false }), m("b", { state: "Joining" })])).toBe(-1);
  });

  it("takes a reachable single server as it is", () => {
    expect(chooseWriter([m("db", { galera: false, cluster: "Disconnected", state: "", ready: false })])).toBe(
      0,
    );
  });

  it("retries lost connections, Galera deadlocks and WSREP-not-ready, nothing else", () => {
    expect(isRetryable({ code: "PROTOCOL_CONNECTION_LOST", fatal: true })).toBe(true);
    expect(isRetryable({ code: "ECONNREFUSED" })).toBe(true);
    expect(isRetryable({ errno: 1213, code: "ER_LOCK_DEADLOCK" })).toBe(true);
    expect(isRetryable({ errno: 1047, code: "ER_UNKNOWN_COM_ERROR" })).toBe(true);
    expect(
      isRetryable({
        message:
          "Error while appending streaming replication fragment(provider status: Not connected to Primary Component)",
      }),
    ).toBe(true);
    expect(isRetryable({ errno: 1062, code: "ER_DUP_ENTRY" })).toBe(false);
    expect(isRetryable({ errno: 1064, code: "ER_PARSE_ERROR" })).toBe(false);
    expect(isConnectionError({ errno: 1213 })).toBe(false);
    expect(isConnectionError({ code: "ECONNRESET" })).toBe(true);
  });
});

const GALERA_LIB = path.join(ROOT, "images/mysql/rootfs/usr/lib/flotilla/galera-lib");

/**
 * One of galera-lib's pure rules (a shell function), run as the scripts run it: its
 * arguments, and one "<index> <report>" line per other member on stdin. Its answer.
 */
function galeraRule(rule: string, args: string[], reports: Record<number, string>): string {
  const r = spawnSync("sh", ["-c", `. "$0"; ${rule} "$@"`, GALERA_LIB, ...args], {
    input: Object.entries(reports)
      .map(([i, report]) => `${i} ${report}\n`)
      .join(""),
    encoding: "utf8",
  });
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

describe("the members a script asks (galera-lib's other_members)", () => {
  const others = (members: string, index: number) =>
    spawnSync("sh", ["-c", `. "$0"; other_members`, GALERA_LIB], {
      env: { ...process.env, GALERA_MEMBERS: members, GALERA_INDEX: String(index) },
      encoding: "utf8",
    }).stdout.trim();

  it("every member's index but this one's, in order", () => {
    expect(others("m-1,m-2,m-3", 1)).toBe("2\n3");
    expect(others("m-1,m-2,m-3", 2)).toBe("1\n3");
    expect(others("m-1,m-2,m-3,m-4,m-5", 5)).toBe("1\n2\n3\n4");
    expect(others("m-1", 1)).toBe("");
  });
});

describe("the rule for a member left running non-Primary (galera-heal)", () => {
  const U = "3f1c0a52-efff-11f1-bd11-7aada41f2404";
  /** heal_choice for member `self` at `seqno`, given the other members' reports. */
  const choice = (self: number, seqno: number, reports: Record<number, string>) =>
    galeraRule("heal_choice", [String(self), U, String(seqno)], reports);

  it("the survivor of two lost members bootstraps when it holds the last commit (or ties)", () => {
    expect(choice(3, 10, { 1: `waiting ${U} 8`, 2: `waiting ${U} 9` })).toBe("bootstrap");
    expect(choice(3, 10, { 1: `waiting ${U} 10`, 2: `waiting ${U} 10` })).toBe("bootstrap");
  });

  it("a stopped member with later commits wins: the survivor restarts to let it bootstrap", () => {
    expect(choice(3, 10, { 1: `waiting ${U} 12`, 2: `waiting ${U} 9` })).toBe("restart 1 12");
  });

  it("among several non-Primary members, only the most advanced acts (ties: the lowest index)", () => {
    const peer = (seqno: number) => `running non-Primary 0 OFF 1 ${U} ${seqno}`;
    expect(choice(1, 10, { 2: `waiting ${U} 9`, 3: peer(10) })).toBe("bootstrap");
    expect(choice(3, 10, { 1: peer(10), 2: `waiting ${U} 9` })).toBe("wait 1");
    expect(choice(3, 10, { 1: peer(11), 2: `waiting ${U} 9` })).toBe("wait 1");
  });

  it("a join has something to join only while some member runs a primary component (primary_seen)", () => {
    const seen = (reports: string[]) =>
      spawnSync("sh", ["-c", `. "$0"; primary_seen`, GALERA_LIB], {
        input: reports.map((r, i) => `${i + 1} ${r}\n`).join(""),
        encoding: "utf8",
      }).status === 0;
    expect(seen(["running Primary 2 ON 1", "joining"])).toBe(true);
    expect(seen(["running Primary 4 ON 1", "unreachable"])).toBe(true);
    // The survivor of two lost members, and the other one back and waiting: none.
    expect(seen([`running non-Primary 0 OFF 1 ${U} 278`, `waiting ${U} 278`])).toBe(false);
    expect(seen(["unreachable", "starting", "joining", "bootstrapping"])).toBe(false);
  });

  it("decides nothing while a member is missing, busy, primary, or holds another history", () => {
    const undecided = [
      "unreachable",
      "starting",
      "joining",
      "bootstrapping",
      "running Primary 4 ON 1",
      "waiting 00000000-0000-0000-0000-000000000000 -1",
      "waiting 9d1c0a52-efff-11f1-bd11-7aada41f2404 99",
      "waiting",
    ];
    for (const report of undecided)
      expect(choice(3, 10, { 1: report, 2: `waiting ${U} 9` }), report).toBe("undecided");
  });
});

describe("the rule for a member asked to stop (galera-leave's leave_choice)", () => {
  const SYNCED = "running Primary 4 ON 1";
  const LEAVING = "running Primary 4 ON 1 leaving";
  /** leave_choice for member `self` (serving or not), given the other members' reports. */
  const choice = (self: number, serving: boolean, reports: Record<number, string>) =>
    galeraRule("leave_choice", [String(self), serving ? "1" : "0"], reports);

  it("a release stops every member at once: the lowest index leaves first, the others wait for it", () => {
    expect(choice(1, true, { 2: LEAVING, 3: LEAVING })).toBe("go");
    expect(choice(2, true, { 1: LEAVING, 3: LEAVING })).toBe("wait 1 leaving first");
    expect(choice(3, true, { 1: LEAVING, 2: LEAVING })).toBe("wait 1 leaving first");
    // Desynced and leaving (its last seconds): still first.
    expect(choice(2, true, { 1: "running Primary 2 ON 1 leaving", 3: LEAVING })).toBe("wait 1 leaving first");
  });

  it("the next member leaves once the one before is back and Synced; never is no member left serving", () => {
    const back = [
      "unreachable",
      "starting",
      "waiting 3f1c0a52-efff-11f1-bd11-7aada41f2404 10",
      "joining",
      "running Primary 1 OFF 0",
      "running Primary 4 ON 0",
    ];
    // Member 1 restarting, member 3 still serves but waits for 2: 2 stays.
    for (const report of back) expect(choice(2, true, { 1: report, 3: LEAVING }), report).toMatch(/^wait 1 /);
    expect(choice(2, true, { 1: SYNCED, 3: LEAVING })).toBe("go");
    expect(choice(3, true, { 1: SYNCED, 2: LEAVING })).toBe("wait 2 leaving first");
    // Member 2's new task is healthy (its server up) but not yet Synced: the release's next
    // member waits, so only one rolls at a time (seen: 3 left while 2 was Joined, state 3).
    for (const report of ["running Primary 3 OFF 0", "running Primary 4 ON 0", "joining"])
      expect(choice(3, true, { 1: SYNCED, 2: report }), report).toMatch(/^wait 2 /);
    // Member 2 gone to restart: member 1 serves and stays, so 3 may go too.
    expect(choice(3, true, { 1: SYNCED, 2: "unreachable" })).toBe("go");
    // The last member serving stays until another one is back.
    expect(choice(3, true, { 1: "joining", 2: "unreachable" })).toBe("wait 1 joining");
  });

  it("one member stopped alone (a drain, a forced update) goes while another serves, not while a third is on its way back", () => {
    expect(choice(2, true, { 1: SYNCED, 3: SYNCED })).toBe("go");
    expect(choice(2, true, { 1: SYNCED, 3: "joining" })).toBe("wait 3 joining");
    // A joiner passes through non-Primary (seen: member 2 left while 1 was there, then Joiner).
    expect(
      choice(2, true, { 1: SYNCED, 3: "running non-Primary 1 OFF 0 3f1c0a52-efff-11f1-bd11-7aada41f2404 5" }),
    ).toBe("wait 3 running non-Primary 1");
    // A peer that is down is not on its way back: not waited for.
    expect(choice(2, true, { 1: SYNCED, 3: "unreachable" })).toBe("go");
    expect(choice(2, true, { 1: "starting", 3: "joining" })).toBe("wait 1 starting");
    expect(
      choice(2, true, {
        1: "running non-Primary 0 OFF 1 3f1c0a52-efff-11f1-bd11-7aada41f2404 5",
        3: "unreachable",
      }),
    ).toBe("wait 1 running non-Primary 0");
  });

  it("a member that serves nothing stops at once", () => {
    expect(choice(2, false, { 1: "unreachable", 3: "joining" })).toBe("go");
  });

  it("a peer gone for good is not waited for; the whole cluster stopping goes together", () => {
    // Member 1's node is gone: 2 goes first (3 leaving waits for it), as if 1 were not there.
    expect(choice(2, true, { 1: "gone", 3: LEAVING })).toBe("go");
    expect(choice(3, true, { 1: "gone", 2: LEAVING })).toBe("wait 2 leaving first");
    expect(choice(2, true, { 1: "gone", 3: "gone" })).toBe("go");
    // A stack removed or scaled to 0: member 1 left first and never came back.
    expect(choice(2, true, { 1: "left", 3: LEAVING })).toBe("go");
    expect(choice(3, true, { 1: "left", 2: LEAVING })).toBe("go");
    // Left, but another member is restarting: it may be back; the last one serving stays.
    expect(choice(3, true, { 1: "left", 2: "joining" })).toBe("wait 2 joining");
  });
});
