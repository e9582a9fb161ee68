// The shared test-support library, checked on its own (no Docker): the poller reports the
// last error, the runner is bounded, the certificate serves TLS that Node verifies, the
// load generator's history classifies each request, and the config loader's merge rule.
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer, Agent as HttpsAgent } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCert, pemFingerprint, type TestCert } from "./certs";
import { stackConfig } from "./config";
import { request, waitForStatus } from "./https";
import { withDependencies } from "./images";
import { percentile, runLoad, startLoad } from "./load";
import { ok, run } from "./process";
import { RetryError, retry } from "./retry";

describe("retry", () => {
  it("returns the first passing value", async () => {
    let n = 0;
    await expect(
      retry("n to reach 3", 2_000, () => (++n >= 3 ? n : undefined), { intervalMs: 5 }),
    ).resolves.toBe(3);
  });

  it("gives up at the deadline with what it waited for and the check's LAST error", async () => {
    let n = 0;
    const started = Date.now();
    const err = await retry(
      "the answer",
      300,
      () => {
        throw new Error(`attempt ${++n} saw 503`);
      },
      { intervalMs: 20 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryError);
    expect((err as Error).message).toMatch(/waiting for the answer: attempt \d+ saw 503$/);
    expect((err as Error).message).toContain(`attempt ${n} saw 503`);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("abandons an attempt that hangs past the deadline", async () => {
    const err = await retry("a hung check", 200, () => new Promise(() => {}), { intervalMs: 50 }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/still running at the deadline/);
  });
});

describe("run / ok", () => {
  it("passes arguments without a shell and stdin as given", async () => {
    expect(await ok("printf", ["%s|", "$HOME", "a b"])).toBe("$HOME|a b|");
    expect(await ok("cat", [], { input: "secret on stdin" })).toBe("secret on stdin");
  });

  it("kills a program at its timeout, and ok fails naming the command and its stderr", async () => {
    const r = await run("sleep", ["5"], { timeoutMs: 100 });
    expect(r).toMatchObject({ timedOut: true, code: -1 });
    expect(r.ms).toBeLessThan(2_000);
    await expect(ok("sh", ["-c", "echo broken >&2; exit 3"])).rejects.toThrow(
      /sh -c .* failed \(exit 3\): broken/,
    );
  });

  it("keeps only the last maxBytes of a stream", async () => {
    const r = await run("sh", ["-c", "seq 1 100000"], { maxBytes: 1000 });
    expect(r.stdout.endsWith("100000")).toBe(true);
    expect(r.stdout).toMatch(/^\[…earlier output dropped\]/);
    expect(r.stdout.length).toBeLessThan(1100);
  });
});

describe("certificates and the HTTPS client", () => {
  let cert: TestCert;
  let server: Server;
  let url = "";
  beforeAll(async () => {
    cert = await makeCert({ commonName: "support-test" });
    server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      res.setHeader("set-cookie", ["a=1; HttpOnly", "b=2"]);
      res.end(JSON.stringify({ host: "h1", method: req.method }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => server.close());

  it("makes a certificate Node verifies for localhost and 127.0.0.1, with its key and fingerprint", async () => {
    expect(cert.pem).toBe(cert.cert + cert.key);
    expect(pemFingerprint(cert.pem)).toBe(cert.fingerprint);
    const a = await request(url, { ca: cert.cert, method: "POST" });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ host: "h1", method: "POST" });
    expect(a.fingerprint).toBe(cert.fingerprint);
    expect(a.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(a.cookies).toEqual(["a=1", "b=2"]);
  });

  it("verifies a server at another address against the certificate's IP SAN alone (the lab's VIP), with no SNI", async () => {
    const ipOnly = await makeCert({ commonName: "vip", dnsNames: [], ipAddresses: ["127.0.0.2"] });
    const vip = createHttpsServer({ cert: ipOnly.cert, key: ipOnly.key }, (_req, res) => res.end("vip"));
    await new Promise<void>((r) => vip.listen(0, "127.0.0.2", r));
    try {
      const at = `https://127.0.0.2:${(vip.address() as AddressInfo).port}/`;
      const a = await request(at, { ca: ipOnly.cert });
      expect(a.status).toBe(200);
      expect(a.body).toBe("vip");
      // And the check is real: a certificate for another address is refused.
      await expect(request(at, { ca: cert.cert })).rejects.toThrow();
    } finally {
      vip.close();
    }
  });

  it("keeps the TLS facts of a keep-alive request (the socket is back in the pool when the body ends)", async () => {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: cert.cert });
    try {
      for (let i = 0; i < 3; i++) {
        const a = await request(url, { ca: cert.cert, agent });
        expect(a.status).toBe(200);
        expect(a.fingerprint).toBe(cert.fingerprint);
        expect(a.tls?.version).toMatch(/^TLSv1\.[23]$/);
      }
      const { summary } = await runLoad({
        url,
        rate: 50,
        seconds: 1,
        connection: "keep-alive",
        ca: cert.cert,
      });
      expect(summary).toMatchObject({ sent: 50, ok: 50, failed: 0, unknown: 0 });
      expect(Object.keys(summary.fingerprints)).toEqual([cert.fingerprint]);
    } finally {
      agent.destroy();
    }
  });

  it("refuses a server whose certificate is not the given CA's, unless insecure", async () => {
    const other = await makeCert();
    await expect(request(url, { ca: other.cert })).rejects.toThrow(/self-signed|signature|verify/i);
    expect((await request(url, { insecure: true })).status).toBe(200);
  });

  it("waitForStatus fails with the last status seen", async () => {
    await expect(waitForStatus(url, 204, 3000, { ca: cert.cert })).rejects.toThrow(/answered 200/);
  });
});

describe("load generator", () => {
  let server: Server;
  let base = "";
  let sockets = 0;
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      if (req.url === "/fail") res.writeHead(503).end("down");
      else if (req.url === "/hang") req.socket.destroy();
      else res.end(JSON.stringify({ host: "replica-1" }));
    });
    server.on("connection", () => sockets++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it("sends rate × seconds requests on schedule and records each in a history", async () => {
    sockets = 0;
    const { history, summary } = await runLoad({ url: `${base}/`, rate: 50, seconds: 1 });
    expect(summary).toMatchObject({ sent: 50, ok: 50, failed: 0, unknown: 0, failures: [] });
    expect(summary.hosts).toEqual({ "replica-1": 50 });
    expect(history.map((o) => o.seq)).toEqual([...Array(50).keys()]);
    // Open loop: request i starts about i × 20 ms in.
    expect(history[49].start).toBeGreaterThanOrEqual(49 * 20 - 1);
    expect(sockets).toBe(50);
    expect(summary.p50).toBeGreaterThan(0);
    expect(summary.p99).toBeGreaterThanOrEqual(summary.p50);
  });

  it("reuses connections with keep-alive", async () => {
    sockets = 0;
    const { summary } = await runLoad({ url: `${base}/`, rate: 50, seconds: 1, connection: "keep-alive" });
    expect(summary.ok).toBe(50);
    expect(sockets).toBeLessThanOrEqual(4);
  });

  it("classifies an error status as failed, a reset after sending as unknown, a refused connection as failed", async () => {
    const failed = await runLoad({ url: `${base}/fail`, rate: 20, seconds: 0.25 });
    expect(failed.summary).toMatchObject({ sent: 5, ok: 0, failed: 5, unknown: 0 });
    expect(failed.history[0]).toMatchObject({ outcome: "failed", status: 503 });
    const reset = await runLoad({ url: `${base}/hang`, rate: 20, seconds: 0.25 });
    expect(reset.summary).toMatchObject({ sent: 5, unknown: 5 });
    expect(reset.summary.failures[0]).toMatch(/^\d+ ms: unknown: socket hang up/);
    const closed = createHttpServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const refused = await runLoad({ url: `http://127.0.0.1:${port}/`, rate: 20, seconds: 0.25 });
    expect(refused.summary).toMatchObject({ sent: 5, failed: 5, unknown: 0 });
  });

  it("runs until stopped, and injects `during` once at its time", async () => {
    let actedAt = -1;
    const t0 = Date.now();
    const load = startLoad({
      url: `${base}/`,
      rate: 100,
      during: {
        afterMs: 100,
        action: async () => {
          actedAt = Date.now() - t0;
        },
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now() - t0;
    const { summary } = await load.stop();
    expect(actedAt).toBeGreaterThanOrEqual(95);
    // On schedule: one request per 10 ms until stop() (however late the timer fired), none after.
    expect(summary.sent).toBeGreaterThanOrEqual(20);
    expect(summary.sent).toBeLessThanOrEqual(Math.ceil(stoppedAt / 10) + 1);
    expect(summary.ok).toBe(summary.sent);
  });

  it("loads nothing but 127.0.0.1, within bounds", () => {
    expect(() => startLoad({ url: "http://example.org/", rate: 1, seconds: 1 })).toThrow(/127\.0\.0\.1/);
    expect(() => startLoad({ url: `${base}/`, rate: 5000, seconds: 1 })).toThrow(/rate/);
    expect(() => startLoad({ url: `${base}/`, rate: 1, seconds: 3600 })).toThrow(/seconds/);
  });

  it("percentiles by nearest rank", () => {
    const xs = [...Array(100).keys()].map((i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile([], 50)]).toEqual([
      50, 95, 99, 0,
    ]);
  });
});

describe("config loader and images", () => {
  it("merges an object override one level deep, replaces other values, drops undefined", () => {
    const raw = stackConfig("dev", {
      "flotilla:haproxy": { redirectHttp: false },
      "flotilla:webapp": { replicas: 2 },
      "flotilla:target": undefined,
    });
    expect(JSON.parse(raw["flotilla:haproxy"])).toEqual({
      httpPort: 8080,
      httpsPort: 8443,
      statsPort: 8404,
      rateLimit: { enabled: false },
      redirectHttp: false,
    });
    expect(JSON.parse(raw["flotilla:webapp"])).toEqual({ replicas: 2 });
    expect(raw["flotilla:target"]).toBeUndefined();
  });

  it("ensureImages builds what an image builds on, in build order", () => {
    expect(withDependencies(["haproxy"])).toEqual(["s6-base", "consul", "haproxy"]);
    expect(withDependencies(["mysql", "s6-base"])).toEqual(["s6-base", "mysql"]);
    expect(() => withDependencies(["nginx" as never])).toThrow(/unknown image 'nginx'/);
  });
});
