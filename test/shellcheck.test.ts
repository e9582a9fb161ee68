// Every shell script in the repository passes shellcheck (the real one, from Debian).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/pulumi";

/** Files git knows (tracked or new, not ignored) whose first line is a sh/bash shebang, or named *.sh. */
function shellScripts(): string[] {
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean)
    .filter((f) => !f.includes("node_modules/"));
  return files.filter((f) => {
    if (f.endsWith(".sh")) return true;
    if (/\.(ts|js|json|ya?ml|md|png|lock)$/.test(f)) return false;
    try {
      const first = readFileSync(path.join(ROOT, f), "utf8").split("\n", 1)[0];
      return /^#!.*\b(ba)?sh\b/.test(first);
    } catch {
      return false;
    }
  });
}

describe("shell scripts", () => {
  const scripts = shellScripts();

  it("there are scripts to check (the discovery works)", () => {
    expect(scripts).toContain(".ci/run");
    expect(scripts).toContain("scripts/dev/start-dockerd.sh");
  });

  it.each(scripts)("%s passes shellcheck", (file) => {
    const result = spawnSync("shellcheck", ["--external-sources", "--format=gcc", file], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (result.error)
      throw new Error(`shellcheck could not run (apt-get install shellcheck): ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
