// Ratio math and the report: summaries over rounds, the goals of issue 14, the Markdown
// table and the plot specs (rendered for real by vega, no browser).
import { describe, expect, it } from "vitest";
import { type PathKey, type Point, summarisePath, type Target } from "../../tools/bench/analysis";
import { bareConfig, containerRole, parseArgs, roundOrder } from "../../tools/bench/bench";
import { toSvg } from "../../tools/bench/plots";
import {
  type BenchResult,
  e2eSpec,
  latencySpec,
  renderMarkdown,
  throughputSpec,
} from "../../tools/bench/report";
import { latencyMs } from "../../tools/bench/wrk";

/** A point whose latency histogram is one value (µs). */
function pt(path: PathKey, target: Target, rps: number, us: number, extra: Partial<Point> = {}): Point {
  const hist: [number, number][] = [[us, 100]];
  return {
    round: 1,
    path,
    target,
    mode: "saturation",
    rps,
    requests: rps * 10,
    errors: 0,
    behind: 0,
    seconds: 10,
    latency: latencyMs(hist),
    hist,
    ...extra,
  };
}

function points(path: PathKey, sat: Record<Target, number>, p50At50: Record<Target, number>): Point[] {
  const out: Point[] = [];
  for (const t of ["direct", "flotilla", "bare"] as Target[]) {
    out.push(pt(path, t, sat[t], 10_000), pt(path, t, sat[t] + 100, 10_000, { round: 2 }));
    out.push(pt(path, t, sat[t] / 2, 900, { mode: "fixed", fraction: 0.25, offered: sat[t] / 4 }));
    out.push(
      pt(path, t, sat[t] / 2, t === "flotilla" ? p50At50.flotilla : 5000, {
        mode: "fixed",
        fraction: 0.5,
        offered: sat[t] / 2,
      }),
    );
    if (t !== "flotilla")
      out.push(
        pt(path, t, sat.flotilla / 2, p50At50[t], {
          mode: "fixed",
          fraction: 0.5,
          offered: sat.flotilla / 2,
          reference: true,
        }),
      );
  }
  return out;
}

const HEALTHZ = points(
  "healthz",
  { direct: 3000, flotilla: 1900, bare: 2300 },
  { direct: 400, flotilla: 550, bare: 500 },
);
const ROOT = points(
  "root",
  { direct: 600, flotilla: 500, bare: 540 },
  { direct: 8000, flotilla: 8400, bare: 8100 },
);

describe("summarisePath", () => {
  const h = summarisePath([...HEALTHZ, ...ROOT], "healthz");
  const r = summarisePath([...HEALTHZ, ...ROOT], "root");

  it("averages saturation over the rounds and keeps each round", () => {
    expect(h.targets.direct.saturation.rps).toBe(3050);
    expect(h.targets.direct.saturation.perRound).toEqual([3000, 3100]);
    expect(h.targets.flotilla.rates.map((x) => x.fraction)).toEqual([0.25, 0.5]);
  });

  it("computes throughput ratios from the means", () => {
    expect(h.ratios.flotillaOverDirect).toBeCloseTo(1950 / 3050, 3);
    expect(h.ratios.flotillaOverBare).toBeCloseTo(1950 / 2350, 3);
    expect(h.ratios.bareOverDirect).toBeCloseTo(2350 / 3050, 3);
  });

  it("compares p50 at Flotilla's own 50 % rate with direct and bare at that same rate", () => {
    expect(h.ratios.addedP50VsDirectMs).toBeCloseTo(0.15, 3);
    expect(h.ratios.addedP50VsBareMs).toBeCloseTo(0.05, 3);
    expect(h.targets.direct.atFlotilla50?.offered).toBe(950);
  });

  it("checks the issue's goals: ≥0.6× direct on /healthz, ≥0.85× on /, within 1.3× of bare, +0.2 ms", () => {
    expect(h.goals.map((g) => [g.name, g.met])).toEqual([
      ["throughput flotilla/direct", true],
      ["throughput bare/flotilla", true],
      ["added p50 at 50 % (ms, vs direct)", true],
    ]);
    // 550/650 = 0.846 < 0.85 on GET /; added p50 0.4 ms > 0.2.
    expect(r.goals.map((g) => g.met)).toEqual([false, true, false]);
  });

  it("fails clearly when a target was not measured", () => {
    expect(() =>
      summarisePath(
        HEALTHZ.filter((p) => p.target !== "bare"),
        "healthz",
      ),
    ).toThrow(/no saturation point for bare on \/healthz/);
  });
});

const RESULT: BenchResult = {
  date: "2026-11-25T17:00:00.000Z",
  settings: {
    durationSeconds: 10,
    rounds: 2,
    fractions: [0.25, 0.5],
    connections: 32,
    smoke: false,
    replicas: 2,
    deployment: "flotilla-bench-test",
  },
  machine: {
    cpu: "Test CPU",
    cores: 2,
    kernel: "6.1.0",
    loadBefore: "1.00 0.50 0.20",
    loadAfter: "2.00 1.00 0.50",
    docker: "26.1.5",
    haproxy: "HAProxy version 3.0.11",
    images: { "flotilla/haproxy:0.1.0": "sha256:0123456789abcdef0123" },
    commit: "0123456789abcdef",
    dirty: false,
    haproxyImageCommit: "abc1234 2026-11-25 haproxy image",
  },
  paths: {
    healthz: summarisePath([...HEALTHZ, ...ROOT], "healthz"),
    root: summarisePath([...HEALTHZ, ...ROOT], "root"),
  },
  points: [...HEALTHZ, ...ROOT],
  cpu: [{ path: "healthz", target: "flotilla", containers: { "haproxy.1": "45.0%", wrk: "60.1%" } }],
};

describe("renderMarkdown", () => {
  const md = renderMarkdown(RESULT, [{ title: "Throughput", file: "../../docs/img/bench-throughput.svg" }]);
  it("has the ratios against the goals, one table per path, the machine and the plots", () => {
    expect(md).toContain("| `/healthz` | 0.64× | 0.83× | 0.77× | 0.150 ms | 0.050 ms |");
    expect(md).toContain("❌ throughput flotilla/direct 0.85 (≥ 0.85)");
    expect(md).toContain("## `GET /healthz`");
    expect(md).toContain("## `GET /`");
    expect(md).toMatch(
      /\| Flotilla's HAProxy \| saturation \(rounds: 1900, 2000\) \| – \| \*\*1950\*\* \| 0 \|/,
    );
    expect(md).toContain("| direct to the replicas | Flotilla's 50 % rate | 950 |");
    expect(md).toContain(
      "Test CPU, 2 cores, kernel 6.1.0; load average before 1.00 0.50 0.20, after 2.00 1.00 0.50",
    );
    expect(md).toContain("haproxy.1 45.0%, wrk 60.1%");
    expect(md).toContain("![Throughput](../../docs/img/bench-throughput.svg)");
    expect(md).not.toContain("smoke run");
  });
});

describe("plots", () => {
  it("renders latency, throughput and the e2e scenarios to SVG with vega (no browser)", async () => {
    const latency = await toSvg(latencySpec(RESULT, "healthz"));
    expect(latency).toMatch(/^<svg/);
    expect(latency).toContain("p99.9");
    const tput = await toSvg(throughputSpec(RESULT));
    expect(tput).toContain("Flotilla's HAProxy");
  }, 30_000);

  it("plots the e2e timeline when the suite recorded one, else the aggregates (and says so)", async () => {
    const rows = [
      { scenario: "4. kill a replica", load: { sent: 400, failed: 2, p50: 8, p95: 20, p99: 60 } },
      { scenario: "5. rolling update", load: { sent: 500, failed: 0, p50: 9, p95: 22, p99: 70 } },
    ];
    const agg = e2eSpec(rows);
    expect(String(agg.title)).toContain("no per-second timeline");
    const svg = await toSvg(agg);
    expect(svg).toContain("4. kill a replica");
    const timed = e2eSpec([
      {
        ...rows[0],
        timeline: [
          { t: 0, ok: 50, failed: 0 },
          { t: 1, ok: 48, failed: 2, p50: 9 },
        ],
      },
    ]);
    expect(String(timed.title)).toContain("requests per second");
    expect(await toSvg(timed)).toMatch(/^<svg/);
  }, 30_000);
});

describe("arguments and the bare reference", () => {
  it("defaults: 10 s, 2 rounds, 25/50/75 %; --smoke shortens; bad values name the flag", () => {
    expect(parseArgs([])).toMatchObject({
      durationSeconds: 10,
      rounds: 2,
      fractions: [0.25, 0.5, 0.75],
      smoke: false,
    });
    expect(parseArgs(["--smoke"])).toMatchObject({ durationSeconds: 2, rounds: 1, fractions: [0.5] });
    expect(parseArgs(["--smoke", "--duration=3", "--keep"])).toMatchObject({
      durationSeconds: 3,
      keep: true,
    });
    expect(parseArgs(["--reuse", "flotilla-e2e"]).reuse).toBe("flotilla-e2e");
    expect(() => parseArgs(["--duration", "0"])).toThrow(
      /--duration: expected a whole number from 1 to 600, got '0'/,
    );
    expect(() => parseArgs(["--rounds", "x"])).toThrow(/--rounds/);
    expect(() => parseArgs(["--reuse", "Bad Prefix"])).toThrow(/--reuse: expected a deployment prefix/);
    expect(() => parseArgs(["--fast"])).toThrow(/unknown argument '--fast'/);
    expect(() => parseArgs(["extra"])).toThrow(/unknown argument 'extra'/);
    expect(() => parseArgs(["--out"])).toThrow(/--out.*: expected a value/);
    expect(() => parseArgs(["-h"])).toThrow(/^usage: npm run bench/);
  });

  it("alternates the target order between rounds", () => {
    expect(roundOrder(1)).toEqual(["direct", "flotilla", "bare"]);
    expect(roundOrder(2)).toEqual(["bare", "flotilla", "direct"]);
  });

  it("names containers by role for the CPU figures", () => {
    const role = (n: string) =>
      containerRole(n, "flotilla-bench-ab12", "flotilla-bench-ab12-load-x", "flotilla-bench-ab12-bare-x");
    expect(role("flotilla-bench-ab12-webapp_webapp.2.k3j4h5")).toBe("webapp.2");
    expect(role("flotilla-bench-ab12-haproxy_haproxy.cos44eb51.s7ieozgf")).toBe("haproxy");
    expect(role("flotilla-bench-ab12-load-x")).toBe("wrk");
    expect(role("flotilla-bench-ab12-bare-x")).toBe("bare-haproxy");
  });

  it("the bare HAProxy has a static round robin over the replicas and no logging", () => {
    const cfg = bareConfig(["10.0.0.2:8080", "10.0.0.3:8080"]);
    expect(cfg).toContain("    server web1 10.0.0.2:8080\n    server web2 10.0.0.3:8080");
    expect(cfg).not.toMatch(/\blog\b/);
  });
});
