// Pure analysis of the benchmark's points: per target and path, saturation throughput and
// latency per offered rate (histograms merged over the rounds), and the ratios the issue
// sets goals for. No I/O.
import { type Histogram, type Latency, latencyMs, mergeHistograms } from "./wrk";

export const TARGETS = ["direct", "flotilla", "bare"] as const;
export type Target = (typeof TARGETS)[number];
export const PATHS = { healthz: "/healthz", root: "/" } as const;
export type PathKey = keyof typeof PATHS;

/** One measured point: a target, a path, closed loop (saturation) or open loop at a rate. */
export interface Point {
  round: number;
  path: PathKey;
  target: Target;
  mode: "saturation" | "fixed";
  /** Fixed rate: fraction of this target's saturation in the same round ("ref" points: of Flotilla's). */
  fraction?: number;
  /** Fixed rate at Flotilla's 50 % rate, for the added-latency comparison at equal load. */
  reference?: boolean;
  /** Offered requests/s (fixed rate only). */
  offered?: number;
  /** Achieved responses/s. */
  rps: number;
  requests: number;
  errors: number;
  /** Requests timed from their intended send time because their connection was late. */
  behind: number;
  seconds: number;
  latency: Latency;
  /** Not serialised: merged across rounds by summarise(). */
  hist?: Histogram;
}

export interface RateSummary {
  fraction: number;
  offered: number;
  rps: number;
  errors: number;
  latency: Latency;
}

export interface TargetSummary {
  saturation: { rps: number; perRound: number[]; errors: number; latency: Latency };
  rates: RateSummary[];
  /** At Flotilla's 50 % rate (direct and bare only; for Flotilla this is its own 50 % point). */
  atFlotilla50?: RateSummary;
}

export interface Goal {
  name: string;
  value: number;
  goal: string;
  met: boolean;
}

export interface PathSummary {
  path: string;
  targets: Record<Target, TargetSummary>;
  ratios: {
    flotillaOverDirect: number;
    flotillaOverBare: number;
    bareOverDirect: number;
    /** p50 at Flotilla's 50 % rate, Flotilla minus direct (ms). */
    addedP50VsDirectMs: number;
    /** p50 at Flotilla's 50 % rate, Flotilla minus bare HAProxy (ms). */
    addedP50VsBareMs: number;
  };
  goals: Goal[];
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;

function rateSummary(points: Point[], fraction: number): RateSummary {
  const hist = mergeHistograms(points.map((p) => p.hist ?? []));
  return {
    fraction,
    offered: r1(mean(points.map((p) => p.offered ?? 0))),
    rps: r1(mean(points.map((p) => p.rps))),
    errors: points.reduce((s, p) => s + p.errors, 0),
    // Merged histograms when present; else (points read back from JSON) the mean of the rounds.
    latency: hist.length ? latencyMs(hist) : meanLatency(points.map((p) => p.latency)),
  };
}

function meanLatency(ls: Latency[]): Latency {
  const f = (k: keyof Latency) => r3(mean(ls.map((l) => l[k])));
  return {
    p50: f("p50"),
    p90: f("p90"),
    p99: f("p99"),
    p999: f("p999"),
    max: r3(Math.max(...ls.map((l) => l.max))),
  };
}

/** Goals of issue 14 for one path: throughput vs direct, within 1.3× of bare, added p50 ≤ 0.2 ms at 50 %. */
export function goalsFor(path: PathKey, ratios: PathSummary["ratios"]): Goal[] {
  const vsDirect = path === "root" ? 0.85 : 0.6;
  return [
    {
      name: "throughput flotilla/direct",
      value: ratios.flotillaOverDirect,
      goal: `≥ ${vsDirect}`,
      met: ratios.flotillaOverDirect >= vsDirect,
    },
    {
      name: "throughput bare/flotilla",
      value: r3(1 / ratios.flotillaOverBare),
      goal: "≤ 1.3",
      met: 1 / ratios.flotillaOverBare <= 1.3,
    },
    {
      name: "added p50 at 50 % (ms, vs direct)",
      value: ratios.addedP50VsDirectMs,
      goal: "≤ 0.2",
      met: ratios.addedP50VsDirectMs <= 0.2,
    },
  ];
}

/** Summarise the points of one path (all rounds). Throws when a target has no saturation point. */
export function summarisePath(points: readonly Point[], path: PathKey): PathSummary {
  const mine = points.filter((p) => p.path === path);
  const targets = {} as Record<Target, TargetSummary>;
  for (const t of TARGETS) {
    const sat = mine.filter((p) => p.target === t && p.mode === "saturation");
    if (sat.length === 0) throw new Error(`no saturation point for ${t} on ${PATHS[path]}`);
    const satHist = mergeHistograms(sat.map((p) => p.hist ?? []));
    const fixed = mine.filter((p) => p.target === t && p.mode === "fixed" && !p.reference);
    const fractions = [...new Set(fixed.map((p) => p.fraction ?? 0))].sort((a, b) => a - b);
    const ref = mine.filter((p) => p.target === t && p.reference);
    targets[t] = {
      saturation: {
        rps: r1(mean(sat.map((p) => p.rps))),
        perRound: sat.map((p) => r1(p.rps)),
        errors: sat.reduce((s, p) => s + p.errors, 0),
        latency: satHist.length ? latencyMs(satHist) : meanLatency(sat.map((p) => p.latency)),
      },
      rates: fractions.map((f) =>
        rateSummary(
          fixed.filter((p) => p.fraction === f),
          f,
        ),
      ),
      ...(ref.length ? { atFlotilla50: rateSummary(ref, 0.5) } : {}),
    };
  }
  const sat = (t: Target) => targets[t].saturation.rps;
  const p50At50 = (t: Target): number => {
    if (t === "flotilla")
      return targets.flotilla.rates.find((r) => r.fraction === 0.5)?.latency.p50 ?? Number.NaN;
    return targets[t].atFlotilla50?.latency.p50 ?? Number.NaN;
  };
  const ratios = {
    flotillaOverDirect: r3(sat("flotilla") / sat("direct")),
    flotillaOverBare: r3(sat("flotilla") / sat("bare")),
    bareOverDirect: r3(sat("bare") / sat("direct")),
    addedP50VsDirectMs: r3(p50At50("flotilla") - p50At50("direct")),
    addedP50VsBareMs: r3(p50At50("flotilla") - p50At50("bare")),
  };
  return { path: PATHS[path], targets, ratios, goals: goalsFor(path, ratios) };
}
