// The air-gapped path of images/base/bootstrap-debian.sh, for real: with no registry to
// pull from, it builds the Debian base with debootstrap and `docker import`s it, trimmed
// like the official slim image; a second run keeps it. Built under a test-only name so
// the machine's real `debian:trixie-slim` is never touched.
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeWithDocker, docker } from "../support/docker";
import { ROOT } from "../support/pulumi";

const TEST_IMAGE = "flotilla-test/debian:trixie-offline";
const script = path.join(ROOT, "images", "base", "bootstrap-debian.sh");
const bootstrap = (): string =>
  execFileSync("bash", [script], {
    env: { ...process.env, BASE_IMAGE: TEST_IMAGE },
    encoding: "utf8",
    timeout: 600_000,
  });

describeWithDocker("offline Debian base image (debootstrap + docker import)", () => {
  afterAll(() => {
    spawnSync("docker", ["rmi", "-f", TEST_IMAGE], { stdio: "ignore" });
  });

  it("builds the base with debootstrap when no registry answers, then keeps it", () => {
    spawnSync("docker", ["rmi", "-f", TEST_IMAGE], { stdio: "ignore" });
    const start = Date.now();
    const first = bootstrap();
    console.log(`offline base: ${first.trim()} in ${Date.now() - start} ms`);
    expect(first).toMatch(/no registry reachable; building .* with debootstrap/);
    expect(bootstrap()).toMatch(/already present/);
  });

  it("is a trimmed trixie: no apt lists, caches or docs, and apt configured to keep none", () => {
    const out = docker([
      "run",
      "--rm",
      "--label",
      "flotilla.test=1",
      TEST_IMAGE,
      "sh",
      "-c",
      ". /etc/os-release; echo $VERSION_CODENAME; ls /var/lib/apt/lists | grep -vc '^partial$\\|^lock$\\|^auxfiles$'; ls /usr/share/doc | wc -l; ls /var/cache/apt/*.bin 2>/dev/null | wc -l; test -f /etc/apt/apt.conf.d/docker-clean && echo clean-config",
    ]);
    expect(out.split("\n")).toEqual(["trixie", "0", "0", "0", "clean-config"]);
    const size = Number(docker(["image", "inspect", "-f", "{{.Size}}", TEST_IMAGE]));
    console.log(`offline base: ${Math.round(size / 1e6)} MB`);
    expect(size).toBeLessThan(150e6);
  });
});
