// The Images component under Pulumi mocks: seven docker.Image builds in dependency order,
// build args wired from the base/consul images' digests, push vs local by target, the
// Consul source as build args; plus the catalog's agreement with images/build.sh and
// the Dockerfiles.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as command from "@pulumi/command";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../components/config";
import {
  DebianBase,
  hostExtraCaCerts,
  IMAGE_CATALOG,
  IMAGE_NAMES,
  Images,
  imageBuildArgs,
  imageTag,
  registryServer,
} from "../../components/images";
import { localCommand } from "../../components/repo";
import { type Evaluation, evaluate, type RecordedResource, ROOT, resolved } from "../support/pulumi";

const IMAGE = "docker:index/image:Image";

async function build(
  raw: Record<string, unknown>,
  ownRegistry?: { push: string; pull: string },
): Promise<{ ev: Evaluation; refs: Record<string, string> }> {
  const config = configSchema.parse(raw);
  let refs: Record<string, string> = {};
  const ev = await evaluate(async () => {
    const base = new DebianBase("flotilla", { image: config.images.baseImage });
    // The target's registry container, as a lab would declare it.
    const registry = ownRegistry ? new command.local.Command("lab-registry", { create: "true" }) : undefined;
    const images = new Images("flotilla", {
      target: config.target,
      images: config.images,
      base,
      ...(ownRegistry && registry ? { registry: { ...ownRegistry, dependsOn: [registry] } } : {}),
    });
    refs = Object.fromEntries(
      await Promise.all(Object.entries(images.refs).map(async ([k, v]) => [k, await resolved(v)] as const)),
    );
    return {};
  });
  return { ev, refs };
}

const image = (ev: Evaluation, name: string): RecordedResource => ev.one(IMAGE, `flotilla-${name}`);
const args = (r: RecordedResource): Record<string, string> =>
  (r.inputs.build as { args: Record<string, string> }).args;

const OPENSTACK = {
  target: "openstack",
  images: { registry: "registry.internal:5000/flotilla" },
  swarm: { managers: 3, workers: 3 },
  openstack: {
    externalNetwork: "ext",
    image: "debian-13",
    flavors: { bastion: "s", manager: "m", worker: "l" },
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockKey ops@x",
  },
};

describe("Images component", () => {
  it("builds the seven images locally, without pushing and never during preview", async () => {
    const { ev } = await build({});
    const images = ev.byType(IMAGE);
    // Registration order is asynchronous; the build order is in dependsOn (next test).
    expect(images.map((r) => r.name).sort()).toEqual(IMAGE_NAMES.map((n) => `flotilla-${n}`).sort());
    const component = ev.one("flotilla:images:Images");
    for (const r of images) {
      expect(r.parent).toBe(component.urn);
      expect(r.inputs.skipPush).toBe(true);
      expect(r.inputs.buildOnPreview).toBe(false);
      expect(r.inputs.registry).toBeUndefined();
    }
    expect(image(ev, "webapp").inputs.imageName).toBe("flotilla/webapp:0.1.0");
    // Relative to the project directory: the same inputs from any checkout (no rebuild).
    expect(String((image(ev, "mysql").inputs.build as { context: string }).context)).toBe("images/mysql");
  });

  it("builds s6-base after the Debian base image, and every other image FROM s6-base's digest", async () => {
    const { ev, refs } = await build({});
    const bootstrap = ev.one("command:local:Command", "flotilla-debian-base");
    expect(String(bootstrap.inputs.create)).toBe(localCommand("images/base/bootstrap-debian.sh"));
    const debian = ev.one("flotilla:images:DebianBase");
    expect(bootstrap.parent).toBe(debian.urn);
    const base = image(ev, "s6-base");
    // A component in dependsOn stands for its children: the build waits for the command.
    expect(base.dependencies).toEqual([bootstrap.urn]);
    // No version on the base: a release bump leaves it (and every image's cache) unchanged.
    expect(args(base)).toEqual({ DEBIAN_IMAGE: "debian:trixie-slim" });
    for (const name of IMAGE_NAMES.filter((n) => n !== "s6-base")) {
      expect(args(image(ev, name)).FLOTILLA_VERSION, name).toBe("0.1.0");
      expect(image(ev, name).dependencies, name).toContain(base.urn);
      expect(args(image(ev, name)).BASE_IMAGE, name).toBe(refs["s6-base"]);
    }
    expect(refs["s6-base"]).toMatch(/@sha256:/);
  });

  it("gives webapp and haproxy the consul image's digest (CONSUL_IMAGE), and only them", async () => {
    const { ev, refs } = await build({});
    const consul = image(ev, "consul");
    for (const name of ["webapp", "haproxy"]) {
      expect(image(ev, name).dependencies).toContain(consul.urn);
      expect(args(image(ev, name)).CONSUL_IMAGE).toBe(refs.consul);
    }
    for (const name of ["s6-base", "consul", "mysql", "keepalived"]) {
      expect(args(image(ev, name)).CONSUL_IMAGE, name).toBeUndefined();
    }
  });

  it("exposes refs = repoDigest per image", async () => {
    const { ev, refs } = await build({});
    expect(Object.keys(refs)).toEqual([...IMAGE_NAMES]);
    for (const name of IMAGE_NAMES) expect(refs[name]).toBe(`flotilla/${name}@sha256:${"0".repeat(64)}`);
    expect(ev.byType(IMAGE)).toHaveLength(7);
  });

  it("pushes to the registry on OpenStack, under the registry prefix", async () => {
    const { ev } = await build(OPENSTACK);
    for (const name of IMAGE_NAMES) {
      const r = image(ev, name);
      expect(r.inputs.skipPush).toBe(false);
      expect(r.inputs.imageName).toBe(`registry.internal:5000/flotilla/${name}:0.1.0`);
      expect(r.inputs.registry).toEqual({ server: "registry.internal:5000" });
    }
  });

  it("pushes to a target's own registry on 127.0.0.1 after it exists, and hands the stacks the nodes' address of the same digests", async () => {
    const LAB = { target: "lab", swarm: { managers: 3, workers: 4 }, lab: {} };
    const own = { push: "127.0.0.1:5000/flotilla", pull: "10.213.0.2:5000/flotilla" };
    const { ev, refs } = await build(LAB, own);
    const registry = ev.one("command:local:Command", "lab-registry");
    for (const name of IMAGE_NAMES) {
      const r = image(ev, name);
      expect(r.inputs.skipPush).toBe(false);
      expect(r.inputs.imageName).toBe(`127.0.0.1:5000/flotilla/${name}:0.1.0`);
      expect(r.inputs.registry).toEqual({ server: "127.0.0.1:5000" });
      expect(r.dependencies).toContain(registry.urn);
      expect(refs[name]).toBe(`10.213.0.2:5000/flotilla/${name}@sha256:${"0".repeat(64)}`);
    }
    // This machine builds FROM the digests as it pushed them, not the nodes' address.
    expect(args(image(ev, "webapp")).BASE_IMAGE).toBe(
      `127.0.0.1:5000/flotilla/s6-base@sha256:${"0".repeat(64)}`,
    );
    await expect(build(LAB)).rejects.toThrow(/target 'lab' needs its registry/);
  });

  it("passes the Consul source to the consul build: Debian's archive by default, HashiCorp on request", async () => {
    const byDefault = await build({});
    expect(args(image(byDefault.ev, "consul"))).toMatchObject({
      CONSUL_SOURCE: "debian-archive",
      CONSUL_VERSION: "1.8.7",
    });
    const hashicorp = await build({ images: { consulSource: "hashicorp", consulVersion: "1.20.2" } });
    expect(args(image(hashicorp.ev, "consul"))).toMatchObject({
      CONSUL_SOURCE: "hashicorp",
      CONSUL_VERSION: "1.20.2",
    });
    expect(args(image(hashicorp.ev, "webapp")).CONSUL_SOURCE).toBeUndefined();
  });
});

describe("the host's extra CA certificates for the webapp's npm ci", () => {
  it("reads FLOTILLA_EXTRA_CA_FILE, else the .crt files an administrator added, else nothing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-ca-"));
    try {
      expect(hostExtraCaCerts({}, path.join(dir, "missing"))).toBe("");
      writeFileSync(path.join(dir, "b.crt"), "CERT-B\n");
      writeFileSync(path.join(dir, "a.crt"), "CERT-A\n");
      writeFileSync(path.join(dir, "notes.txt"), "not a certificate");
      expect(hostExtraCaCerts({}, dir)).toBe("CERT-A\nCERT-B");
      writeFileSync(path.join(dir, "bundle.pem"), "BUNDLE\n");
      expect(hostExtraCaCerts({ FLOTILLA_EXTRA_CA_FILE: path.join(dir, "bundle.pem") }, dir)).toBe("BUNDLE");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("image catalog", () => {
  it("is the order images/build.sh builds in", () => {
    const script = readFileSync(path.join(ROOT, "images", "build.sh"), "utf8");
    const line = script.match(/^images=\(([^)]*)\)$/m);
    expect(line, "build.sh has an images=(...) line").not.toBeNull();
    expect(line?.[1].trim().split(/\s+/)).toEqual([...IMAGE_NAMES]);
  });

  it("matches each Dockerfile: FROM the BASE_IMAGE arg for all but s6-base, CONSUL_IMAGE where the binary is copied", () => {
    for (const spec of IMAGE_CATALOG) {
      const file = path.join(ROOT, spec.context, "Dockerfile");
      if (!existsSync(file)) continue; // images built by another part of the work may not exist yet
      const text = readFileSync(file, "utf8");
      expect(/^FROM \$\{BASE_IMAGE\}/m.test(text), `${spec.name}: FROM \${BASE_IMAGE}`).toBe(spec.fromBase);
      expect(/^ARG CONSUL_IMAGE/m.test(text), `${spec.name}: ARG CONSUL_IMAGE`).toBe(spec.usesConsul);
    }
    for (const name of ["s6-base", "consul", "mysql"]) {
      expect(existsSync(path.join(ROOT, "images", name, "Dockerfile")), name).toBe(true);
    }
  });

  it("names tags, registry servers and build args", () => {
    expect(imageTag("consul", "1.2.3")).toBe("flotilla/consul:1.2.3");
    expect(imageTag("consul", "1.2.3", "reg:5000/team/")).toBe("reg:5000/team/consul:1.2.3");
    expect(registryServer("reg:5000/team")).toBe("reg:5000");
    const webapp = IMAGE_CATALOG.find((s) => s.name === "webapp");
    expect(webapp).toBeDefined();
    if (!webapp) return;
    const opts = {
      version: "1",
      debianImage: "d",
      consul: { source: "hashicorp", version: "1.20.2" },
    } as const;
    expect(() => imageBuildArgs(webapp, opts)).toThrow(/BASE_IMAGE/);
    expect(() => imageBuildArgs(webapp, { ...opts, baseRef: "b" })).toThrow(/CONSUL_IMAGE/);
    expect(imageBuildArgs(webapp, { ...opts, baseRef: "b", consulRef: "c" })).toEqual({
      BASE_IMAGE: "b",
      CONSUL_IMAGE: "c",
      FLOTILLA_VERSION: "1",
    });
  });
});
