// The lab VM container's own log rotation (components/lab/vm.ts, from config `logging`):
// the provider's argument names, checked against @pulumi/docker's declarations, and the
// same flags on the docker CLI line the lab's Docker suite runs.
import type { ContainerArgs } from "@pulumi/docker";
import { describe, expect, it } from "vitest";
import { dockerCreateArgs, type LabVmArgs, labVmSpec } from "../../components/lab/vm";
import { engineLogFlags } from "../../components/swarm";

const ARGS: LabVmArgs = {
  name: "lab-node-0",
  hostname: "node-0",
  image: "flotilla/lab-vm:0.1.0",
  network: "lab",
  dockerVolume: "lab-node-0-docker",
  seed: { userData: "#cloud-config\n", metaData: "instance-id: lab-node-0\n" },
};

describe("lab VM container log rotation", () => {
  it("without logging: the host engine's default (no log keys)", () => {
    const spec = labVmSpec(ARGS);
    expect(spec.logDriver).toBeUndefined();
    expect(spec.logOpts).toBeUndefined();
    expect(dockerCreateArgs(spec)).not.toContain("--log-driver");
  });

  it("with logging: json-file with max-size and max-file, in the provider's names and on the CLI line", () => {
    const spec = labVmSpec({ ...ARGS, logging: { maxSize: "5m", maxFile: 2 } });
    const provider: Pick<ContainerArgs, "logDriver" | "logOpts"> = {
      logDriver: spec.logDriver,
      logOpts: spec.logOpts,
    };
    expect(provider).toEqual({ logDriver: "json-file", logOpts: { "max-size": "5m", "max-file": "2" } });
    const argv = dockerCreateArgs(spec);
    const flags = engineLogFlags({ maxSize: "5m", maxFile: 2 });
    const at = argv.indexOf("--log-driver");
    expect(argv.slice(at, at + flags.length)).toEqual(flags);
    expect(at).toBeLessThan(argv.indexOf("flotilla/lab-vm:0.1.0"));
  });

  it("refuses a bad size, naming the config key", () => {
    expect(() => labVmSpec({ ...ARGS, logging: { maxSize: "5 MB", maxFile: 2 } })).toThrow(
      /logging\.maxSize/,
    );
  });
});
