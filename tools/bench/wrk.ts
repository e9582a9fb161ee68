// Pure helpers of the benchmark: parse what tools/bench/lua/{closed,open}.lua print at the
// end of a wrk run, merge latency histograms, and compute percentiles. No I/O.

/** A latency histogram: [microseconds, count] pairs, ascending by microseconds. */
export type Histogram = [number, number][];

export interface WrkRun {
  /** Wall time of the run, seconds. */
  seconds: number;
  /** Responses received (any status). */
  requests: number;
  /** Responses with a 2xx/3xx status. */
  ok: number;
  /** Connect/read/write errors, timeouts and 4xx/5xx responses. */
  errors: number;
  /** Open loop only: requests timed from their intended send time (their connection was late). */
  behind: number;
  hist: Histogram;
}

/** Parse the `BENCH summary` and `BENCH hist` lines of one wrk run; throws when they are missing. */
export function parseWrk(output: string): WrkRun {
  const summary = /^BENCH summary (.*)$/m.exec(output);
  const histLine = /^BENCH hist ?(.*)$/m.exec(output);
  if (!summary || !histLine)
    throw new Error(
      `wrk output has no BENCH summary/hist lines (did the script run?):\n${output.slice(0, 500)}`,
    );
  const f: Record<string, number> = {};
  for (const kv of summary[1].trim().split(/\s+/)) {
    const [k, v] = kv.split("=");
    const n = Number(v);
    if (!k || !Number.isFinite(n)) throw new Error(`wrk summary: cannot read '${kv}'`);
    f[k] = n;
  }
  for (const k of ["duration_us", "requests", "connect", "read", "write", "status", "timeout"])
    if (f[k] === undefined) throw new Error(`wrk summary: missing '${k}' in '${summary[1]}'`);
  const hist: Histogram = [];
  const body = histLine[1].trim();
  if (body)
    for (const pair of body.split(",")) {
      const [us, count] = pair.split(":").map(Number);
      if (!Number.isFinite(us) || !Number.isFinite(count) || count < 0)
        throw new Error(`wrk histogram: cannot read '${pair}'`);
      hist.push([us, count]);
    }
  hist.sort((a, b) => a[0] - b[0]);
  const socketErrors = f.connect + f.read + f.write + f.timeout;
  // closed.lua: wrk's status errors are 4xx/5xx; open.lua counts ok/bad itself.
  const ok = f.ok ?? f.requests - f.status;
  const bad = f.bad ?? f.status;
  return {
    seconds: f.duration_us / 1e6,
    requests: f.requests,
    ok,
    errors: socketErrors + bad,
    behind: f.behind ?? 0,
    hist,
  };
}

/** One histogram from several (the two wrk processes aimed at the two replicas). */
export function mergeHistograms(hists: readonly Histogram[]): Histogram {
  const m = new Map<number, number>();
  for (const h of hists) for (const [us, c] of h) m.set(us, (m.get(us) ?? 0) + c);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

/** Several concurrent runs (same time window) as one: requests add up, the duration is the longest. */
export function mergeRuns(runs: readonly WrkRun[]): WrkRun {
  if (runs.length === 0) throw new Error("mergeRuns: no runs");
  return {
    seconds: Math.max(...runs.map((r) => r.seconds)),
    requests: runs.reduce((s, r) => s + r.requests, 0),
    ok: runs.reduce((s, r) => s + r.ok, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    behind: runs.reduce((s, r) => s + r.behind, 0),
    hist: mergeHistograms(runs.map((r) => r.hist)),
  };
}

/** The p-th percentile (0 < p ≤ 100) of a histogram, in microseconds: the smallest value with ≥ p % at or below it. */
export function percentile(hist: Histogram, p: number): number {
  if (!(p > 0 && p <= 100)) throw new Error(`percentile: expected 0 < p <= 100, got ${p}`);
  const total = hist.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const [us, c] of hist) {
    seen += c;
    if (seen >= rank) return us;
  }
  return hist[hist.length - 1][0];
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** p50/p90/p99/p99.9/max of a histogram, in milliseconds (3 decimals). */
export function latencyMs(hist: Histogram): Latency {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    p50: ms(percentile(hist, 50)),
    p90: ms(percentile(hist, 90)),
    p99: ms(percentile(hist, 99)),
    p999: ms(percentile(hist, 99.9)),
    max: hist.length ? ms(hist[hist.length - 1][0]) : Number.NaN,
  };
}

/**
 * How to spread a fixed total rate over open-loop connections: one wrk thread per
 * connection, at most `perConnection` requests/s each (so a connection is idle most of the
 * time and a late answer delays few requests), between `min` and `max` connections.
 */
export function openLoopPlan(
  rate: number,
  opts: { perConnection?: number; min?: number; max?: number } = {},
): { connections: number; ratePerConnection: number } {
  if (!(rate > 0)) throw new Error(`open loop: expected a rate > 0 requests/s, got ${rate}`);
  const per = opts.perConnection ?? 50;
  const connections = Math.min(opts.max ?? 64, Math.max(opts.min ?? 4, Math.ceil(rate / per)));
  return { connections, ratePerConnection: rate / connections };
}
