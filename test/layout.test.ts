// The code base's import rules (.dependency-cruiser.cjs), checked by dependency-cruiser:
// no import cycles, each components/ folder used through its index.ts only, imports
// flowing one way (wiring -> targets and stacks -> swarm -> config), pure planners free
// of Pulumi. A fixture with a cycle and a reach past an index.ts proves the rules fire.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/pulumi";

function cruise(...targets: string[]): { status: number | null; output: string } {
  const result = spawnSync(
    path.join(ROOT, "node_modules", ".bin", "depcruise"),
    ["--config", ".dependency-cruiser.cjs", "--output-type", "err-long", ...targets],
    { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
  );
  if (result.error) throw new Error(`depcruise could not run: ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("import rules", () => {
  it("the program, components, scripts and policies break none", () => {
    const { status, output } = cruise("index.ts", "components", "scripts", "policy");
    expect(output).toContain("no dependency violations found");
    expect(status, output).toBe(0);
  });

  it("a cycle and an import past another folder's index.ts are reported (the rules fire)", () => {
    const { status, output } = cruise("test/layout/fixtures");
    expect(status).not.toBe(0);
    expect(output).toMatch(/error no-circular:/);
    expect(output).toMatch(
      /error folder-internals-through-index: test\/layout\/fixtures\/components\/a\/x\.ts → test\/layout\/fixtures\/components\/b\/y\.ts/,
    );
  });
});
