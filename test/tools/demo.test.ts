// The demo's command line and its step listing (no Docker: the demo itself is run by
// demo-dev.docker.test.ts).
import { describe, expect, it } from "vitest";
import { parseArgs, stepLines, USAGE } from "../../tools/demo";

describe("npm run demo arguments", () => {
  it("takes a stack, --down (with --unprotect), repeated --replace and --help", () => {
    expect(parseArgs(["--stack", "dev"])).toEqual({
      stack: "dev",
      down: false,
      unprotect: false,
      replace: [],
      help: false,
    });
    expect(parseArgs(["--stack", "lab", "--down", "--unprotect", "--confirm", "lab"])).toMatchObject({
      down: true,
      unprotect: true,
    });
    expect(parseArgs(["--stack=lab", "--replace", "lab-node-1", "--replace=urn:x"])).toMatchObject({
      stack: "lab",
      replace: ["lab-node-1", "urn:x"],
    });
    expect(parseArgs(["--stack", "dev", "--down"]).down).toBe(true);
    expect(parseArgs(["--help"]).help).toBe(true);
    expect(USAGE).toMatch(/second `pulumi up`/);
  });

  it("refuses what it does not know, a missing stack and --replace with --down", () => {
    expect(() => parseArgs(["--stack", "dev", "--force"])).toThrow(/unknown argument '--force'/);
    expect(() => parseArgs([])).toThrow(/--stack is required/);
    expect(() => parseArgs(["--stack", "dev", "--down", "--replace", "x"])).toThrow(
      /--replace goes with an up/,
    );
    expect(() => parseArgs(["--stack", "lab", "--unprotect"])).toThrow(/--unprotect goes with --down/);
  });

  it("deletes the data only with the stack's name typed again (--confirm)", () => {
    expect(() => parseArgs(["--stack", "lab", "--down", "--unprotect"])).toThrow(
      /--unprotect deletes the protected resources \(the MariaDB data volumes: every row\): type the stack's name again, --confirm lab$/,
    );
    expect(() => parseArgs(["--stack", "lab", "--down", "--unprotect", "--confirm", "dev"])).toThrow(
      /--confirm lab \(got 'dev'\)/,
    );
    expect(() => parseArgs(["--stack", "lab", "--down", "--confirm", "lab"])).toThrow(
      /--confirm goes with --unprotect/,
    );
    expect(() => parseArgs(["--stack", "lab", "--down", "--unprotect", "--confirm"])).toThrow(
      /--confirm needs the stack's name/,
    );
  });
});

describe("the steps a run prints", () => {
  it("lists what changed with its reason and counts the unchanged", () => {
    const step = { type: "command:local:Command", urn: "u", startedMs: 0, finishedMs: 0 };
    const lines = stepLines({
      steps: [
        {
          ...step,
          seq: 1,
          op: "replace",
          name: "deploy",
          order: "create-before-delete",
          replaceKeys: ["triggers"],
        },
        { ...step, seq: 2, op: "update", name: "join", changedKeys: ["create"] },
        { ...step, seq: 3, op: "same", name: "a" },
        { ...step, seq: 4, op: "same", name: "b" },
        { ...step, seq: 5, op: "delete", name: "deploy", replaced: true },
      ],
    });
    expect(lines).toEqual([
      "  replace command:local:Command deploy [create-before-delete; triggers]",
      "  update  command:local:Command join [create]",
      "  delete  command:local:Command deploy [the replaced original]",
      "  same    2 resource(s)",
    ]);
  });
});
