// Database access: the connection pool, schema migrations and the play-once game.
import mysql from "mysql2";
import type { Pool as PromisePool, RowDataPacket } from "mysql2/promise";
import type { WebappConfig } from "./config";

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
];

const MIGRATION_LOCK = "flotilla.webapp.migrations";

/** A callback pool (what express-mysql-session wants); use `.promise()` for our own queries. */
export function createPool(config: WebappConfig, connectionLimit = 10): mysql.Pool {
  return mysql.createPool({
    host: config.mysql.host,
    port: config.mysql.port,
    user: config.mysql.user,
    password: config.mysql.password,
    database: config.mysql.database,
    connectionLimit,
    connectTimeout: 2000,
    waitForConnections: true,
    queueLimit: 100,
    enableKeepAlive: true,
  });
}

/**
 * Applies pending migrations. Replicas starting together serialise on a named lock
 * (GET_LOCK), and each migration is recorded, so every one runs exactly once.
 */
export async function migrate(pool: PromisePool, log: (line: string) => void): Promise<number[]> {
  const conn = await pool.getConnection();
  try {
    const [lockRows] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(?, 60) AS locked", [
      MIGRATION_LOCK,
    ]);
    if (lockRows[0]?.locked !== 1)
      throw new Error(`could not take the migration lock ${MIGRATION_LOCK} in 60 s`);
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
        await conn.query("INSERT INTO schema_migrations (version) VALUES (?)", [migration.version]);
        log(`migration ${migration.version} applied`);
        applied.push(migration.version);
      }
      return applied;
    } finally {
      await conn.query("DO RELEASE_LOCK(?)", [MIGRATION_LOCK]);
    }
  } finally {
    conn.release();
  }
}

/** True when the database answers a trivial query within the timeout. */
export async function ping(pool: PromisePool, timeoutMs: number): Promise<boolean> {
  try {
    await pool.query({ sql: "SELECT 1", timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

export interface Play {
  customer: string;
  result: "win" | "lose";
  servedBy: string;
  playedAt: string;
}

/**
 * Plays once for a customer. The insert either creates the customer's only row
 * (created: true) or hits the primary key, and then the original play is returned
 * (created: false): concurrent attempts cannot both win the race.
 */
export async function playOnce(
  pool: PromisePool,
  customer: string,
  servedBy: string,
  draw: () => number = Math.random,
): Promise<{ created: boolean; play: Play }> {
  const result = draw() < 0.1 ? "win" : "lose";
  let created = true;
  try {
    await pool.query("INSERT INTO plays (customer, result, served_by) VALUES (?, ?, ?)", [
      customer,
      result,
      servedBy,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code !== "ER_DUP_ENTRY") throw error;
    created = false;
  }
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT customer, result, served_by, played_at FROM plays WHERE customer = ?",
    [customer],
  );
  const row = rows[0];
  if (!row) throw new Error(`play of ${customer} vanished`);
  return {
    created,
    play: {
      customer: String(row.customer),
      result: row.result === "win" ? "win" : "lose",
      servedBy: String(row.served_by),
      playedAt: new Date(row.played_at).toISOString(),
    },
  };
}
