// The lab chaos suite's pure accounting of a load client's summary: how long the outage
// looked to clients, and what the failed requests saw.
import { describe, expect, it } from "vitest";
import { failuresByKind, failuresByWindow, type LoadSummary, outageSeconds } from "./chaos-lib";

const summary = (failures: { at: number; what: string }[], failed = failures.length): LoadSummary => ({
  sent: 1000,
  ok: 1000 - failed,
  failed,
  p50: 10,
  p95: 20,
  p99: 30,
  started: 0,
  stopped: 20_000,
  firstOkAt: 5,
  failures,
});

describe("failuresByKind", () => {
  it("counts the failures by what the client saw", () => {
    const s = summary([
      { at: 1, what: "HTTP 503" },
      { at: 2, what: "timeout" },
      { at: 3, what: "HTTP 503" },
    ]);
    expect(failuresByKind(s)).toEqual({ "HTTP 503": 2, timeout: 1 });
  });

  it("names the failures the client counted but did not list", () => {
    const s = summary([{ at: 1, what: "ECONNRESET" }], 4);
    expect(failuresByKind(s)).toEqual({
      ECONNRESET: 1,
      "unlisted (in flight at stop, or past the 2000 listed)": 3,
    });
  });

  it("is empty when nothing failed", () => {
    expect(failuresByKind(summary([]))).toEqual({});
  });
});

describe("outageSeconds", () => {
  it("is the longest run of failures no further apart than two ticks, plus one tick", () => {
    // 50 req/s: a tick is 20 ms, failures 40 ms apart still belong to one run.
    const run = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ at: from + 40 * i, what: "x" }));
    const s = summary([...run(1000, 5), ...run(5000, 26)]);
    expect(outageSeconds(s, 50)).toBe(1.02); // 25 gaps of 40 ms, plus 20 ms
  });

  it("is 0 without failures, and one tick for a single one", () => {
    expect(outageSeconds(summary([]), 50)).toBe(0);
    expect(outageSeconds(summary([{ at: 7, what: "x" }]), 50)).toBe(0.02);
  });
});

describe("failuresByWindow", () => {
  const windows = [
    { name: "haproxy", from: 100, to: 200 },
    { name: "mysql", from: 150, to: 300 },
  ];

  it("counts a failure under every step it happened during, the rest outside", () => {
    const failures = [{ at: 120 }, { at: 160 }, { at: 250 }, { at: 400 }, { at: 50 }];
    expect(failuresByWindow(failures, windows)).toEqual({
      haproxy: 2,
      mysql: 2,
      "while no step ran": 2,
    });
  });

  it("includes both ends of a window, and counts nothing when nothing failed", () => {
    expect(failuresByWindow([{ at: 100 }, { at: 300 }], windows, "outside")).toEqual({
      haproxy: 1,
      mysql: 1,
    });
    expect(failuresByWindow([], windows)).toEqual({});
  });
});
