// The one HTTP(S) client of the tests and tools: node:http/node:https (Node's fetch takes
// no CA), a server verified against a given CA (the stack's own self-signed certificate),
// and by default a fresh connection per request, so every call pays a handshake as a new
// client would and a client-side keep-alive race never passes for a server's failure.
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { run } from "./process";
import { retry } from "./retry";

export { certificateOf } from "./certs";

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The Location header (redirects are not followed: a 301 is an answer). */
  location?: string;
  /** Every Set-Cookie header in full (attributes included). */
  setCookies: string[];
  /** `name=value` of every Set-Cookie. */
  cookies: string[];
  /** HTTPS only: SHA-256 fingerprint of the certificate the server presented. */
  fingerprint?: string;
  /** HTTPS only: the negotiated TLS version and ALPN protocol. */
  tls?: { version: string; alpn: string | false };
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A body sent as is. */
  body?: string;
  /** A body sent as JSON (sets content-type). */
  json?: unknown;
  /** `user:password` for basic authentication. */
  auth?: string;
  /** A Cookie header. */
  cookie?: string;
  /** PEM of the certificate (or CA) the server must present a chain to. */
  ca?: string | Buffer;
  /** Accept any certificate (a rotation in progress, where either may come). */
  insecure?: boolean;
  /** TLS server name; default the URL's host, `localhost` for 127.0.0.1 (none for another address). */
  servername?: string;
  /** Default 5 s, for the whole exchange. */
  timeoutMs?: number;
  /** A keep-alive agent to reuse connections; default none (a fresh connection). */
  agent?: http.Agent;
}

/** Basic authentication header for `user:password`. */
export function basicAuth(credentials: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
}

/** One request; rejects on a network error or the timeout, resolves with any status. */
export function request(url: string, opts: RequestOptions = {}): Promise<Answer> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.auth) Object.assign(headers, basicAuth(opts.auth));
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // 127.0.0.1 is localhost (the name the dev certificates carry); any other address is
  // verified against the certificate's IP SANs with no SNI, Node's default (the lab's VIP).
  const loopback = target.hostname === "127.0.0.1" || target.hostname === "[::1]";
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      method: opts.method ?? "GET",
      headers,
      agent: opts.agent ?? false,
      ...(secure
        ? {
            ca: opts.ca,
            rejectUnauthorized: !opts.insecure,
            ...(opts.servername || loopback ? { servername: opts.servername ?? "localhost" } : {}),
          }
        : {}),
    };
    const req = (secure ? https : http).request(target, options, (res) => {
      // The TLS facts now: with a keep-alive agent the socket goes back to the pool (and
      // res.socket is null) by the time the body has ended.
      const socket = secure ? (res.socket as TLSSocket | null) : null;
      const tls = socket
        ? {
            fingerprint: socket.getPeerCertificate?.()?.fingerprint256 ?? "",
            version: socket.getProtocol?.() ?? "",
            alpn: socket.alpnProtocol ?? false,
          }
        : undefined;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        const setCookies = [res.headers["set-cookie"] ?? []].flat();
        const answer: Answer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          location: res.headers.location,
          setCookies,
          cookies: setCookies.map((c) => c.split(";")[0]),
        };
        if (tls) {
          answer.fingerprint = tls.fingerprint;
          answer.tls = { version: tls.version, alpn: tls.alpn };
        }
        resolve(answer);
      });
      res.on("error", reject);
    });
    // One bound for the whole exchange (the socket's idle timeout alone lets a trickle run on).
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs} ms: ${url}`)), timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

/** Poll `url` until it answers `status` (the last answer or error is in the failure). */
export async function waitForStatus(
  url: string,
  status: number,
  timeoutMs: number,
  opts: RequestOptions = {},
): Promise<Answer> {
  return retry(`${url} to answer ${status}`, timeoutMs, async () => {
    const r = await request(url, { timeoutMs: 2_000, ...opts });
    if (r.status !== status) throw new Error(`answered ${r.status}: ${r.body.slice(0, 200)}`);
    return r;
  });
}

/**
 * `openssl s_client` to 127.0.0.1:`port` (SNI localhost) with extra flags: a second TLS
 * implementation's view of a server (protocol versions, the chain it sends, ALPN).
 */
export async function opensslClient(port: number, flags: string[]): Promise<{ status: number; out: string }> {
  const r = await run(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", ...flags],
    { timeoutMs: 15_000 },
  );
  return { status: r.code, out: `${r.stdout}\n${r.stderr}` };
}
