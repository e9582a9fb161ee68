// The one load generator: an open loop at a fixed rate from this process to a 127.0.0.1
// target, recording a Jepsen-style history (each request's start, end, outcome, status,
// latency) that a checker reads afterwards, and a summary (sent/ok/failed/unknown,
// p50/p95/p99). Each request on a fresh connection (an independent client; the default)
// or over a few keep-alive connections; HTTP, or HTTPS verified against a CA.
import { writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { type Answer, type RequestOptions, request } from "./https";

/**
 * `ok`: a 2xx answer. `failed`: certainly not served: an answer with another status, or
 * no connection. `unknown`: the request was sent but no answer came (a timeout or a reset
 * after sending): the server may or may not have acted on it.
 */
export type Outcome = "ok" | "failed" | "unknown";

export interface Operation {
  /** 0, 1, …: the order the requests were scheduled in. */
  seq: number;
  /** When it was sent and when it ended, in ms since the load started. */
  start: number;
  end: number;
  outcome: Outcome;
  /** The answer's status (none when no answer came). */
  status?: number;
  latencyMs: number;
  /** Why it was not ok: the error, or the status and the start of the body. */
  error?: string;
  /** The webapp's `host` (which replica answered), when the body is its JSON. */
  host?: string;
  /** HTTPS: the fingerprint of the certificate served. */
  fingerprint?: string;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  failed: number;
  unknown: number;
  /** Latency of the ok requests, ms. */
  p50: number;
  p95: number;
  p99: number;
  seconds: number;
  /** One line per request that was not ok (`1234 ms: unknown: socket hang up`). */
  failures: string[];
  /** Ok answers per replica (`host`) and per certificate fingerprint. */
  hosts: Record<string, number>;
  fingerprints: Record<string, number>;
}

export interface LoadResult {
  history: Operation[];
  summary: LoadSummary;
}

export interface LoadOptions {
  /** `http://127.0.0.1:PORT/...` or `https://127.0.0.1:PORT/...`: nothing else is loaded. */
  url: string;
  /** Requests per second, sent on schedule whatever the answers (an open loop); at most 2000. */
  rate: number;
  /** Stop scheduling after this long (at most 600 s); without it, run until `stop()` (600 s at most). */
  seconds?: number;
  /** `fresh` (default): a new connection per request; `keep-alive`: reuse up to `connections`. */
  connection?: "fresh" | "keep-alive";
  /** Keep-alive connections; default 4. */
  connections?: number;
  /** Per request; default 5 s. */
  timeoutMs?: number;
  ca?: string;
  insecure?: boolean;
  headers?: Record<string, string>;
  /** Runs once, `afterMs` into the load (a fault to inject); awaited before the result. */
  during?: { afterMs: number; action: () => Promise<unknown> };
}

export interface RunningLoad {
  /** Stop scheduling; resolves when every request sent has ended. */
  stop(): Promise<LoadResult>;
  /** Resolves when the load ends by itself (`seconds`) or is stopped. */
  done: Promise<LoadResult>;
  /** The history so far (ended requests only). */
  readonly history: readonly Operation[];
}

const MAX_SECONDS = 600;

/** The p-th percentile (nearest rank) of ascending numbers; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** What a history amounts to. */
export function summarise(history: readonly Operation[], seconds: number): LoadSummary {
  const ok = history.filter((o) => o.outcome === "ok");
  const latencies = ok.map((o) => o.latencyMs).sort((a, b) => a - b);
  const count = (key: "host" | "fingerprint") => {
    const out: Record<string, number> = {};
    for (const o of ok) if (o[key]) out[o[key]] = (out[o[key]] ?? 0) + 1;
    return out;
  };
  return {
    sent: history.length,
    ok: ok.length,
    failed: history.filter((o) => o.outcome === "failed").length,
    unknown: history.filter((o) => o.outcome === "unknown").length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    seconds,
    failures: history
      .filter((o) => o.outcome !== "ok")
      .map((o) => `${Math.round(o.start)} ms: ${o.outcome}: ${o.error ?? `HTTP ${o.status}`}`),
    hosts: count("host"),
    fingerprints: count("fingerprint"),
  };
}

/** Keep a history as an artifact (JSON), e.g. under test/artifacts when a check fails. */
export function writeHistory(file: string, result: LoadResult): void {
  writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
}

function checkTarget(o: LoadOptions): void {
  const u = new URL(o.url);
  if (u.hostname !== "127.0.0.1" || !/^https?:$/.test(u.protocol))
    throw new Error(`load: url must be http(s)://127.0.0.1:PORT/…, got '${o.url}'`);
  if (!(o.rate > 0 && o.rate <= 2000))
    throw new Error(`load: rate must be 1 to 2000 per second, got ${o.rate}`);
  if (o.seconds !== undefined && !(o.seconds > 0 && o.seconds <= MAX_SECONDS))
    throw new Error(`load: seconds must be above 0 and at most ${MAX_SECONDS}, got ${o.seconds}`);
}

/** The webapp's JSON names the replica that answered. */
function hostOf(a: Answer): string | undefined {
  if (!a.body.startsWith("{")) return undefined;
  try {
    const host = (JSON.parse(a.body) as { host?: unknown }).host;
    return typeof host === "string" ? host : undefined;
  } catch {
    return undefined;
  }
}

/** Was the request written before it failed? Then its fate is unknown (Jepsen's `info`). */
function sentBeforeFailing(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return !["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND"].includes(code);
}

/** Start the load now; it runs in this process's event loop beside the test. */
export function startLoad(o: LoadOptions): RunningLoad {
  checkTarget(o);
  const secure = o.url.startsWith("https:");
  const agent =
    o.connection === "keep-alive"
      ? new (secure ? https : http).Agent({
          keepAlive: true,
          maxSockets: o.connections ?? 4,
          ...(secure ? { ca: o.ca, rejectUnauthorized: !o.insecure } : {}),
        })
      : undefined;
  const opts: RequestOptions = {
    ca: o.ca,
    insecure: o.insecure,
    headers: o.headers,
    timeoutMs: o.timeoutMs ?? 5_000,
    agent,
  };
  const history: Operation[] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const total = Math.round(o.rate * (o.seconds ?? MAX_SECONDS));
  let stopped = false;
  let acted: Promise<unknown> | undefined;
  let wake: () => void = () => {};

  const one = (seq: number): Promise<void> => {
    const start = now();
    return request(o.url, opts).then(
      (a) => {
        const end = now();
        const good = a.status >= 200 && a.status < 300;
        history.push({
          seq,
          start,
          end,
          outcome: good ? "ok" : "failed",
          status: a.status,
          latencyMs: end - start,
          ...(good ? {} : { error: `HTTP ${a.status} ${a.body.slice(0, 100)}` }),
          host: hostOf(a),
          fingerprint: a.fingerprint || undefined,
        });
      },
      (err: unknown) => {
        const end = now();
        history.push({
          seq,
          start,
          end,
          outcome: sentBeforeFailing(err) ? "unknown" : "failed",
          latencyMs: end - start,
          error: err instanceof Error ? err.message : String(err),
        });
      },
    );
  };

  const done = (async (): Promise<LoadResult> => {
    for (let seq = 0; seq < total && !stopped; seq++) {
      const due = (seq * 1000) / o.rate;
      // Never early: a timer rounds its delay to whole milliseconds and libuv measures it from
      // the loop's cached clock, so on a busy machine it can fire before `due`; wait again.
      for (let wait = due - now(); wait > 0 && !stopped; wait = due - now())
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.ceil(wait));
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      if (stopped) break;
      if (o.during && !acted && now() >= o.during.afterMs) acted = o.during.action();
      const p = one(seq).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    const seconds = now() / 1000;
    await Promise.all(inFlight);
    await acted;
    agent?.destroy();
    history.sort((a, b) => a.seq - b.seq);
    return { history, summary: summarise(history, seconds) };
  })();

  return {
    history,
    done,
    stop() {
      stopped = true;
      wake();
      return done;
    },
  };
}

/** Run a load for `seconds` (optionally injecting `during`), and return its history and summary. */
export function runLoad(o: LoadOptions & { seconds: number }): Promise<LoadResult> {
  return startLoad(o).done;
}
