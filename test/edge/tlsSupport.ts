// What the edge suites share: a throw-away certificate (its own CA: a self-signed
// certificate for localhost and 127.0.0.1), secret files owned by the haproxy image's
// user, HTTPS requests that trust that certificate only, a bounded HTTPS load loop, and
// `openssl s_client` handshakes.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import path from "node:path";
import { HAPROXY_UID } from "../../components/stacks/renderHaproxy";
import { opensslCert } from "../support/certs";

export interface TestCert {
  /** The certificate (PEM), also the CA the clients trust. */
  cert: string;
  /** Certificate then private key: the haproxy_tls_pem secret's format. */
  pem: string;
  /** SHA-256 fingerprint as Node prints it (AA:BB:...). */
  fingerprint: string;
}

/** A fresh self-signed EC certificate for localhost and 127.0.0.1 (openssl; the key never on disk). */
export function makeCert(commonName: string): TestCert {
  const { cert, pem } = opensslCert({ commonName, subjectAltName: "DNS:localhost,IP:127.0.0.1" });
  return { cert, pem, fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** Random passwords for the edge's two users. */
export function edgePasswords(): { haproxy_stats_password: string; haproxy_metrics_password: string } {
  return {
    haproxy_stats_password: randomBytes(18).toString("base64url"),
    haproxy_metrics_password: randomBytes(18).toString("base64url"),
  };
}

/** Secret files in RAM, mode 0400, owned by the haproxy image's user (as Swarm hands them over). */
export function edgeSecretsDir(values: Record<string, string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync("/dev/shm/flotilla-edge-");
  chmodSync(dir, 0o755);
  for (const [name, value] of Object.entries(values)) {
    const file = path.join(dir, name);
    writeFileSync(file, value, { mode: 0o400 });
    chownSync(file, HAPROXY_UID, HAPROXY_UID);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface HttpsResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
  /** The negotiated TLS version and ALPN protocol. */
  tls: { version: string; alpn: string | false };
}

/**
 * One HTTPS request on a connection of its own (a full handshake), trusting `ca` only
 * (with `insecure`, any certificate: for a rotation in progress, where either may come).
 */
export function https(
  url: string,
  options: {
    ca?: string;
    insecure?: boolean;
    auth?: string;
    cookie?: string;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<HttpsResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        ca: options.ca,
        rejectUnauthorized: !options.insecure,
        servername: "localhost",
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        const socket = res.socket as import("node:tls").TLSSocket;
        const peer = socket.getPeerCertificate();
        const fingerprint = peer?.fingerprint256 ?? "";
        const tls = { version: socket.getProtocol() ?? "", alpn: socket.alpnProtocol ?? false };
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint, tls }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export interface LoadResult {
  sent: number;
  failed: number;
  failures: string[];
  /** Requests answered per certificate fingerprint. */
  certs: Map<string, number>;
  /** Requests answered per backend host (from the webapp's JSON, when it has one). */
  hosts: Map<string, number>;
}

/**
 * A bounded HTTPS load loop: `rate` requests per second for `seconds` (each on a fresh
 * connection, 5 s timeout); `during` runs once, `afterMs` into the loop. A request
 * fails on an error or a status other than 2xx.
 */
export async function httpsLoad(
  url: string,
  rate: number,
  seconds: number,
  during?: { afterMs: number; action: () => Promise<unknown> },
): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, failed: 0, failures: [], certs: new Map(), hosts: new Map() };
  const pending: Promise<void>[] = [];
  const start = Date.now();
  let acted: Promise<unknown> | undefined;
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (during && !acted && Date.now() - start >= during.afterMs) acted = during.action();
    result.sent++;
    const at = Date.now() - start;
    pending.push(
      https(url, { insecure: true })
        .then((r) => {
          if (r.status < 200 || r.status > 299) {
            result.failed++;
            result.failures.push(`${at} ms: HTTP ${r.status}`);
            return;
          }
          result.certs.set(r.fingerprint, (result.certs.get(r.fingerprint) ?? 0) + 1);
          try {
            const host = (JSON.parse(r.body) as { host?: string }).host;
            if (host) result.hosts.set(host, (result.hosts.get(host) ?? 0) + 1);
          } catch {
            // not JSON: no host to count
          }
        })
        .catch((err: Error) => {
          result.failed++;
          result.failures.push(`${at} ms: ${err.message}`);
        }),
    );
  }
  await Promise.all(pending);
  if (acted) await acted;
  return result;
}

/** `openssl s_client` to 127.0.0.1:port with extra flags; its exit status and output. */
export function sClient(port: number, flags: string[]): { status: number; out: string } {
  const r = spawnSync(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", ...flags],
    { input: "", encoding: "utf8", timeout: 15_000 },
  );
  return { status: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
}

export { pemFingerprint } from "../support/certs";

/** A short digest for printing a fingerprint. */
export function short(fingerprint: string): string {
  return createHash("sha256").update(fingerprint).digest("hex").slice(0, 8);
}
