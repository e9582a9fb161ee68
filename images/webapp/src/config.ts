// The webapp's configuration: environment variables and Docker secret files, validated
// once at start. Every error names the variable or file at fault. No dependencies
// beyond Node itself, so the root test suite can unit-test it.
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";

export interface WebappConfig {
  /** TCP port the HTTP server listens on (WEBAPP_PORT). */
  port: number;
  /** TCP port of the Prometheus endpoint GET /metrics, apart from the app (WEBAPP_METRICS_PORT). */
  metricsPort: number;
  /** The name this container reports as the serving host. */
  host: string;
  /** Image version shown by GET / (FLOTILLA_VERSION). */
  version: string;
  /** Longest wait for in-flight requests after SIGTERM, in milliseconds (WEBAPP_DRAIN_SECONDS). */
  drainMs: number;
  mysql: {
    /** The first of `hosts` (a single server's name). */
    host: string;
    /** Every database member, in the order that picks the writer (MYSQL_HOSTS, else MYSQL_HOST). */
    hosts: string[];
    port: number;
    database: string;
    user: string;
    password: string;
  };
  /** Key that signs session cookies: the same on every replica. */
  sessionSecret: string;
  /** Consul service name and this replica's service id (deregistered on SIGTERM). */
  consul: { httpAddr: string; service: string; serviceId: string };
  /** Serve GET /slow?ms=N (for drain tests); off unless WEBAPP_DEBUG_ENDPOINTS=1. */
  debugEndpoints: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;
type ReadFile = (path: string) => string | undefined;

/** Reads a file, or undefined when it does not exist (any other error is thrown). */
export function readOptionalFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function text(env: Env, key: string, fallback?: string): string {
  const value = env[key]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${key} is required`);
}

function integer(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${key} must be a whole number from ${min} to ${max}, not '${raw}'`);
  }
  return Number(raw);
}

function name(env: Env, key: string, fallback?: string): string {
  const value = text(env, key, fallback);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new ConfigError(`${key} must be 1-64 letters, digits, '_' or '-', not '${value}'`);
  }
  return value;
}

/** MYSQL_HOSTS (comma-separated, the Galera members in order) or else MYSQL_HOST. */
function hosts(env: Env): string[] {
  const raw = env.MYSQL_HOSTS?.trim();
  if (!raw) return [text(env, "MYSQL_HOST")];
  const list = raw.split(",").map((h) => h.trim());
  const bad = list.find((h) => !/^[A-Za-z0-9._-]{1,253}$/.test(h));
  if (bad !== undefined || new Set(list).size !== list.length) {
    throw new ConfigError(`MYSQL_HOSTS must be a comma-separated list of distinct host names, not '${raw}'`);
  }
  return list;
}

/** Builds the configuration from the environment and the secret files; throws ConfigError. */
export function loadConfig(env: Env = process.env, readFile: ReadFile = readOptionalFile): WebappConfig {
  const secretsDir = text(env, "WEBAPP_SECRETS_DIR", "/run/secrets");
  const passwordFile = `${secretsDir}/mysql_password`;
  const password = readFile(passwordFile)?.replace(/\r?\n$/, "");
  if (!password) throw new ConfigError(`secret ${passwordFile} (mysql_password) is missing or empty`);

  // Session cookies must verify on every replica: an explicit secret when given,
  // otherwise a key derived from the shared database password (never the password itself).
  const sessionFile = `${secretsDir}/webapp_session_secret`;
  const explicit = readFile(sessionFile)?.trim();
  const sessionSecret =
    explicit ||
    Buffer.from(hkdfSync("sha256", password, "flotilla", "webapp session cookie key", 32)).toString("hex");

  const host = text(env, "WEBAPP_HOSTNAME", os.hostname());
  const service = name(env, "WEBAPP_SERVICE", "webapp");
  const mysqlHosts = hosts(env);
  const port = integer(env, "WEBAPP_PORT", 8080, 1, 65535);
  const metricsPort = integer(env, "WEBAPP_METRICS_PORT", 9100, 1, 65535);
  if (metricsPort === port) {
    throw new ConfigError(`WEBAPP_METRICS_PORT must differ from WEBAPP_PORT (both ${port})`);
  }
  return {
    port,
    metricsPort,
    host,
    version: text(env, "FLOTILLA_VERSION", "0.0.0-dev"),
    drainMs: integer(env, "WEBAPP_DRAIN_SECONDS", 10, 0, 3600) * 1000,
    mysql: {
      host: mysqlHosts[0],
      hosts: mysqlHosts,
      port: integer(env, "MYSQL_PORT", 3306, 1, 65535),
      database: name(env, "MYSQL_DATABASE"),
      user: name(env, "MYSQL_USER"),
      password,
    },
    sessionSecret,
    consul: {
      httpAddr: text(env, "CONSUL_HTTP_ADDR", "http://127.0.0.1:8500").replace(/\/+$/, ""),
      service,
      serviceId: `${service}-${host}`,
    },
    debugEndpoints: env.WEBAPP_DEBUG_ENDPOINTS === "1",
  };
}
