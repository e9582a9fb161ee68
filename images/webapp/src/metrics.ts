// Prometheus metrics (prom-client) and the access log: one registry per process with
// Node's default process metrics, the HTTP requests by method/route/status with their
// latency, and the database members as this replica sees them. Served on a port of its
// own (WEBAPP_METRICS_PORT, default 9100) that HAProxy never routes to (docs/images.md).
import { createServer, type Server } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type MemberPool, usable } from "./members";

/** Seconds: from a fast session read (a few ms) to the 5 s a client waits. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Bounded label values: a known method or "other". */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : "other";
}

/** The matched route's pattern ("/play"), never the raw path: unmatched paths are one series. */
export function routeLabel(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === "string" ? `${req.baseUrl}${path}` : "unmatched";
}

export interface Metrics {
  registry: Registry;
  /** Express middleware: counts and times every request, writes its access log line. */
  middleware: (req: Request, res: Response, next: NextFunction) => void;
}

/** One JSON line per request (probes that pass are left out: they come every second). */
export interface AccessLine {
  time: string;
  type: "access";
  method: string;
  path: string;
  route: string;
  status: number;
  ms: number;
  bytes: number;
  remote: string | undefined;
  proto: string;
  ua?: string;
  aborted?: true;
}

const PROBES = new Set(["/healthz", "/readyz"]);

export function createMetrics(
  members: MemberPool,
  info: { version: string; host: string },
  write: (line: string) => void = (line) => process.stdout.write(line),
): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: "flotilla_webapp_info",
    help: "This replica's version and host (always 1).",
    labelNames: ["version", "host"],
    registers: [registry],
  }).set({ version: info.version, host: info.host }, 1);

  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, matched route and status code.",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from the request's arrival to the last byte of its answer, in seconds.",
    labelNames: ["method", "route", "status"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: "http_requests_in_flight",
    help: "Requests being answered now.",
    registers: [registry],
  });

  // The database members, read at scrape time from the pool's state (no extra queries).
  const memberGauge = (
    name: string,
    help: string,
    value: (m: ReturnType<MemberPool["statuses"]>[number]) => boolean,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["member", "cluster", "state"],
      registers: [registry],
      collect() {
        this.reset();
        for (const m of members.statuses()) {
          this.set({ member: m.host, cluster: m.cluster, state: m.state }, value(m) ? 1 : 0);
        }
      },
    });
  memberGauge("flotilla_db_member_up", "The member answers its probe (once a second).", (m) => m.reachable);
  memberGauge(
    "flotilla_db_member_usable",
    "The member is Synced in the primary component (or a reachable single server).",
    usable,
  );
  memberGauge("flotilla_db_member_writer", "The member this replica sends its queries to.", (m) => m.writer);
  new Gauge({
    name: "flotilla_db_members_usable",
    help: "Database members that may take queries now.",
    registers: [registry],
    collect() {
      this.set(members.statuses().filter(usable).length);
    },
  });
  new Counter({
    name: "flotilla_db_failovers_total",
    help: "Writer changes from one member to another.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(members.failovers);
    },
  });
  new Counter({
    name: "flotilla_db_retries_total",
    help: "Statements run again after a lost connection, a deadlock or WSREP not ready.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(members.retries);
    },
  });

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    inFlight.inc();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight.dec();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const aborted = !res.writableFinished;
      const status = aborted && !res.headersSent ? 499 : res.statusCode;
      const labels = { method: methodLabel(req.method), route: routeLabel(req), status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      const path = req.path.slice(0, 256);
      if (PROBES.has(path) && status < 400) return;
      const ua = req.get("user-agent");
      const line: AccessLine = {
        time: new Date().toISOString(),
        type: "access",
        method: req.method,
        path,
        route: labels.route,
        status,
        ms: Math.round(seconds * 10_000) / 10,
        bytes: Number(res.getHeader("content-length")) || 0,
        remote: req.ip,
        proto: req.protocol,
        ...(ua ? { ua: ua.slice(0, 200) } : {}),
        ...(aborted ? { aborted: true as const } : {}),
      };
      write(`${JSON.stringify(line)}\n`);
    };
    res.on("finish", finish);
    res.on("close", finish);
    next();
  };

  return { registry, middleware };
}

/** GET /metrics on `port` (all interfaces: Prometheus scrapes over the overlay network). */
export function serveMetrics(registry: Registry, port: number, log: (line: string) => void): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res
          .writeHead(200, { "content-type": registry.contentType })
          .end(req.method === "HEAD" ? undefined : text);
      },
      (error: Error) => {
        log(`metrics: ${error.message}`);
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics failed\n");
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, () => log(`metrics on :${port}/metrics`));
  return server;
}
