// Steady open-loop load for the lab's chaos suite, run inside a container on the lab
// network (only the lab's own addresses are ever targeted). One GET per tick on a fresh
// connection, so a request shows where the VIP is now, not where it was when a
// keep-alive connection opened. Stops on SIGTERM or after --seconds, then prints one
// JSON summary line: counts, latency percentiles, and the wall-clock time of every failure.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    rate: { type: "string", default: "50" },
    seconds: { type: "string", default: "600" },
    "timeout-ms": { type: "string", default: "3000" },
    // HTTPS: trust this CA file (the edge's certificate); --insecure skips verification.
    ca: { type: "string" },
    insecure: { type: "boolean", default: false },
  },
});
const url = new URL(args.url ?? "");
const rate = Number(args.rate ?? 50);
const seconds = Number(args.seconds ?? 600);
const timeoutMs = Number(args["timeout-ms"] ?? 3000);
const tls = url.protocol === "https:";
const client = tls ? https : http;
// agent: false below means a fresh TLS handshake per request too, as a new client pays.
const tlsOptions = tls
  ? { ca: args.ca ? readFileSync(args.ca) : undefined, rejectUnauthorized: !args.insecure }
  : {};
if (!/^(10|172|192)\./.test(url.hostname))
  throw new Error(`refusing to load ${url.hostname}: lab addresses only`);
if (!(rate > 0 && rate <= 500)) throw new Error(`--rate must be 1..500, got ${args.rate}`);

const started = Date.now();
const latencies = [];
const failures = [];
let sent = 0;
let inFlight = 0;
let firstOkAt = null;

function once() {
  const t0 = Date.now();
  sent++;
  inFlight++;
  let done = false;
  const finish = (ok, what) => {
    if (done) return;
    done = true;
    inFlight--;
    if (ok) {
      latencies.push(Date.now() - t0);
      firstOkAt ??= Date.now();
    } else failures.push({ at: t0, what });
  };
  const req = client.get(url, { agent: false, timeout: timeoutMs, ...tlsOptions }, (res) => {
    res.resume();
    res.on("end", () => finish(res.statusCode >= 200 && res.statusCode < 300, `HTTP ${res.statusCode}`));
    res.on("error", (e) => finish(false, e.code ?? e.message));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => finish(false, e.code ?? e.message));
}

const timer = setInterval(once, 1000 / rate);
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  const deadline = Date.now() + timeoutMs + 500;
  const wait = setInterval(() => {
    if (inFlight > 0 && Date.now() < deadline) return;
    clearInterval(wait);
    const sorted = latencies.sort((a, b) => a - b);
    const pct = (p) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0;
    const summary = {
      url: url.href,
      rate,
      started,
      stopped: Date.now(),
      sent,
      ok: latencies.length,
      failed: failures.length + inFlight,
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
      firstOkAt,
      failures: failures.slice(0, 2000),
    };
    // Exit once the line is out: stdout to a pipe is asynchronous here, and exiting at once
    // cut a summary of 2000 failures at the pipe's 64 KiB.
    process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
  }, 50);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setTimeout(stop, seconds * 1000);
