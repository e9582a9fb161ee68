// Which Consul each target builds by default (docs/discovery.md: supported versions):
// a current official release on OpenStack, Debian's archived 1.8.7 (offline) elsewhere.
import { describe, expect, it } from "vitest";
import {
  consulBuild,
  DEBIAN_ARCHIVE_CONSUL_VERSION,
  HASHICORP_CONSUL_VERSION,
  parseConfig,
} from "../../components/config";
import { stackConfig } from "../support/pulumi";

describe("the Consul build by target", () => {
  it("dev builds Debian's archived 1.8.7 (offline) unless told otherwise", () => {
    const { config } = parseConfig(stackConfig("dev", {}));
    expect(consulBuild(config)).toEqual({ source: "debian-archive", version: DEBIAN_ARCHIVE_CONSUL_VERSION });
  });

  it("OpenStack builds a current official release from HashiCorp (checksummed by the build)", () => {
    const { config } = parseConfig(stackConfig("helion", {}));
    expect(config.target).toBe("openstack");
    expect(consulBuild(config)).toEqual({ source: "hashicorp", version: HASHICORP_CONSUL_VERSION });
    expect(Number(HASHICORP_CONSUL_VERSION.split(".")[1])).toBeGreaterThanOrEqual(11);
  });

  it("the operator's source and version win; the offline source still refuses a version it does not have", () => {
    const pinned = parseConfig(
      stackConfig("helion", {
        "flotilla:images": { registry: "registry.internal:5000", consulSource: "debian-archive" },
      }),
    ).config;
    expect(consulBuild(pinned)).toEqual({ source: "debian-archive", version: "1.8.7" });
    const dev = parseConfig(
      stackConfig("dev", { "flotilla:images": { consulSource: "hashicorp", consulVersion: "1.20.2" } }),
    ).config;
    expect(consulBuild(dev)).toEqual({ source: "hashicorp", version: "1.20.2" });
    expect(() =>
      parseConfig(
        stackConfig("helion", {
          "flotilla:images": { consulSource: "debian-archive", consulVersion: "1.21.0" },
        }),
      ),
    ).toThrow(/flotilla:images\.consulVersion: expected 1\.8\.7/);
  });
});
