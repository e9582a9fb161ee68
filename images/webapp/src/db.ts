// Database access: the member pool, schema migrations and the play-once game.
import { randomUUID } from "node:crypto";
import type { FieldPacket, PoolConnection, QueryResult, RowDataPacket } from "mysql2/promise";
import type { WebappConfig } from "./config";
import { MemberPool } from "./members";

/** What the queries here need: MemberPool (retries, failover) or a plain mysql2 promise pool. */
export interface Queryable {
  query<T extends QueryResult = QueryResult>(sql: string, params?: unknown): Promise<[T, FieldPacket[]]>;
}

/** Ordered, append-only: a migration never changes once released. */
export const MIGRATIONS: readonly { version: number; statements: readonly string[] }[] = [
  {
    version: 1,
    // The session table exactly as express-mysql-session expects it.
    statements: [
      `CREATE TABLE IF NOT EXISTS sessions (
         session_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
         expires INT(11) UNSIGNED NOT NULL,
         data MEDIUMTEXT COLLATE utf8mb4_bin,
         PRIMARY KEY (session_id)
       ) ENGINE=InnoDB`,
    ],
  },
  {
    version: 2,
    // One row per customer: the primary key is what makes "play once" race-free.
    statements: [
      `CREATE TABLE IF NOT EXISTS plays (
         customer VARCHAR(128) NOT NULL,
         result VARCHAR(16) NOT NULL,
         served_by VARCHAR(255) NOT NULL,
         played_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
         PRIMARY KEY (customer)
       ) ENGINE=InnoDB`,
    ],
  },
  {
    version: 3,
    // The request that made the play: a play retried after a failover (its first
    // attempt may have committed before the connection died) finds its own row and is
    // still answered 201, never 409 and never twice. Idempotent DDL: without GET_LOCK
    // (refused by Galera) replicas may run a migration at the same time.
    statements: ["ALTER TABLE plays ADD COLUMN IF NOT EXISTS request_id CHAR(36) NULL"],
  },
];

const MIGRATION_LOCK = "flotilla.webapp.migrations";

/** The database members of the configuration, probed once a second once started. */
export function createMembers(config: WebappConfig, log: (line: string) => void): MemberPool {
  return new MemberPool({
    hosts: config.mysql.hosts,
    port: config.mysql.port,
    user: config.mysql.user,
    password: config.mysql.password,
    database: config.mysql.database,
    log,
  });
}

/**
 * Applies pending migrations. On a single server, replicas starting together serialise
 * on a named lock (GET_LOCK); Galera refuses GET_LOCK (ER_NOT_SUPPORTED_YET), and there
 * the statements' own idempotence (IF NOT EXISTS, INSERT IGNORE) makes a migration run
 * twice at once harmless (DDL is applied in total order on every member).
 */
export async function migrate(
  connect: () => Promise<PoolConnection>,
  log: (line: string) => void,
): Promise<number[]> {
  const conn = await connect();
  try {
    let locked = false;
    try {
      const [lockRows] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(?, 60) AS locked", [
        MIGRATION_LOCK,
      ]);
      if (lockRows[0]?.locked !== 1)
        throw new Error(`could not take the migration lock ${MIGRATION_LOCK} in 60 s`);
      locked = true;
    } catch (error) {
      if ((error as { errno?: number }).errno !== 1235) throw error;
    }
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version INT NOT NULL PRIMARY KEY,
           applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
         ) ENGINE=InnoDB`,
      );
      const [rows] = await conn.query<RowDataPacket[]>("SELECT version FROM schema_migrations");
      const done = new Set(rows.map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        for (const statement of migration.statements) await conn.query(statement);
        await conn.query("INSERT IGNORE INTO schema_migrations (version) VALUES (?)", [migration.version]);
        log(`migration ${migration.version} applied`);
        applied.push(migration.version);
      }
      return applied;
    } finally {
      if (locked) await conn.query("DO RELEASE_LOCK(?)", [MIGRATION_LOCK]);
    }
  } finally {
    conn.release();
  }
}

export interface Play {
  customer: string;
  result: "win" | "lose";
  servedBy: string;
  playedAt: string;
}

/**
 * Plays once for a customer. The insert either creates the customer's only row or hits
 * the primary key; the row then tells whether this request made it (its request id):
 * created is true only for the request that made the play, even when the insert was
 * retried after a failover and its first attempt had committed. Concurrent attempts
 * cannot both win the race.
 */
export async function playOnce(
  db: Queryable,
  customer: string,
  servedBy: string,
  draw: () => number = Math.random,
  requestId: string = randomUUID(),
): Promise<{ created: boolean; play: Play }> {
  const result = draw() < 0.1 ? "win" : "lose";
  try {
    await db.query("INSERT INTO plays (customer, result, served_by, request_id) VALUES (?, ?, ?, ?)", [
      customer,
      result,
      servedBy,
      requestId,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code !== "ER_DUP_ENTRY") throw error;
  }
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT customer, result, served_by, played_at, request_id FROM plays WHERE customer = ?",
    [customer],
  );
  const row = rows[0];
  if (!row) throw new Error(`play of ${customer} vanished`);
  return {
    created: row.request_id === requestId,
    play: {
      customer: String(row.customer),
      result: row.result === "win" ? "win" : "lose",
      servedBy: String(row.served_by),
      playedAt: new Date(row.played_at).toISOString(),
    },
  };
}
