// Entry point: configuration, migrations, the HTTP server and a graceful stop.
// On SIGTERM: readiness fails, the Consul registration is removed, the server stops
// accepting connections, in-flight requests finish (up to WEBAPP_DRAIN_SECONDS), exit 0.
import type { Server } from "node:http";
import { type AppState, createApp } from "./app";
import { ConfigError, loadConfig, type WebappConfig } from "./config";
import { createMembers, migrate } from "./db";
import { type MemberPool, nextReadiness, type Readiness } from "./members";
import { createMetrics, serveMetrics } from "./metrics";

const log = (line: string): void => console.log(line);

async function migrateUntilDone(config: WebappConfig, members: MemberPool, state: AppState) {
  for (let attempt = 1; !state.draining; attempt++) {
    try {
      const applied = await migrate(() => members.connection(), log);
      state.migrated = true;
      log(`schema up to date (${applied.length} migration(s) applied by this replica)`);
      return;
    } catch (error) {
      const delay = Math.min(500 * attempt, 5000);
      log(
        `database ${config.mysql.hosts.join(",")}:${config.mysql.port} not usable yet (${(error as Error).message}); retry in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function deregister(config: WebappConfig): Promise<void> {
  const url = `${config.consul.httpAddr}/v1/agent/service/deregister/${encodeURIComponent(config.consul.serviceId)}`;
  try {
    const res = await fetch(url, { method: "PUT", signal: AbortSignal.timeout(1000) });
    log(`consul: deregistered ${config.consul.serviceId} (HTTP ${res.status})`);
  } catch (error) {
    log(`consul: could not deregister ${config.consul.serviceId}: ${(error as Error).message}`);
  }
}

function drain(server: Server, config: WebappConfig, members: MemberPool, state: AppState) {
  if (state.draining) return;
  state.draining = true;
  const started = Date.now();
  log(`SIGTERM: draining (readiness fails, up to ${config.drainMs} ms for in-flight requests)`);
  const deadline = setTimeout(() => {
    log("drain deadline reached: closing remaining connections");
    server.closeAllConnections();
  }, config.drainMs);
  deadline.unref();
  void deregister(config).finally(() => {
    // Stops accepting, closes idle keep-alive connections, waits for in-flight requests.
    // Keep-alive connections turn idle as their last response goes out: close them then.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      void members.end().finally(() => {
        log(`drained in ${Date.now() - started} ms; exiting`);
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  });
}

/** Longer than the query retry window (4.5 s): a writer change never fails readiness. */
const READINESS_GRACE_MS = 5000;

function main(): void {
  let config: WebappConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`webapp: configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const state: AppState = { migrated: false, draining: false, databaseUp: false };
  // Every member is probed once a second on a connection of its own, never queued
  // behind requests; readiness follows "some member is usable".
  const members = createMembers(config, log);
  members.start();
  // Readiness rides out a writer change (nextReadiness): longer than the query retries.
  let readiness: Readiness = { up: false };
  const watch = setInterval(() => {
    const before = readiness;
    readiness = nextReadiness(before, members.writer !== undefined, Date.now(), READINESS_GRACE_MS);
    if (readiness.up !== before.up) log(`database ${readiness.up ? "reachable" : "unreachable"}`);
    else if (readiness.missingSince !== undefined && before.missingSince === undefined)
      log(`database: no usable member; still ready for ${READINESS_GRACE_MS} ms`);
    state.databaseUp = readiness.up;
  }, 250);
  watch.unref();
  const metrics = createMetrics(members, { version: config.version, host: config.host });
  serveMetrics(metrics.registry, config.metricsPort, log).unref();
  const app = createApp(config, members, state, metrics);
  const server = app.listen(config.port, () => {
    log(`listening on :${config.port} as ${config.host}, version ${config.version}`);
  });
  // Longer than HAProxy's idle server connections, so HAProxy closes them first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  process.on("SIGTERM", () => drain(server, config, members, state));
  process.on("SIGINT", () => drain(server, config, members, state));
  void migrateUntilDone(config, members, state);
}

main();
