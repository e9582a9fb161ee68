// Helpers of the end-to-end suite: the deploy helpers (test/support/deploy), steady load
// (autocannon) and a summary of it.
import autocannon from "autocannon";
import { opensslCert } from "../support/certs";
import { type LoadSummary, percentile } from "../support/load";
import { ok, run } from "../support/process";
import { retry } from "../support/retry";

// The suites import these from here; they live in test/support, shared with the tools.
export {
  containers,
  type Deployment as E2eEnv,
  deploy,
  publishedPort,
  randomSecrets,
  remove,
  removeStacks,
} from "../support/deploy";
export { ok, run } from "../support/process";

/** A self-signed certificate then its key (HAProxy's `crt`), from openssl. For localhost by default. */
export function selfSignedPem(subjectAltName = "DNS:localhost,IP:127.0.0.1"): string {
  return opensslCert({ subjectAltName }).pem;
}

/**
 * Poll until `check` is true or the time runs out (test/support/retry: a timeout names the
 * check's last error); returns the milliseconds it took.
 */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<number> {
  const start = Date.now();
  await retry(what, timeoutMs, check, { intervalMs: everyMs });
  return Date.now() - start;
}

/**
 * Remove the Docker volumes `docker volume ls --filter name=<name>` lists, retried until
 * none is left: a volume stays in use until its stopping containers are gone.
 */
export async function removeVolumesNamed(name: string, timeoutMs: number): Promise<void> {
  const left = async () =>
    (await ok("docker", ["volume", "ls", "-q", "--filter", `name=${name}`])).split("\n").filter(Boolean);
  await until(
    `the volumes named ${name}* removed`,
    async () => {
      const vols = await left();
      if (vols.length) await run("docker", ["volume", "rm", ...vols]);
      return (await left()).length === 0;
    },
    timeoutMs,
    1000,
  );
}

/** What a load amounts to (test/support/load's summary, the fields this load records). */
export type LoadStats = Pick<LoadSummary, "sent" | "ok" | "failed" | "p50" | "p95" | "p99" | "seconds">;

/**
 * Steady load through HAProxy: `rate` requests per second over a few keep-alive
 * connections, until stopped. A failure is a connection error, a timeout or a non-2xx.
 */
export function startLoad(url: string, rate = 50): { stop: () => Promise<LoadStats> } {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error("load is for 127.0.0.1 only");
  const latencies: number[] = [];
  let okCount = 0;
  let failed = 0;
  const started = Date.now();
  const instance = autocannon(
    { url, connections: 4, overallRate: rate, duration: 600, timeout: 5 },
    () => {},
  );
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    if (status >= 200 && status < 300) okCount++;
    else failed++;
  });
  instance.on("reqError", () => {
    failed++;
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        instance.on("done", () => {
          const sorted = [...latencies].sort((a, b) => a - b);
          resolve({
            sent: okCount + failed,
            ok: okCount,
            failed,
            p50: percentile(sorted, 50),
            p95: percentile(sorted, 95),
            p99: percentile(sorted, 99),
            seconds: (Date.now() - started) / 1000,
          });
        });
        instance.stop();
      }),
  };
}

/** A browser-like client that keeps its cookies (session and HAProxy stickiness). */
export class Client {
  private cookies = new Map<string, string>();
  constructor(private readonly base: string) {}
  async request(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(`${this.base}${path}`, { ...init, headers, signal: AbortSignal.timeout(5000) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  }
}
