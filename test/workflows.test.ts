// The CI workflows: valid against the GitHub Actions workflow schema (SchemaStore's, via
// action-validator) and GitHub's own workflow parser (the one behind the Actions editor
// tooling), and right in what they do: previews only on pull requests, every Pulumi step
// with its passphrase and cloud credentials from secrets, least-privilege permissions,
// no secret literal, shell snippets clean under shellcheck.
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isSecretLookingName } from "../policy/secrets";
import { ROOT } from "./support/pulumi";

/** A GitHub Actions expression, `${{ <e> }}` (spelt out so it is not read as a template literal). */
const gh = (e: string) => ["$", "{{ ", e, " }}"].join("");
const DIR = path.join(ROOT, ".github", "workflows");
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => readFileSync(path.join(DIR, file), "utf8");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  permissions?: Record<string, string> | string;
  environment?: { name: string } | string;
  if?: string;
  needs?: string[];
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);
const pulumiSteps = (wf: Workflow) => steps(wf).filter((s) => s.uses?.startsWith("pulumi/actions@"));

/**
 * Problems GitHub's own workflow parser reports (schema, expressions and their allowed
 * contexts), per file. It runs in a child process: see .github/scripts/check-workflows.mjs.
 */
function githubParserErrors(files: Record<string, string>): Record<string, string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "flotilla-wf-"));
  try {
    const paths = Object.entries(files).map(([name, content]) => {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    });
    let stdout: string;
    try {
      stdout = execFileSync(
        "node",
        [path.join(ROOT, ".github", "scripts", "check-workflows.mjs"), ...paths],
        {
          cwd: ROOT,
          encoding: "utf8",
        },
      );
    } catch (err) {
      stdout = String((err as { stdout?: string }).stdout ?? "");
    }
    const report = JSON.parse(stdout) as Record<string, string[]>;
    return Object.fromEntries(Object.entries(report).map(([p, errors]) => [path.basename(p), errors]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The stacks whose stack file targets OpenStack. */
function openstackStacks(): string[] {
  return readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .filter((s) => {
      const file = parse(readFileSync(path.join(ROOT, `Pulumi.${s}.yaml`), "utf8")) as {
        config?: Record<string, unknown>;
      };
      return file.config?.["flotilla:target"] === "openstack";
    })
    .sort();
}

describe("workflow files", () => {
  it("are the pull-request preview and the manual deploy", () => {
    expect(FILES.sort()).toEqual(["deploy.yml", "preview.yml"]);
  });

  it.each(FILES)("%s is valid against the GitHub Actions workflow schema (action-validator)", (file) => {
    expect(validateWorkflow(text(file)).errors).toEqual([]);
  });

  it("are accepted by GitHub's workflow parser (@actions/workflow-parser)", () => {
    const report = githubParserErrors(Object.fromEntries(FILES.map((f) => [f, text(f)])));
    expect(report).toEqual(Object.fromEntries(FILES.map((f) => [f, []])));
  });

  it("the validators do refuse broken workflows", () => {
    const broken = text("preview.yml").replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04");
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
    // An expression using a context that is not available where it is used (no steps at workflow level).
    const badContext = text("deploy.yml").replace(
      `group: deploy-${gh("inputs.stack")}`,
      `group: deploy-${gh("steps.x.outputs.y")}`,
    );
    const report = githubParserErrors({ "broken.yml": broken, "bad-context.yml": badContext });
    expect(report["broken.yml"].join("\n")).toContain("Required property is missing: runs-on");
    expect(report["bad-context.yml"].join("\n")).toMatch(/Unrecognized named-value: 'steps'/);
  });
});

describe("preview workflow", () => {
  const wf = workflow("preview.yml");

  it("runs on pull requests only (never pull_request_target, which would hand secrets to forks)", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
  });

  it("tests, then previews every OpenStack stack with the policy pack and comments on the pull request", () => {
    expect(wf.jobs.preview.needs).toEqual(["test", "stacks"]);
    expect(wf.jobs.test.steps.some((s) => s.run?.includes(".ci/run"))).toBe(true);
    const [step] = pulumiSteps(wf);
    expect(pulumiSteps(wf)).toHaveLength(1);
    expect(step.with).toMatchObject({
      command: "preview",
      "stack-name": gh("matrix.stack"),
      "comment-on-pr": true,
      policyPacks: "policy",
    });
  });

  it("never changes infrastructure", () => {
    for (const s of pulumiSteps(wf)) expect(s.with?.command).toBe("preview");
    for (const s of steps(wf)) expect(s.run ?? "").not.toMatch(/pulumi\s+(up|update|destroy|refresh|import)/);
  });

  it("skips pull requests from other repositories, which get no secrets", () => {
    expect(wf.jobs.preview.if).toContain(
      "github.event.pull_request.head.repo.full_name == github.repository",
    );
  });

  it("lists exactly the stacks whose target is openstack (its shell snippet, run for real)", () => {
    const script = wf.jobs.stacks.steps.find((s) => s.run)?.run ?? "";
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-wf-"));
    try {
      const output = path.join(dir, "output");
      execFileSync("bash", ["-c", script], { cwd: ROOT, env: { ...process.env, GITHUB_OUTPUT: output } });
      const line = readFileSync(output, "utf8").trim();
      expect(line.startsWith("stacks=")).toBe(true);
      expect(JSON.parse(line.slice("stacks=".length))).toEqual(openstackStacks());
      expect(openstackStacks()).toContain("helion");
      // With no OpenStack stack at all it lists none (and the preview job is skipped).
      const devOnly = path.join(dir, "dev-only");
      mkdirSync(devOnly);
      copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(devOnly, "Pulumi.dev.yaml"));
      execFileSync("bash", ["-c", script], { cwd: devOnly, env: { ...process.env, GITHUB_OUTPUT: output } });
      expect(readFileSync(output, "utf8").trim().split("\n").pop()).toBe("stacks=[]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("deploy workflow", () => {
  const wf = workflow("deploy.yml");

  it("is started by hand only, for one of the OpenStack stacks", () => {
    expect(Object.keys(wf.on)).toEqual(["workflow_dispatch"]);
    const input = (wf.on.workflow_dispatch as { inputs: Record<string, { type: string; options: string[] }> })
      .inputs.stack;
    expect(input.type).toBe("choice");
    expect([...input.options].sort()).toEqual(openstackStacks());
  });

  it("runs `pulumi up` with the policy pack, only inside the stack's protected environment", () => {
    for (const job of Object.values(wf.jobs)) {
      if (!job.steps.some((s) => s.uses?.startsWith("pulumi/actions@"))) continue;
      const env = typeof job.environment === "string" ? job.environment : job.environment?.name;
      expect(env).toBe(gh("inputs.stack"));
    }
    const [step] = pulumiSteps(wf);
    expect(step.with).toMatchObject({
      command: "up",
      "stack-name": gh("inputs.stack"),
      policyPacks: "policy",
    });
  });
});

describe.each(FILES)("%s: secrets and permissions", (file) => {
  const wf = workflow(file);

  it("gives every Pulumi step its passphrase, backend and OpenStack credentials from secrets", () => {
    expect(pulumiSteps(wf).length).toBeGreaterThan(0);
    for (const s of pulumiSteps(wf)) {
      expect(s.uses).toMatch(/^pulumi\/actions@v\d+$/);
      expect(s.env?.PULUMI_CONFIG_PASSPHRASE).toBe(gh("secrets.PULUMI_CONFIG_PASSPHRASE"));
      expect(s.with?.["cloud-url"]).toBe(gh("secrets.PULUMI_BACKEND_URL"));
      for (const name of [
        "OS_AUTH_URL",
        "OS_USERNAME",
        "OS_PASSWORD",
        "OS_PROJECT_NAME",
        "OS_USER_DOMAIN_NAME",
        "OS_PROJECT_DOMAIN_NAME",
        "OS_REGION_NAME",
      ]) {
        expect(s.env?.[name]).toBe(gh(`secrets.${name}`));
      }
    }
  });

  it("holds no secret literal: secret-looking values are secret references", () => {
    for (const s of steps(wf)) {
      for (const [key, value] of [...Object.entries(s.env ?? {}), ...Object.entries(s.with ?? {})]) {
        if (isSecretLookingName(key) || /^OS_|^AWS_/.test(key)) {
          expect(String(value), `${file}: ${key}`).toMatch(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/);
        }
      }
    }
    const content = text(file);
    expect(content).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(content).not.toMatch(/\bAKIA[0-9A-Z]{16}\b/);
    expect(content).not.toMatch(/\bgh[pousr]_[A-Za-z0-9]{36}\b/);
    expect(content).not.toMatch(/\bpul-[0-9a-f]{40}\b/);
  });

  it("asks for least privilege: read-only by default, pull-requests: write only where it comments", () => {
    expect(wf.permissions).toEqual({ contents: "read" });
    for (const job of Object.values(wf.jobs)) {
      const perms = job.permissions ?? {};
      expect(perms).not.toBe("write-all");
      const writes = Object.entries(perms).filter(([, level]) => level === "write");
      const comments = job.steps.some((s) => s.with?.["comment-on-pr"] === true);
      expect(writes.map(([scope]) => scope)).toEqual(comments ? ["pull-requests"] : []);
    }
  });

  it("uses actions by release tag (or commit), never a branch", () => {
    for (const s of steps(wf)) {
      if (s.uses) expect(s.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    }
  });

  it("documents every secret it uses in docs/ci-and-policies.md", () => {
    const docs = readFileSync(path.join(ROOT, "docs", "ci-and-policies.md"), "utf8");
    const used = [...text(file).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]);
    for (const name of new Set(used)) expect(docs, name).toContain(`\`${name}\``);
  });

  it("has shell snippets that pass shellcheck", () => {
    for (const s of steps(wf)) {
      if (!s.run) continue;
      // Expressions are substituted by the runner before the shell sees the script.
      const script = `#!/usr/bin/env bash\n${s.run.replace(/\$\{\{[^}]*\}\}/g, "expr")}`;
      expect(() => execFileSync("shellcheck", ["-s", "bash", "-"], { input: script }), s.run).not.toThrow();
    }
  });
});
