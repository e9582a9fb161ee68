// Pure rendering of the benchmark's result: the Markdown report and the Vega-Lite specs of
// the plots (rendered to SVG/PNG by plots.ts). No I/O.
import { PATHS, type PathKey, type PathSummary, type Point, TARGETS, type Target } from "./analysis";

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  loadBefore: string;
  loadAfter: string;
  docker: string;
  haproxy: string;
  images: Record<string, string>;
  commit: string;
  dirty: boolean;
  haproxyImageCommit: string;
}

export interface BenchSettings {
  durationSeconds: number;
  rounds: number;
  fractions: number[];
  connections: number;
  smoke: boolean;
  replicas: number;
  deployment: string;
  /** The webapp ran without a read-only root (a workaround, see docs/bench.md). */
  webappWritableRoot?: boolean;
}

export interface BenchResult {
  date: string;
  settings: BenchSettings;
  machine: Machine;
  paths: Record<PathKey, PathSummary>;
  points: Point[];
  /** `docker stats` CPU % sampled mid-run at saturation, per target and path (round 1). */
  cpu: { path: PathKey; target: Target; containers: Record<string, string> }[];
}

/** A row of test/artifacts/e2e-results.json, with an optional per-second timeline. */
export interface E2eRow {
  scenario: string;
  load: {
    sent: number;
    ok?: number;
    failed: number;
    p50: number;
    p95: number;
    p99: number;
    seconds?: number;
  };
  figure?: string;
  timeline?: { t: number; ok: number; failed: number; p50?: number }[];
}

const TARGET_LABEL: Record<Target, string> = {
  direct: "direct to the replicas",
  flotilla: "Flotilla's HAProxy",
  bare: "bare HAProxy",
};
const pct = (f: number) => `${Math.round(f * 100)} %`;
const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "–");

/** The Markdown report: settings, machine, one table per path, the ratios against the goals, the plots. */
export function renderMarkdown(r: BenchResult, plots: { title: string; file: string }[] = []): string {
  const m = r.machine;
  const s = r.settings;
  const out: string[] = [
    `# Edge benchmark${s.smoke ? " (smoke run: figures are not meaningful)" : ""}`,
    "",
    `${r.date} · ${s.rounds} round(s) × ${s.durationSeconds} s per point, ${s.connections} connections at saturation (wrk, closed loop), ` +
      `open loop at ${s.fractions.map(pct).join(" / ")} of each target's saturation · ${s.replicas} webapp replicas · deployment \`${s.deployment}\``,
    "",
    ...(s.webappWritableRoot
      ? [
          "Workaround: the webapp was deployed without a read-only root (`--webapp-writable-root`, see docs/bench.md).",
          "",
        ]
      : []),
    `Machine: ${m.cpu}, ${m.cores} cores, kernel ${m.kernel}; load average before ${m.loadBefore}, after ${m.loadAfter}; ` +
      `Docker ${m.docker}; ${m.haproxy}; commit ${m.commit.slice(0, 12)}${m.dirty ? " (uncommitted changes)" : ""}; ` +
      `images/haproxy at ${m.haproxyImageCommit}.`,
    "",
    `Images: ${Object.entries(m.images)
      .map(([k, v]) => `${k} \`${v.startsWith("sha256:") ? v.slice(0, 19) : v}\``)
      .join(", ")}.`,
    "",
    "## Ratios and goals",
    "",
    "| path | flotilla/direct | flotilla/bare | bare/direct | added p50 at 50 % vs direct | vs bare | goals |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const key of Object.keys(PATHS) as PathKey[]) {
    const p = r.paths[key];
    if (!p) continue;
    const q = p.ratios;
    out.push(
      `| \`${p.path}\` | ${num(q.flotillaOverDirect, 2)}× | ${num(q.flotillaOverBare, 2)}× | ${num(q.bareOverDirect, 2)}× | ` +
        `${num(q.addedP50VsDirectMs, 3)} ms | ${num(q.addedP50VsBareMs, 3)} ms | ` +
        `${p.goals.map((g) => `${g.met ? "✅" : "❌"} ${g.name} ${num(g.value, g.name.includes("ms") ? 3 : 2)} (${g.goal})`).join("; ")} |`,
    );
  }
  for (const key of Object.keys(PATHS) as PathKey[]) {
    const p = r.paths[key];
    if (!p) continue;
    out.push(
      "",
      `## \`GET ${p.path}\``,
      "",
      "| target | load | offered req/s | achieved req/s | errors | p50 ms | p90 ms | p99 ms | p99.9 ms |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const t of TARGETS) {
      const ts = p.targets[t];
      const sat = ts.saturation;
      out.push(
        `| ${TARGET_LABEL[t]} | saturation (rounds: ${sat.perRound.map((x) => num(x)).join(", ")}) | – | **${num(sat.rps)}** | ${sat.errors} | ` +
          `${num(sat.latency.p50, 2)} | ${num(sat.latency.p90, 2)} | ${num(sat.latency.p99, 2)} | ${num(sat.latency.p999, 2)} |`,
      );
      const rows = [...ts.rates.map((x) => ({ label: pct(x.fraction), x }))];
      if (ts.atFlotilla50) rows.push({ label: "Flotilla's 50 % rate", x: ts.atFlotilla50 });
      for (const { label, x } of rows)
        out.push(
          `| ${TARGET_LABEL[t]} | ${label} | ${num(x.offered)} | ${num(x.rps)} | ${x.errors} | ` +
            `${num(x.latency.p50, 2)} | ${num(x.latency.p90, 2)} | ${num(x.latency.p99, 2)} | ${num(x.latency.p999, 2)} |`,
        );
    }
  }
  if (r.cpu.length) {
    out.push("", "## Where the CPU goes at saturation (`docker stats`, round 1, mid-run)", "");
    for (const c of r.cpu)
      out.push(
        `- \`${PATHS[c.path]}\` ${TARGET_LABEL[c.target]}: ${Object.entries(c.containers)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
  }
  if (plots.length) {
    out.push("", "## Plots", "");
    for (const p of plots) out.push(`![${p.title}](${p.file})`, "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

type Spec = Record<string, unknown>;

/** One colour per target in every plot. */
const COLOR = {
  field: "target",
  type: "nominal",
  title: null,
  scale: { domain: TARGETS.map((t) => TARGET_LABEL[t]), range: ["#4c78a8", "#f58518", "#54a24b"] },
} as const;
const CONFIG = { legend: { orient: "bottom", labelLimit: 300 }, background: "white" } as const;

/** Latency percentiles per offered rate, one line per target, one panel per percentile (log scale). */
export function latencySpec(r: BenchResult, path: PathKey): Spec {
  const p = r.paths[path];
  const values: Record<string, unknown>[] = [];
  for (const t of TARGETS)
    for (const x of p.targets[t].rates)
      for (const [k, label] of [
        ["p50", "p50"],
        ["p90", "p90"],
        ["p99", "p99"],
        ["p999", "p99.9"],
      ] as const)
        values.push({
          target: TARGET_LABEL[t],
          rate: x.offered,
          load: pct(x.fraction),
          percentile: label,
          ms: x.latency[k],
        });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `GET ${p.path}: latency per offered rate (open loop, ${r.settings.rounds} round(s))`,
    data: { values },
    facet: {
      column: { field: "percentile", type: "ordinal", sort: ["p50", "p90", "p99", "p99.9"], title: null },
    },
    spec: {
      width: 170,
      height: 200,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "rate", type: "quantitative", title: "offered req/s" },
        y: { field: "ms", type: "quantitative", title: "latency (ms)", scale: { type: "log" } },
        color: COLOR,
        tooltip: [{ field: "target" }, { field: "load" }, { field: "ms" }],
      },
    },
    config: CONFIG,
  };
}

/** Saturation throughput per path and target, one dot per round. */
export function throughputSpec(r: BenchResult): Spec {
  const bars: Record<string, unknown>[] = [];
  const dots: Record<string, unknown>[] = [];
  for (const key of Object.keys(r.paths) as PathKey[])
    for (const t of TARGETS) {
      const sat = r.paths[key].targets[t].saturation;
      bars.push({ path: `GET ${PATHS[key]}`, target: TARGET_LABEL[t], rps: sat.rps });
      for (const x of sat.perRound) dots.push({ path: `GET ${PATHS[key]}`, target: TARGET_LABEL[t], rps: x });
    }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Throughput at saturation (wrk, closed loop): bars the mean, dots the rounds",
    width: 420,
    height: 240,
    encoding: {
      x: { field: "path", type: "nominal", title: null, axis: { labelAngle: 0 } },
      xOffset: { field: "target", type: "nominal", sort: TARGETS.map((t) => TARGET_LABEL[t]) },
      y: { field: "rps", type: "quantitative", title: "requests/s" },
      color: COLOR,
    },
    layer: [
      { data: { values: bars }, mark: { type: "bar" } },
      { data: { values: dots }, mark: { type: "point", color: "black", filled: true, size: 25 } },
    ],
    config: CONFIG,
  };
}

/** The end-to-end suite's fault scenarios: per-second timeline when recorded, else the aggregates. */
export function e2eSpec(rows: readonly E2eRow[]): Spec {
  const short = (s: string) => (s.length > 42 ? `${s.slice(0, 40)}…` : s);
  if (rows.some((r) => r.timeline?.length)) {
    const values = rows.flatMap((r) =>
      (r.timeline ?? []).flatMap((p) => [
        { scenario: short(r.scenario), t: p.t, series: "ok/s", value: p.ok },
        { scenario: short(r.scenario), t: p.t, series: "failed/s", value: p.failed },
      ]),
    );
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "End-to-end fault scenarios: requests per second through HAProxy",
      data: { values },
      facet: {
        row: {
          field: "scenario",
          type: "nominal",
          title: null,
          header: { labelAngle: 0, labelAlign: "left" },
        },
      },
      spec: {
        width: 420,
        height: 70,
        mark: { type: "line", interpolate: "step-after" },
        encoding: {
          x: { field: "t", type: "quantitative", title: "seconds" },
          y: { field: "value", type: "quantitative", title: "req/s" },
          color: { field: "series", type: "nominal", title: null, scale: { range: ["#4c78a8", "#e45756"] } },
        },
      },
      config: { background: "white" },
    };
  }
  const counts = rows.flatMap((r) => [
    { scenario: short(r.scenario), kind: "ok", value: r.load.sent - r.load.failed },
    { scenario: short(r.scenario), kind: "failed", value: r.load.failed },
  ]);
  const lat = rows.flatMap((r) =>
    (["p50", "p95", "p99"] as const).map((k) => ({
      scenario: short(r.scenario),
      percentile: k,
      ms: r.load[k],
    })),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "End-to-end fault scenarios (aggregates: the suite records no per-second timeline yet)",
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    hconcat: [
      {
        data: { values: counts },
        width: 220,
        mark: "bar",
        encoding: {
          y: { field: "scenario", type: "nominal", title: null, sort: null },
          x: { field: "value", type: "quantitative", title: "requests under load" },
          color: {
            field: "kind",
            type: "nominal",
            title: null,
            scale: { domain: ["ok", "failed"], range: ["#4c78a8", "#e45756"] },
          },
        },
      },
      {
        data: { values: lat },
        width: 220,
        mark: { type: "point", filled: true },
        encoding: {
          y: { field: "scenario", type: "nominal", title: null, sort: null, axis: null },
          x: { field: "ms", type: "quantitative", title: "latency (ms)" },
          color: { field: "percentile", type: "nominal", title: null },
          shape: { field: "percentile", type: "nominal", legend: null },
        },
      },
    ],
    config: CONFIG,
  };
}
