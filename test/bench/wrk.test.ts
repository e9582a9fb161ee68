// The pure parts of the benchmark: reading what the wrk scripts print, merging and
// percentiles, and spreading a fixed rate over open-loop connections.
import { describe, expect, it } from "vitest";
import {
  latencyMs,
  mergeHistograms,
  mergeRuns,
  openLoopPlan,
  parseWrk,
  percentile,
} from "../../tools/bench/wrk";

const CLOSED = `Running 2s test @ http://10.0.8.5:80/healthz
  2 threads and 32 connections
Requests/sec:   2299.90
BENCH summary duration_us=2004000 requests=4610 bytes=700000 connect=0 read=1 write=0 status=3 timeout=2
BENCH hist 900:10,1000:4000,1500:590,20000:10
`;
const OPEN =
  "BENCH summary duration_us=10000000 requests=5000 bytes=1 connect=0 read=0 write=0 status=0 timeout=0 ok=4990 bad=10 behind=25\nBENCH hist 300:4000,700:990,5000:10\n";

describe("parseWrk", () => {
  it("reads a closed-loop run: totals, errors (socket + 4xx/5xx) and the histogram", () => {
    const r = parseWrk(CLOSED);
    expect(r.seconds).toBeCloseTo(2.004);
    expect(r.requests).toBe(4610);
    expect(r.ok).toBe(4607);
    expect(r.errors).toBe(1 + 2 + 3);
    expect(r.behind).toBe(0);
    expect(r.hist).toEqual([
      [900, 10],
      [1000, 4000],
      [1500, 590],
      [20000, 10],
    ]);
  });

  it("reads an open-loop run: its own ok/bad counts and late requests", () => {
    const r = parseWrk(OPEN);
    expect(r).toMatchObject({ requests: 5000, ok: 4990, errors: 10, behind: 25, seconds: 10 });
  });

  it("an empty histogram (no response at all) is not an error", () => {
    const r = parseWrk(
      "BENCH summary duration_us=1000000 requests=0 bytes=0 connect=4 read=0 write=0 status=0 timeout=0\nBENCH hist \n",
    );
    expect(r.hist).toEqual([]);
    expect(r.errors).toBe(4);
    expect(Number.isNaN(latencyMs(r.hist).p50)).toBe(true);
  });

  it("refuses output without the script's lines, and names what is missing", () => {
    expect(() => parseWrk("Requests/sec: 100\n")).toThrow(/BENCH summary/);
    expect(() => parseWrk("BENCH summary requests=1\nBENCH hist 1:1\n")).toThrow(/missing 'duration_us'/);
    expect(() =>
      parseWrk(
        "BENCH summary duration_us=1 requests=1 bytes=0 connect=0 read=0 write=0 status=0 timeout=0\nBENCH hist 1:x\n",
      ),
    ).toThrow(/cannot read '1:x'/);
  });
});

describe("percentiles and merging", () => {
  const hist: [number, number][] = [
    [100, 50],
    [200, 40],
    [1000, 9],
    [5000, 1],
  ];
  it("is the smallest value with at least p % of the samples at or below it", () => {
    expect(percentile(hist, 50)).toBe(100);
    expect(percentile(hist, 51)).toBe(200);
    expect(percentile(hist, 90)).toBe(200);
    expect(percentile(hist, 99)).toBe(1000);
    expect(percentile(hist, 99.9)).toBe(5000);
    expect(percentile(hist, 100)).toBe(5000);
    expect(() => percentile(hist, 0)).toThrow(/0 < p <= 100/);
  });

  it("reports milliseconds", () => {
    expect(latencyMs(hist)).toEqual({ p50: 0.1, p90: 0.2, p99: 1, p999: 5, max: 5 });
  });

  it("merges the two replicas' runs: counts add up, values interleave, the window is the longer one", () => {
    expect(
      mergeHistograms([
        [
          [100, 1],
          [300, 2],
        ],
        [
          [200, 5],
          [300, 1],
        ],
      ]),
    ).toEqual([
      [100, 1],
      [200, 5],
      [300, 3],
    ]);
    const m = mergeRuns([parseWrk(CLOSED), parseWrk(OPEN)]);
    expect(m.requests).toBe(9610);
    expect(m.seconds).toBe(10);
    expect(m.errors).toBe(16);
    expect(() => mergeRuns([])).toThrow(/no runs/);
  });
});

describe("openLoopPlan", () => {
  it("keeps every connection at or below 50 req/s, within 4..64 connections", () => {
    expect(openLoopPlan(1000)).toEqual({ connections: 20, ratePerConnection: 50 });
    expect(openLoopPlan(10)).toEqual({ connections: 4, ratePerConnection: 2.5 });
    expect(openLoopPlan(10_000).connections).toBe(64);
    expect(openLoopPlan(1001).ratePerConnection).toBeLessThanOrEqual(50);
  });
  it("refuses a rate that is not positive", () => {
    expect(() => openLoopPlan(0)).toThrow(/rate > 0/);
    expect(() => openLoopPlan(Number.NaN)).toThrow(/rate > 0/);
  });
});
