// The database members (one MariaDB, or the members of a Galera cluster) and the
// writer every replica sends its queries to. See docs/galera.md.
//
// Each member is probed once a second on a connection of its own; a member is usable
// when it answers and, in a cluster, is Synced in the primary component with
// wsrep_ready ON. The writer is the first usable member in configured order, so every
// replica picks the same one (one writer at a time: certification conflicts stay
// rare) and the choice moves within a second when that member dies or leaves sync.
// Queries that fail on a lost connection, a Galera deadlock (1213) or "WSREP not ready"
// (1047) are retried, on the new writer when the old one went away, within a deadline.
import mysql from "mysql2";
import type { FieldPacket, PoolConnection, QueryResult } from "mysql2/promise";

export interface MemberStatus {
  host: string;
  /** The last probe got an answer. */
  reachable: boolean;
  /** @@wsrep_on: a Galera member (false: a single server). */
  galera: boolean;
  /** wsrep_cluster_status (Primary, non-Primary, Disconnected), or "" when unreachable. */
  cluster: string;
  /** wsrep_local_state_comment (Synced, Donor/Desynced, Joining, ...), or "". */
  state: string;
  /** wsrep_ready. */
  ready: boolean;
  /** When reachable/usable last changed (ms since the epoch). */
  since: number;
  /** Why the last probe failed. */
  error?: string;
}

/** True when a member may take queries (what the writer choice looks at). */
export function usable(m: MemberStatus): boolean {
  if (!m.reachable) return false;
  if (!m.galera) return true;
  return m.cluster === "Primary" && m.ready && m.state === "Synced";
}

/** The writer: the first usable member in configured order, or -1 when none is. */
export function chooseWriter(members: readonly MemberStatus[]): number {
  return members.findIndex(usable);
}

/** Whether the replica reports the database usable (/readyz), and since when it lacks a writer. */
export interface Readiness {
  up: boolean;
  missingSince?: number;
}

/**
 * Readiness from the writer's presence, with a grace: "down" only once no member has been
 * usable for graceMs. Every replica shares the database, so a moving writer (a second or
 * two with none, while the survivors install a new view) is ridden out by the query
 * retries; failing readiness at once took every replica out of HAProxy's rotation
 * together and turned that into a site-wide 503 for the checks' fall and rise.
 */
export function nextReadiness(
  previous: Readiness,
  writerPresent: boolean,
  now: number,
  graceMs: number,
): Readiness {
  if (writerPresent) return { up: true };
  if (!previous.up) return previous;
  const since = previous.missingSince ?? now;
  return now - since >= graceMs ? { up: false } : { up: true, missingSince: since };
}

const RETRYABLE_ERRNOS = new Set([
  1213, // ER_LOCK_DEADLOCK: a Galera certification conflict or a local deadlock
  1047, // ER_UNKNOWN_COM_ERROR: WSREP has not yet prepared node for application use
  1180, // ER_ERROR_DURING_COMMIT (a write set Galera could not replicate: rolled back)
  1205, // ER_LOCK_WAIT_TIMEOUT
  1053, // ER_SERVER_SHUTDOWN
  1927, // ER_CONNECTION_KILLED
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
]);
const CONNECTION_CODES = new Set([
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

interface SqlError {
  code?: string;
  errno?: number;
  fatal?: boolean;
}

/** No answer in time (the member may be busy, or unreachable). */
export function isTimeout(error: unknown): boolean {
  const e = error as SqlError;
  return e?.code === "PROTOCOL_SEQUENCE_TIMEOUT" || e?.code === "ETIMEDOUT";
}

/** The connection (or the member) is gone: try the next writer. */
export function isConnectionError(error: unknown): boolean {
  const e = error as SqlError;
  return e?.fatal === true || (e?.code !== undefined && CONNECTION_CODES.has(e.code));
}

/**
 * Safe to run again: the statement did not take effect, or running it twice has the
 * effect of once (every statement of this app is written so: sessions are upserts,
 * plays carry a request id).
 */
export function isRetryable(error: unknown): boolean {
  const e = error as SqlError & { message?: string };
  return (
    isConnectionError(error) ||
    (e?.errno !== undefined && RETRYABLE_ERRNOS.has(e.errno)) ||
    // The replication layer refused the statement (it was not applied), whatever the
    // code: e.g. "Error while appending streaming replication fragment (provider
    // status: Not connected to Primary Component)" from a member leaving the component.
    /not connected to primary component|WSREP has not yet prepared/i.test(e?.message ?? "")
  );
}

export interface MemberPoolOptions {
  hosts: readonly string[];
  port: number;
  user: string;
  password: string;
  database: string;
  /** Connections per member for requests. */
  connectionLimit?: number;
  /** How long a query keeps being retried, in ms. */
  retryWindowMs?: number;
  /** A single query's timeout, in ms (the connection is dropped after it). */
  queryTimeoutMs?: number;
  log?: (line: string) => void;
}

interface Member {
  status: MemberStatus;
  pool: mysql.Pool;
  probe: mysql.Pool;
  probing: boolean;
  /** Probes in a row that got no answer in time (a busy member, or one cut off). */
  misses: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class MemberPool {
  readonly members: Member[];
  private writerIndex = -1;
  private timer?: NodeJS.Timeout;
  /** Writer changes since start. */
  failovers = 0;
  /** Statements run again after a retryable error. */
  retries = 0;
  private readonly log: (line: string) => void;
  private readonly retryWindowMs: number;
  private readonly queryTimeoutMs: number;

  constructor(options: MemberPoolOptions) {
    if (options.hosts.length === 0) throw new Error("at least one database host is required");
    this.log = options.log ?? (() => {});
    // Attempts of 2 s within 4.5 s, under the 5 s a client waits: a query stuck on a
    // member cut off the network is abandoned and retried on the new writer (the probe
    // has moved it by then), and the cluster-wide pause of commits until a dead member
    // is evicted (evs.suspect_timeout 3 s plus a check period) is outlasted by a retry.
    this.retryWindowMs = options.retryWindowMs ?? 4500;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 2000;
    const pool = (host: string, connectionLimit: number, connectTimeout: number) =>
      mysql.createPool({
        host,
        port: options.port,
        user: options.user,
        password: options.password,
        database: options.database,
        connectionLimit,
        connectTimeout,
        waitForConnections: true,
        queueLimit: 100,
        enableKeepAlive: true,
      });
    this.members = options.hosts.map((host) => ({
      status: {
        host,
        reachable: false,
        galera: false,
        cluster: "",
        state: "",
        ready: false,
        since: Date.now(),
      },
      pool: pool(host, options.connectionLimit ?? 10, 1000),
      probe: pool(host, 1, 1000),
      probing: false,
      misses: 0,
    }));
  }

  /** Probe every member now and then once a second. */
  start(intervalMs = 1000): void {
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), intervalMs);
    this.timer.unref();
  }

  /** The writer's host, or undefined when no member is usable. */
  get writer(): string | undefined {
    return this.members[this.writerIndex]?.status.host;
  }

  statuses(): (MemberStatus & { writer: boolean })[] {
    return this.members.map((m, i) => ({ ...m.status, writer: i === this.writerIndex }));
  }

  async probeAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.probe(m)));
    this.elect();
  }

  private async probe(m: Member): Promise<void> {
    if (m.probing) return;
    m.probing = true;
    const before = usable(m.status);
    try {
      const [rows] = await m.probe.promise().query<mysql.RowDataPacket[]>({
        sql: `SELECT @@wsrep_on AS galera,
                (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_STATUS') AS cluster,
                (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT') AS state,
                (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY') AS ready`,
        timeout: 1000,
      });
      const row = rows[0] ?? {};
      Object.assign(m.status, {
        reachable: true,
        galera: Number(row.galera) === 1,
        cluster: String(row.cluster ?? ""),
        state: String(row.state ?? ""),
        ready: row.ready === "ON",
        error: undefined,
      });
      m.misses = 0;
    } catch (error) {
      m.misses++;
      // Refused or reset: the member is down, now. A probe that only took too long (a
      // starved CPU) counts once it happens twice in a row.
      if (!isTimeout(error) || m.misses >= 2) {
        Object.assign(m.status, { reachable: false, cluster: "", state: "", ready: false });
        m.status.error = (error as Error).message;
      }
    } finally {
      m.probing = false;
    }
    if (usable(m.status) !== before) {
      m.status.since = Date.now();
      const s = m.status;
      this.log(
        `database member ${s.host}: ${usable(s) ? "usable" : "not usable"} (${s.reachable ? `${s.cluster || "single"} ${s.state}`.trim() : `unreachable: ${s.error}`})`,
      );
    }
  }

  private elect(): void {
    const next = chooseWriter(this.members.map((m) => m.status));
    if (next === this.writerIndex) return;
    const from = this.members[this.writerIndex]?.status.host ?? "none";
    const to = this.members[next]?.status.host ?? "none";
    if (this.writerIndex !== -1 && next !== -1) this.failovers++;
    this.writerIndex = next;
    this.log(`database writer: ${from} -> ${to}`);
  }

  /** A member lost its connection under a query: not usable until a probe says otherwise. */
  private markDown(index: number, error: unknown): void {
    const m = this.members[index];
    if (!m?.status.reachable) return;
    Object.assign(m.status, { reachable: false, ready: false, since: Date.now() });
    m.status.error = (error as Error).message;
    this.log(`database member ${m.status.host}: connection lost under a query (${m.status.error})`);
    this.elect();
  }

  private async writerWithin(deadline: number): Promise<number> {
    while (this.writerIndex === -1) {
      if (Date.now() >= deadline)
        throw Object.assign(new Error("no database member is usable"), { code: "NO_WRITER" });
      await sleep(100);
    }
    return this.writerIndex;
  }

  /** Runs one statement on the writer, retried as the module comment says. */
  async query<T extends QueryResult = QueryResult>(
    sql: string,
    params?: unknown,
  ): Promise<[T, FieldPacket[]]> {
    const deadline = Date.now() + this.retryWindowMs;
    for (let attempt = 0; ; attempt++) {
      const index = await this.writerWithin(deadline);
      try {
        return await this.members[index].pool
          .promise()
          .query<T>({ sql, timeout: this.queryTimeoutMs }, params as never);
      } catch (error) {
        if (!isRetryable(error) || Date.now() >= deadline) throw error;
        this.retries++;
        // A lost connection: that member is gone, move now. A query timeout alone is
        // not: the whole cluster pauses commits until a dead member is evicted (a few
        // seconds), and moving the writer then only spreads writes over members; it
        // counts when that member's probe went unanswered too (cut off the network).
        if (isConnectionError(error) && (!isTimeout(error) || this.members[index].misses > 0))
          this.markDown(index, error);
        await sleep(Math.min(25 * 2 ** attempt, 400));
      }
    }
  }

  /** A connection of the writer's own (migrations), waiting up to the retry window. */
  async connection(): Promise<PoolConnection> {
    const index = await this.writerWithin(Date.now() + this.retryWindowMs);
    return this.members[index].pool.promise().getConnection();
  }

  /** What express-mysql-session calls: `query(sql, params)` returning [rows, fields]. */
  storeConnection(): {
    query: (sql: string, params?: unknown) => Promise<unknown>;
    end: () => Promise<void>;
  } {
    return { query: (sql, params) => this.query(sql, params), end: () => this.end() };
  }

  async end(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.members.flatMap((m) => [m.pool.promise().end(), m.probe.promise().end()]));
  }
}
