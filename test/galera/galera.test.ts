// Galera's pure parts, without Docker: the config rules for mysql.nodes, the rendered
// mysql stack with three members and the webapp's member list, and the webapp's writer
// choice and retry classification (images/webapp/src/members.ts).
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { mysqlHosts, renderStack, SECRET_TARGETS } from "../../components/stacks";
import { planNodes } from "../../components/swarm";
import {
  chooseWriter,
  isConnectionError,
  isRetryable,
  type MemberStatus,
} from "../../images/webapp/src/members";
import { stackConfig } from "../support/pulumi";

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
    }
    // Backups on the last member only (member 1 is the writer).
    expect(doc.services["mysql-3"].environment.MYSQL_BACKUP_INTERVAL_SECONDS).toBe("3600");
    expect(doc.services["mysql-1"].environment.MYSQL_BACKUP_INTERVAL_SECONDS).toBeUndefined();
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
