// The CONSUL_SOURCE=hashicorp path, offline: a local stand-in for releases.hashicorp.com
// (CONSUL_RELEASES_URL) serves a release zip and its SHA256SUMS in HashiCorp's layout.
// The real fetch script downloads, verifies and unpacks it; a zip that does not match
// SHA256SUMS, or a pinned CONSUL_SHA256 that does not match, fails the build.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithDocker } from "../support/docker";
import { ROOT } from "../support/pulumi";
import { buildImages, image } from "./s6Support";

const VERSION = "9.9.9";
const ZIP = `consul_${VERSION}_linux_amd64.zip`;

/** A zip archive with one stored (uncompressed) file: enough for `unzip`. */
function storedZip(name: string, content: Buffer): Buffer {
  const file = Buffer.from(name);
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(0x031e, 4); // made by Unix, so the mode below counts
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(file.length, 28);
  central.writeUInt32LE((0o100755 << 16) >>> 0, 38);
  const localPart = Buffer.concat([local, file, content]);
  const centralPart = Buffer.concat([central, file]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralPart.length, 12);
  end.writeUInt32LE(localPart.length, 16);
  return Buffer.concat([localPart, centralPart, end]);
}

const zip = storedZip("consul", Buffer.from(`#!/bin/sh\necho "Consul v${VERSION} (stand-in)"\n`));
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describeWithDocker("consul image: CONSUL_SOURCE=hashicorp against a local release server", () => {
  let server: Server;
  let url = "";
  let sums = `${sha(zip)}  ${ZIP}\n`;

  /** docker build of the fetch stage, asynchronously (the server answers from this process). */
  const buildFetch = (extra: string[]): Promise<{ status: number; out: string }> =>
    new Promise((resolve) => {
      const args = [
        "build",
        "--force-rm",
        "--network",
        "host",
        "--target",
        "fetch",
        "--build-arg",
        `BASE_IMAGE=${image("s6-base")}`,
        "--build-arg",
        "CONSUL_SOURCE=hashicorp",
        "--build-arg",
        `CONSUL_VERSION=${VERSION}`,
        "--build-arg",
        `CONSUL_RELEASES_URL=${url}`,
        ...extra,
        path.join(ROOT, "images", "consul"),
      ];
      const child = spawn("docker", args);
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        out += d;
      });
      const timer = setTimeout(() => child.kill(), 300_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ status: code ?? -1, out });
      });
    });

  beforeAll(async () => {
    buildImages(["s6-base"]);
    server = createServer((req, res) => {
      const files: Record<string, Buffer> = {
        [`/consul/${VERSION}/${ZIP}`]: zip,
        [`/consul/${VERSION}/consul_${VERSION}_SHA256SUMS`]: Buffer.from(sums),
      };
      const body = files[req.url ?? ""];
      res.writeHead(body ? 200 : 404).end(body ?? "not found");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  it("downloads the release zip, checks it against SHA256SUMS and the pinned sum, unpacks consul", async () => {
    const r = await buildFetch(["--build-arg", `CONSUL_SHA256=${sha(zip)}`]);
    expect(r.out).toMatch(/consul_9\.9\.9_linux_amd64\.zip: OK/);
    expect(r.out).toContain(`Consul v${VERSION} (stand-in)`);
    expect(r.status).toBe(0);
    // The fetch stage's untagged image is of no further use.
    const id = r.out.match(/Successfully built ([0-9a-f]+)/)?.[1];
    if (id)
      console.log(
        `removing the fetch stage image ${id}: ${spawnSync("docker", ["rmi", id], { encoding: "utf8" }).stderr}`,
      );
  });

  it("fails when the zip does not match the pinned CONSUL_SHA256", async () => {
    const r = await buildFetch(["--build-arg", `CONSUL_SHA256=${"0".repeat(64)}`]);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/FAILED/);
  });

  it("fails when the zip does not match the release's SHA256SUMS", async () => {
    sums = `${"1".repeat(64)}  ${ZIP}\n`;
    const r = await buildFetch([]);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/FAILED/);
  });
});
