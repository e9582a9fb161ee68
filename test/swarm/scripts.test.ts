// The exact scripts the remote commands run (lib.sh inlined) pass shellcheck, and
// the command lines quote their arguments and carry no secrets.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellQuote } from "../../components/repo";
import { type SwarmScript, scriptCommand, swarmScriptText as scriptText } from "../../components/swarm";

const SCRIPTS: SwarmScript[] = [
  "init",
  "join-tokens",
  "join",
  "label",
  "drain",
  "leave",
  "format-if-empty-and-mount",
  "unmount",
];

describe("remote scripts", () => {
  it.each(SCRIPTS)("%s, as the remote command runs it, passes shellcheck", (script) => {
    const text = scriptText(script);
    expect(text).toContain("wait_for_engine()");
    expect(text).not.toMatch(/^\. /m);
    const result = spawnSync("shellcheck", ["--shell=bash", "--format=gcc", "-"], {
      input: text,
      encoding: "utf8",
    });
    if (result.error) throw new Error(`shellcheck could not run: ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("quotes every argument for a POSIX shell", () => {
    const tricky = `it's $(rm -rf /) "quoted"`;
    const result = spawnSync("sh", ["-c", `printf '%s' ${shellQuote(tricky)}`], { encoding: "utf8" });
    expect(result.stdout).toBe(tricky);
    expect(shellQuote("lb=true")).toBe("lb=true");
    expect(scriptCommand("label", ["abc", "lb=true", "a b"])).toMatch(
      /^sudo -n bash -c "\$\(printf %s [A-Za-z0-9+/=]+ \| base64 -d\)" flotilla-label abc lb=true 'a b'$/,
    );
  });
});
