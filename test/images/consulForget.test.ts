// consul-forget-former-self (the consul image's server start hook), run for real with
// stand-ins for the two programs it asks the cluster through (getent and curl): what it
// calls, when, and that the token stays out of argv. The discovery suite runs it in real
// servers (test/discovery/servers.docker.test.ts: three voters after a scale-up).
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../support/pulumi";

const SCRIPT = path.join(ROOT, "images/consul/rootfs/usr/lib/flotilla/consul-forget-former-self");
const TOKEN = "0b0f4a54-3c1e-4f5e-9d61-5a4f3a2b1c0d";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** One run: `servers` the addresses getent gives, `answers` what each curl call prints (cycled). */
function forget(opts: {
  previous?: string;
  name: string;
  servers: string[];
  answers?: Record<string, string>;
  seconds?: number;
}) {
  const dir = mkdtempSync(path.join(tmpdir(), "flotilla-forget-"));
  dirs.push(dir);
  const data = path.join(dir, "data");
  const bin = path.join(dir, "bin");
  mkdirSync(data);
  mkdirSync(bin);
  writeFileSync(path.join(data, "node-id"), "8e01ca25-7f9d-7c3e-edd0-6dcfc81dae02\n");
  if (opts.previous !== undefined) writeFileSync(path.join(data, "flotilla-node-name"), `${opts.previous}\n`);
  writeFileSync(path.join(dir, "token"), `${TOKEN}\n`);
  for (const server of opts.servers)
    writeFileSync(path.join(dir, `answer-${server}`), opts.answers?.[server] ?? "\n200");
  const stub = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  stub("getent", opts.servers.map((s) => `echo "${s} STREAM tasks.consul"`).join("\n"));
  // Records argv and the header file's content; answers what the test set for the URL's server.
  stub(
    "curl",
    `printf '%s\\n' "$*" >>"${dir}/calls"
for a in "$@"; do case "$a" in @*) cat "\${a#@}" >>"${dir}/headers" ;; http://*) url=$a ;; esac; done
server=\${url#http://}; server=\${server%%:*}
cat "${dir}/answer-$server"`,
  );
  const r = spawnSync("sh", [SCRIPT, opts.name], {
    encoding: "utf8",
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      CONSUL_DATA_DIR: data,
      CONSUL_RETRY_JOIN: "tasks.consul",
      CONSUL_MASTER_TOKEN_FILE: path.join(dir, "token"),
      CONSUL_FORGET_SECONDS: String(opts.seconds ?? 3),
    },
    timeout: 30_000,
  });
  const read = (f: string) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), "utf8") : "");
  return {
    status: r.status,
    stderr: r.stderr,
    calls: read("calls").split("\n").filter(Boolean),
    headers: read("headers"),
    recorded: read("data/flotilla-node-name").trim(),
  };
}

describe("consul-forget-former-self", () => {
  it("on a first start or under the same name records the name and asks nobody", () => {
    for (const previous of [undefined, "abc123"]) {
      const r = forget({ previous, name: "abc123", servers: ["10.0.0.2"] });
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([]);
      expect(r.recorded).toBe("abc123");
    }
  });

  it("under a new name asks every other server to force the former name out, pruned, the token in a header file only", () => {
    const r = forget({
      previous: "old111",
      name: "new222",
      servers: ["10.0.0.2", "10.0.0.3"],
      answers: { "10.0.0.2": "curl: (28) Operation timed out after 3000 milliseconds\n000" },
    });
    expect(r.status).toBe(0);
    expect(r.calls).toHaveLength(2);
    for (const ip of ["10.0.0.2", "10.0.0.3"]) {
      const call = r.calls.find((c) => c.includes(`http://${ip}:8500/`));
      expect(call, ip).toContain(`-m 3 -X PUT`);
      expect(call, ip).toContain(`http://${ip}:8500/v1/agent/force-leave/old111?prune`);
    }
    for (const call of r.calls) expect(call).not.toContain(TOKEN);
    expect(r.headers).toContain(`X-Consul-Token: ${TOKEN}`);
    expect(r.stderr).toContain("10.0.0.3 forced old111");
    expect(r.stderr).toContain("10.0.0.2 did not confirm the force-leave of old111: curl: (28)");
    expect(r.recorded).toBe("new222");
  });

  it("says which server does not know the name or refused it, and starts anyway", () => {
    const r = forget({
      previous: "old111",
      name: "new222",
      servers: ["10.0.0.2", "10.0.0.3"],
      answers: {
        "10.0.0.2": "agent: No node found with name 'old111'\n500",
        "10.0.0.3": "No cluster leader\n500",
      },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("10.0.0.2 does not know old111");
    expect(r.stderr).toContain("10.0.0.3 did not confirm the force-leave of old111: No cluster leader");
    const alone = forget({ previous: "old111", name: "new222", servers: [] });
    expect(alone.calls).toEqual([]);
    expect(alone.stderr).toContain("no other server answers");
  });

  it("passes CONSUL_FORGET_SECONDS to every call as its bound", () => {
    const r = forget({ previous: "old111", name: "new222", servers: ["10.0.0.2"], seconds: 2 });
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]).toContain("-m 2 ");
  });

  it("ignores a malformed former name instead of putting it in a URL", () => {
    const r = forget({ previous: "../agent/leave", name: "new222", servers: ["10.0.0.2"] });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.stderr).toContain("malformed");
  });
});
