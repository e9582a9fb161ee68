// Logs through a real Docker engine, with the options Flotilla renders:
// - shipping: a container run with the exact `logging:` the haproxy document gets for
//   `logging.syslogAddress` (udp and tcp, to listeners this test opens on 127.0.0.1: the
//   engine's log driver sends from the daemon, on the host) delivers its lines as RFC 5424
//   messages tagged `<service>/<container id>`, and `docker logs` still shows them (dual
//   logging, Docker 20.10 and later);
// - rotation: a container run with the engine's rotation settings (engineLogFlags, the same
//   function that writes every node's daemon.json) writes far more than max-size, and the
//   engine keeps exactly max-file files, none much over max-size.
// Lean: two short-lived containers per scenario from the local base image, no Swarm.
import { createSocket } from "node:dgram";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import {
  type ComposeLogging,
  type RenderInput,
  renderStacks,
  SECRET_TARGETS,
  type SecretTarget,
  secretName,
} from "../../components/stacks";
import { engineLogFlags, engineLogSettings } from "../../components/swarm";
import { describeWithDocker, docker } from "../support/docker";
import { ROOT, stackConfig } from "../support/pulumi";

const PREFIX = `flotilla-daytwo-logs-${process.pid}`;
const IMAGE = "debian:trixie-slim";
const created: string[] = [];
/** Printed figures, also written to test/artifacts/logging.json. */
const figures: Record<string, unknown> = {};

/** The haproxy service's rendered `logging:` for a collector at this address. */
function renderedLogging(syslogAddress: string): ComposeLogging {
  const config = parseConfig(stackConfig("dev", { "flotilla:logging": { syslogAddress } })).config;
  const secretNames = Object.fromEntries(
    SECRET_TARGETS.map((t) => [t, secretName("flotilla", t, t, "test-secret-name-key-0123456789abcdef")]),
  ) as Record<SecretTarget, string>;
  const images = Object.fromEntries(
    ["consul", "mysql", "webapp", "haproxy", "keepalived"].map((i) => [i, `flotilla/${i}:0.1.0`]),
  ) as RenderInput["images"];
  const docs = renderStacks({ config, images, secretNames } as RenderInput);
  const logging = docs.find((d) => d.stack === "haproxy")?.document.services.haproxy?.logging;
  if (!logging) throw new Error("the haproxy document has no logging: section");
  return logging;
}

/** A compose `logging:` as `docker run` flags (what Swarm passes to the engine for each task). */
const runFlags = (l: ComposeLogging) => [
  "--log-driver",
  l.driver,
  ...Object.entries(l.options).flatMap(([k, v]) => ["--log-opt", `${k}=${v}`]),
];

function run(name: string, flags: string[], script: string): string {
  const full = `${PREFIX}-${name}`;
  created.push(full);
  docker(["run", "-d", "--name", full, "--label", "flotilla.test=1", ...flags, IMAGE, "sh", "-c", script]);
  return docker(["inspect", "-f", "{{.Id}}", full]);
}
function waitExit(id: string) {
  docker(["wait", id]);
}

/** Collect syslog lines on 127.0.0.1 (udp datagrams, or tcp with octet-counted/newline framing). */
async function listen(proto: "udp" | "tcp"): Promise<{ port: number; lines: string[]; close: () => void }> {
  const lines: string[] = [];
  if (proto === "udp") {
    const sock = createSocket("udp4");
    sock.on("message", (m) => lines.push(m.toString("utf8")));
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
    return { port: sock.address().port, lines, close: () => sock.close() };
  }
  const server: Server = createServer((c) => {
    let buf = "";
    c.on("data", (d) => {
      buf += d.toString("utf8");
      let i = buf.indexOf("\n");
      while (i >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, lines, close: () => server.close() };
}

async function until(what: string, ok: () => boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeWithDocker("logs through a real engine", () => {
  beforeAll(() => {
    docker(["image", "inspect", IMAGE]);
  });
  afterAll(() => {
    mkdirSync(path.join(ROOT, "test", "artifacts"), { recursive: true });
    writeFileSync(
      path.join(ROOT, "test", "artifacts", "logging.json"),
      `${JSON.stringify(figures, null, 2)}\n`,
    );
    for (const name of created) {
      try {
        docker(["rm", "-f", name]);
      } catch {
        // already gone
      }
    }
  });

  it.each(["udp", "tcp"] as const)(
    "ships a container's lines to a %s syslog collector with the rendered options; docker logs still works",
    async (proto) => {
      const collector = await listen(proto);
      try {
        const logging = renderedLogging(`${proto}://127.0.0.1:${collector.port}`);
        const marker = `access-${proto}-${Date.now()}`;
        const id = run(`syslog-${proto}`, runFlags(logging), `echo "GET / 200 ${marker}"; sleep 1`);
        await until(`the ${proto} line`, () => collector.lines.some((l) => l.includes(marker)));
        const line = collector.lines.find((l) => l.includes(marker)) ?? "";
        console.log(`syslog ${proto}: ${line.trim()}`);
        figures[`syslog_${proto}_line`] = line.trim();
        // RFC 5424: <PRI>1 TIMESTAMP(with microseconds) HOST APP-NAME(the tag) PROCID MSGID SD MSG
        expect(line).toMatch(
          /^(\d+ )?<\d{1,3}>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d) \S+ \S+ /,
        );
        expect(line).toContain(`haproxy/${id.slice(0, 12)}`);
        expect(line).toContain(`GET / 200 ${marker}`);
        waitExit(id);
        // Dual logging: the engine's local cache still answers `docker logs`.
        expect(docker(["logs", id])).toContain(marker);
      } finally {
        collector.close();
      }
    },
  );

  it("rotates a container's json-file log at max-size, keeping max-file files (engineLogFlags)", () => {
    const rotation = { maxSize: "4k", maxFile: 3 };
    expect(engineLogSettings(rotation)["log-opts"]).toEqual({ "max-size": "4k", "max-file": "3" });
    // 2000 lines of ~60 bytes (with json-file's framing ~130 bytes each): about 250 KB, 60 times max-size.
    const id = run(
      "rotate",
      engineLogFlags(rotation),
      'i=0; while [ $i -lt 2000 ]; do echo "line $i of a log that must rotate, padded to some length"; i=$((i+1)); done',
    );
    waitExit(id);
    const logPath = docker(["inspect", "-f", "{{.LogPath}}", id]);
    const dir = path.dirname(logPath);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith(path.basename(logPath)))
      .sort();
    const sizes = files.map((f) => statSync(path.join(dir, f)).size);
    console.log(`rotation: ${files.length} files, sizes ${sizes.join(", ")} bytes (max-size 4k, max-file 3)`);
    figures.rotation = { maxSize: rotation.maxSize, maxFile: rotation.maxFile, files: files.length, sizes };
    expect(files).toEqual([`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    // A file rotates once it reaches max-size: none holds more than max-size plus one entry.
    for (const size of sizes) expect(size).toBeLessThan(4096 + 256);
    // The newest lines are kept, the oldest are gone.
    const logs = docker(["logs", id]);
    expect(logs).toContain("line 1999 ");
    expect(logs).not.toContain("line 0 ");
  });
});
