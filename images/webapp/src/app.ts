// The HTTP application: routes only. Lifecycle (listen, drain, exit) is in main.ts.
import express, { type NextFunction, type Request, type Response } from "express";
import MySQLStoreFactory from "express-mysql-session";
import session from "express-session";
import type { WebappConfig } from "./config";
import { playOnce } from "./db";
import type { MemberPool } from "./members";
import type { Metrics } from "./metrics";
import { trustProxy } from "./proxy";

declare module "express-session" {
  interface SessionData {
    views: number;
  }
}

export interface AppState {
  /** Schema migrations have completed. */
  migrated: boolean;
  /** SIGTERM received: readiness fails from now on. */
  draining: boolean;
  /** A database member is usable (probed every second, on connections of their own). */
  databaseUp: boolean;
}

const CUSTOMER = /^[A-Za-z0-9._@+-]{1,128}$/;

/** The largest JSON body the app reads (a play is under 200 bytes). */
const BODY_LIMIT = "16kb";

/** The methods each route takes (405 names them for any other). */
const ALLOWED_METHODS: Readonly<Record<string, string>> = {
  "/": "GET, HEAD",
  "/play": "POST",
  "/healthz": "GET, HEAD",
  "/readyz": "GET, HEAD",
};

/** What the client is told for body-parser's errors, by their `type`. */
const CLIENT_ERRORS: Readonly<Record<string, string>> = {
  "entity.parse.failed": "malformed JSON body",
  "entity.too.large": `body larger than ${BODY_LIMIT}`,
  "encoding.unsupported": "unsupported content encoding",
  "charset.unsupported": "unsupported charset",
  "request.aborted": "request aborted",
  "request.size.invalid": "body shorter than its Content-Length",
};

export function createApp(
  config: WebappConfig,
  members: MemberPool,
  state: AppState,
  metrics: Pick<Metrics, "middleware">,
): express.Express {
  const MySQLStore = MySQLStoreFactory(session);
  // The table is created by our migrations, not by the store. The store only calls
  // query(sql, params) and accepts a promise of [rows, fields]: the member pool's, so
  // session reads and writes (upserts, safe to repeat) fail over and retry too.
  type StorePool = ConstructorParameters<typeof MySQLStore>[1];
  const store = new MySQLStore(
    // No touch: every GET / saves the session, which moves its expiry anyway.
    { createDatabaseTable: false, clearExpired: true, disableTouch: true },
    members.storeConnection() as unknown as StorePool,
  );

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // req.protocol and req.ip from HAProxy's X-Forwarded-Proto / X-Forwarded-For (proxy.ts).
  app.set("trust proxy", trustProxy);
  // Counted, timed and logged (one JSON line) from arrival to the last byte.
  app.use(metrics.middleware);
  app.use(express.json({ limit: BODY_LIMIT }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "alive", host: config.host });
  });

  // Answered from the last background ping (see main.ts), so a busy request pool never
  // makes a healthy replica look dead to HAProxy's and Consul's checks.
  app.get("/readyz", (_req, res) => {
    const ready = state.migrated && !state.draining && state.databaseUp;
    const status = state.draining
      ? "draining"
      : !state.migrated
        ? "migrating"
        : ready
          ? "ready"
          : "database unreachable";
    res.status(ready ? 200 : 503).json({ status, host: config.host });
  });

  if (config.debugEndpoints) {
    app.get("/slow", async (req, res) => {
      const ms = Math.min(Number(req.query.ms) || 1000, 30_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      res.json({ host: config.host, sleptMs: ms });
    });
  }

  app.use(
    session({
      name: "flotilla.sid",
      secret: config.sessionSecret,
      store,
      resave: false,
      saveUninitialized: false,
      // Secure when the request came over HTTPS (X-Forwarded-Proto: https from HAProxy):
      // "auto" follows req.secure, which trusts the header from HAProxy only (proxy.ts).
      cookie: { httpOnly: true, sameSite: "lax", secure: "auto", maxAge: 24 * 3600 * 1000 },
    }),
  );

  // The session is saved before the first byte of the answer goes out. (Left to
  // express-session, the body is written first and the response finished after the
  // save: a replica dying in between sends half an answer, which HAProxy cannot retry.)
  app.get("/", (req, res, next) => {
    req.session.views = (req.session.views ?? 0) + 1;
    req.session.save((error) => {
      if (error) return next(error);
      res.json({
        host: config.host,
        version: config.version,
        sessionId: req.sessionID,
        views: req.session.views,
      });
    });
  });

  app.post("/play", async (req, res, next) => {
    try {
      const customer: unknown = req.body?.customer;
      if (typeof customer !== "string" || !CUSTOMER.test(customer)) {
        res.status(400).json({ error: "body must be JSON {customer}: 1-128 letters, digits or ._@+-" });
        return;
      }
      const { created, play } = await playOnce(members, customer, config.host);
      if (created) res.status(201).json(play);
      else res.status(409).json({ error: `${customer} has already played`, ...play });
    } catch (error) {
      next(error);
    }
  });

  // Any other path or method: JSON, never Express's HTML page. A known path with another
  // method is 405 with the methods it takes.
  app.use((req, res) => {
    const allow = ALLOWED_METHODS[req.path];
    if (allow) {
      res
        .set("Allow", allow)
        .status(405)
        .json({ error: `${req.method} is not allowed here; use ${allow}` });
      return;
    }
    res.status(404).json({ error: "no such page" });
  });

  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    const e = error as Error & {
      code?: string;
      errno?: number;
      status?: number;
      expose?: boolean;
      type?: string;
    };
    // The client's mistake (body-parser: malformed JSON 400, a body over the limit 413,
    // an unsupported charset or encoding 415): its 4xx, not a server error.
    if (e.expose && e.status !== undefined && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: CLIENT_ERRORS[e.type ?? ""] ?? "bad request" });
      return;
    }
    console.error(
      `request failed: ${e.message}${e.code ? ` (${e.code}${e.errno ? ` ${e.errno}` : ""})` : ""}`,
    );
    res.status(500).json({ error: "internal error" });
  });

  return app;
}
