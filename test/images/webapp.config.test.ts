// The webapp's configuration parser (images/webapp/src/config.ts), without Docker:
// defaults, secrets from files, and errors that name the variable or file at fault.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../images/webapp/src/config";
import { LATENCY_BUCKETS, methodLabel } from "../../images/webapp/src/metrics";
import { isPrivateAddress, trustProxy } from "../../images/webapp/src/proxy";

const files = (entries: Record<string, string>) => (path: string) => entries[path];
const base = { MYSQL_HOST: "db", MYSQL_DATABASE: "app", MYSQL_USER: "app", WEBAPP_HOSTNAME: "web-1" };
const secret = files({ "/run/secrets/mysql_password": "s3cret\n" });

describe("webapp config", () => {
  it("applies the contract's defaults and reads the password from the secret file", () => {
    const config = loadConfig(base, secret);
    expect(config).toMatchObject({
      port: 8080,
      host: "web-1",
      drainMs: 10_000,
      mysql: { host: "db", port: 3306, database: "app", user: "app", password: "s3cret" },
      consul: { httpAddr: "http://127.0.0.1:8500", service: "webapp", serviceId: "webapp-web-1" },
      debugEndpoints: false,
    });
  });

  it("derives the same session key on every replica, never the password itself", () => {
    const a = loadConfig({ ...base, WEBAPP_HOSTNAME: "a" }, secret).sessionSecret;
    const b = loadConfig({ ...base, WEBAPP_HOSTNAME: "b" }, secret).sessionSecret;
    expect(a).toBe(b);
    expect(a).not.toContain("s3cret");
    const other = loadConfig(base, files({ "/run/secrets/mysql_password": "other" })).sessionSecret;
    expect(other).not.toBe(a);
    const explicit = loadConfig(
      base,
      files({ "/run/secrets/mysql_password": "x", "/run/secrets/webapp_session_secret": "k\n" }),
    );
    expect(explicit.sessionSecret).toBe("k");
  });

  it.each([
    [{ MYSQL_HOST: "" }, /^MYSQL_HOST is required$/],
    [{ WEBAPP_PORT: "80a" }, /^WEBAPP_PORT must be a whole number from 1 to 65535, not '80a'$/],
    [{ MYSQL_PORT: "70000" }, /^MYSQL_PORT must be/],
    [{ WEBAPP_DRAIN_SECONDS: "-1" }, /^WEBAPP_DRAIN_SECONDS must be/],
    [{ MYSQL_DATABASE: "app;drop" }, /^MYSQL_DATABASE must be 1-64 letters/],
    [{ WEBAPP_METRICS_PORT: "0" }, /^WEBAPP_METRICS_PORT must be a whole number from 1 to 65535, not '0'$/],
    [{ WEBAPP_METRICS_PORT: "8080" }, /^WEBAPP_METRICS_PORT must differ from WEBAPP_PORT \(both 8080\)$/],
  ])("refuses %j by name", (override, message) => {
    expect(() => loadConfig({ ...base, ...override }, secret)).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...override }, secret)).toThrow(message);
  });

  it("refuses a missing or empty password file, naming it", () => {
    expect(() => loadConfig(base, files({}))).toThrow(
      "secret /run/secrets/mysql_password (mysql_password) is missing or empty",
    );
    expect(() => loadConfig(base, files({ "/run/secrets/mysql_password": "\n" }))).toThrow(
      /missing or empty/,
    );
  });

  it("serves metrics on port 9100 unless WEBAPP_METRICS_PORT says otherwise", () => {
    expect(loadConfig(base, secret).metricsPort).toBe(9100);
    expect(loadConfig({ ...base, WEBAPP_METRICS_PORT: "9200" }, secret).metricsPort).toBe(9200);
  });
});

describe("webapp proxy trust and metric labels", () => {
  it.each([
    ["10.0.3.7", true],
    ["::ffff:10.0.3.7", true],
    ["172.18.0.1", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["127.0.0.1", true],
    ["::1", true],
    ["fd12::1", true],
    ["203.0.113.7", false],
    ["::ffff:203.0.113.7", false],
    ["2001:db8::1", false],
    ["not-an-address", false],
  ])("%s is private: %s", (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it("trusts forwarded headers from the direct peer only, and only a private one", () => {
    expect(trustProxy("10.0.3.7", 0)).toBe(true);
    expect(trustProxy("203.0.113.7", 0)).toBe(false);
    // A second private hop is an address a client wrote in X-Forwarded-For: not trusted.
    expect(trustProxy("10.0.3.8", 1)).toBe(false);
  });

  it("keeps label values bounded and buckets in seconds, ascending", () => {
    expect(methodLabel("GET")).toBe("GET");
    expect(methodLabel("PROPFIND")).toBe("other");
    expect([...LATENCY_BUCKETS].sort((a, b) => a - b)).toEqual(LATENCY_BUCKETS);
    expect(LATENCY_BUCKETS[0]).toBeLessThan(0.01);
    expect(LATENCY_BUCKETS.at(-1)).toBeGreaterThanOrEqual(5);
  });
});
