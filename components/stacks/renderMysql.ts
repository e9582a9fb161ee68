// The mysql stack's compose document (see renderCommon.ts for the shared pieces).
import { type FlotillaConfig, TARGETS } from "../config";
import { DEFAULT_PREFIX, serviceName, stackName } from "./names";
import type { RenderInput } from "./renderCommon";
import { composeFile, deployPolicy, externals, health, labels, secretRefs } from "./renderCommon";
import type { ComposeFile, ComposeService, StackFacts } from "./types";

/**
 * The mysql stack's service keys: `mysql` for a single server, `mysql-1` .. `mysql-N` (the
 * Galera members, in index order) otherwise.
 */
export function mysqlServiceKeys(config: FlotillaConfig): string[] {
  if (config.mysql.nodes === 1) return ["mysql"];
  return Array.from({ length: config.mysql.nodes }, (_, i) => `mysql-${i + 1}`);
}

/**
 * The MySQL service names the webapp connects to, in the order that picks the writer:
 * `<stack>_mysql` for a single server, `<stack>_mysql-1` .. `-N` for a Galera cluster.
 */
export function mysqlHosts(prefix: string, config: FlotillaConfig): string[] {
  if (config.mysql.nodes === 1) return [serviceName(prefix, "mysql")];
  return mysqlServiceKeys(config).map((key) => `${stackName(prefix, "mysql")}_${key}`);
}

/**
 * The host directory of member `index` (1-based): on a one-node Swarm every member's
 * data sits under the data path in `<dataPath>/<index>`; on multi-node targets each
 * member has its own node and volume, mounted at the data path itself.
 */
export function mysqlDataDir(config: FlotillaConfig, index: number): string {
  if (config.mysql.nodes === 1 || TARGETS[config.target].multiNode) return config.mysql.dataPath;
  return `${config.mysql.dataPath}/${index}`;
}

/**
 * MariaDB, on the data network only, never published. One server on the `db` node, or
 * a Galera cluster (docs/galera.md): one service per member (`mysql-1` .. `mysql-N`,
 * stable DNS names), member i on the node labelled `db_member == i` (multi-node
 * targets) with its own data directory. The last member takes the scheduled backups
 * into the `mysql-backups` volume on its node (member 1 is every replica's writer).
 */
export function renderMysql(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const nodes = config.mysql.nodes;
  const hosts = mysqlHosts(prefix, config);
  const multiNode = TARGETS[config.target].multiNode;
  const member = (index: number): ComposeService => {
    const backups = index === nodes && config.mysql.backupIntervalMinutes > 0;
    return {
      image: input.images[stack.image],
      environment: {
        MYSQL_DATABASE: config.mysql.database,
        MYSQL_USER: config.mysql.user,
        ...(nodes > 1 ? { GALERA_MEMBERS: hosts.join(","), GALERA_INDEX: String(index) } : {}),
        ...(backups
          ? {
              MYSQL_BACKUP_INTERVAL_SECONDS: String(config.mysql.backupIntervalMinutes * 60),
              MYSQL_BACKUP_KEEP: String(config.mysql.backupKeep),
            }
          : {}),
      },
      networks: [...stack.networks],
      secrets: secretRefs(stack.secrets),
      volumes: [
        { type: "bind", source: mysqlDataDir(config, index), target: "/var/lib/mysql" },
        { type: "volume", source: "mysql-backups", target: "/var/backups/mysql" },
      ],
      // A joining member copies the whole database (SST) before it turns healthy.
      healthcheck: health(["CMD", "/usr/lib/flotilla/mysql-healthcheck"], nodes > 1 ? "300s" : "90s"),
      // InnoDB flushes and shuts down cleanly well within 60 s. A Galera member first waits
      // its turn to leave (galera-leave: up to 45 s, docs/galera.md#planned-stops), then its
      // server gets 25 s (the s6 service's timeout-kill).
      stop_grace_period: nodes > 1 ? "90s" : "60s",
      deploy: {
        mode: "replicated",
        replicas: 1,
        endpoint_mode: "dnsrr",
        placement: {
          constraints: [
            "node.labels.db == true",
            ...(nodes > 1 && multiNode ? [`node.labels.db_member == ${index}`] : []),
          ],
        },
        // Two servers must never share one data directory: stop the old one first.
        ...deployPolicy(stack, "stop-first", "0s", "30s"),
      },
    };
  };
  const services: Record<string, ComposeService> = Object.fromEntries(
    mysqlServiceKeys(config).map((key, i) => [key, member(i + 1)]),
  );
  return composeFile(services, {
    ...externals(input, stack),
    volumes: { "mysql-backups": { labels: labels(stack.name) } },
  });
}
