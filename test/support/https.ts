// One HTTP(S) request that verifies the server against a given CA (the stack's own
// certificate while it is self-signed), for suites that talk to HAProxy's TLS edge.
// Node's global fetch takes no CA; node:https does. A fresh connection per request, so
// every call pays a handshake, as a new client would.
import http from "node:http";
import https from "node:https";

export interface Answer {
  status: number;
  body: string;
  location?: string;
}

export interface RequestOptions {
  /** PEM of the certificate (or CA) the server must present a chain to. */
  ca?: string | Buffer;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/** The answer to one request; redirects are not followed (a 301 is an answer). */
export function request(url: string, opts: RequestOptions = {}): Promise<Answer> {
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: opts.method ?? "GET",
        headers: opts.headers,
        agent: false,
        timeout: opts.timeoutMs ?? 5_000,
        ...(url.startsWith("https:") ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            location: res.headers.location,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 5_000} ms: ${url}`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Basic authentication header for `user:password`. */
export function basicAuth(credentials: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
}

/** The certificate block of a PEM that holds a certificate and its key (the edge's tlsPem). */
export function certificateOf(pem: string): string {
  const cert = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)?.[0];
  if (!cert) throw new Error("no certificate in the PEM");
  return cert;
}
