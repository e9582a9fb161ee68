// The CI workflows: valid against the GitHub Actions workflow schema (SchemaStore's, via
// action-validator) and GitHub's own workflow parser (the one behind the Actions editor
// tooling), and right in what they do: previews only on pull requests, every Pulumi step
// with its passphrase and cloud credentials from secrets, least-privilege permissions,
// no secret literal, shell snippets clean under shellcheck, third-party actions pinned by
// commit SHA (tag in a comment), Node 22 or later, and the scheduled drift check per
// OpenStack stack with its issue keeper (.github/scripts/drift-issue.cjs) run against an
// in-memory stand-in for GitHub's issues API.
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
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isSecretLookingName } from "../policy/secrets";
import { ROOT } from "./support/pulumi";

/** A GitHub Actions expression, `${{ <e> }}` (spelt out so it is not read as a template literal). */
const require = createRequire(path.join(ROOT, "package.json"));
const gh = (e: string) => ["$", "{{ ", e, " }}"].join("");
const DIR = path.join(ROOT, ".github", "workflows");
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => readFileSync(path.join(DIR, file), "utf8");

interface Step {
  name?: string;
  id?: string;
  if?: string;
  "continue-on-error"?: boolean;
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
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}
const workflow = (file: string) => parse(text(file)) as Workflow;
/** The Pulumi CLI version the `pulumi` npm launcher is pinned to. */
const PULUMI_PINNED = (
  JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  }
).devDependencies.pulumi;
/** action → "<sha> <tag>", filled across the workflow files. */
const PINS = new Map<string, string>();
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
  it("are the pull-request preview, the manual deploy and the scheduled drift check", () => {
    expect(FILES.sort()).toEqual(["deploy.yml", "drift.yml", "preview.yml"]);
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

describe("drift workflow", () => {
  const wf = workflow("drift.yml");
  const drift = wf.jobs.drift;
  const check = drift.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
  const keeper = drift.steps.find((s) => s.uses?.startsWith("actions/github-script@"));

  it("runs on a schedule (a valid five-field cron) and by hand", () => {
    expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    const schedule = wf.on.schedule as { cron: string }[];
    expect(schedule.length).toBeGreaterThan(0);
    for (const { cron } of schedule) {
      const fields = cron.split(/\s+/);
      expect(fields).toHaveLength(5);
      expect(Number(fields[0])).toBeLessThan(60);
      expect(Number(fields[1])).toBeLessThan(24);
    }
  });

  it("checks each OpenStack stack the stacks job lists (its shell snippet, run for real)", () => {
    expect(drift.needs).toEqual(["stacks"]);
    expect(drift.strategy?.matrix?.stack).toBe(gh("fromJSON(needs.stacks.outputs.stacks)"));
    const script = wf.jobs.stacks.steps.find((s) => s.run)?.run ?? "";
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-wf-"));
    try {
      const output = path.join(dir, "output");
      execFileSync("bash", ["-c", script], { cwd: ROOT, env: { ...process.env, GITHUB_OUTPUT: output } });
      const line = readFileSync(output, "utf8").trim();
      expect(JSON.parse(line.slice("stacks=".length))).toEqual(openstackStacks());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("previews with a refresh, the policy pack and --expect-no-changes, never changing anything", () => {
    expect(check?.with).toMatchObject({
      command: "preview",
      "stack-name": gh("matrix.stack"),
      refresh: true,
      "expect-no-changes": true,
      policyPacks: "policy",
    });
    expect(check?.["continue-on-error"]).toBe(true);
    for (const s of pulumiSteps(wf)) expect(s.with?.command).toBe("preview");
    for (const s of steps(wf)) expect(s.run ?? "").not.toMatch(/pulumi\s+(up|update|destroy|refresh|import)/);
  });

  it("hands the check's outcome to the issue keeper, then fails the run when the stack drifted", () => {
    expect(drift.permissions).toEqual({ contents: "read", issues: "write" });
    expect(keeper?.env).toMatchObject({
      STACK: gh("matrix.stack"),
      OUTCOME: gh(`steps.${check?.id}.outcome`),
      PREVIEW: gh(`steps.${check?.id}.outputs.output`),
    });
    expect(String(keeper?.with?.script)).toContain('require("./.github/scripts/drift-issue.cjs")');
    const last = drift.steps.at(-1);
    expect(last?.if).toBe(`steps.${check?.id}.outcome != 'success'`);
    expect(last?.run).toContain("exit 1");
  });
});

describe("drift issue keeper (.github/scripts/drift-issue.cjs)", () => {
  const { reportDrift, driftTitle } = require(path.join(ROOT, ".github", "scripts", "drift-issue.cjs")) as {
    reportDrift: (a: unknown) => Promise<{ action: string; number?: number }>;
    driftTitle: (stack: string) => string;
  };
  const BOT = "github-actions[bot]";
  interface Issue {
    creator: string;
    number: number;
    title: string;
    state: string;
    labels: string[];
    comments: string[];
    body: string;
  }
  /** An in-memory stand-in for the part of GitHub's REST API the keeper calls (octokit's shapes). */
  function fakeGithub(issues: Issue[]) {
    const rest = {
      issues: {
        listForRepo: async (q: { state: string; creator: string }) => ({
          data: issues.filter((i) => i.state === q.state && i.creator === q.creator),
        }),
        create: async (a: { title: string; body: string; labels: string[] }) => {
          const issue = { number: issues.length + 1, state: "open", comments: [], creator: BOT, ...a };
          issues.push(issue);
          return { data: issue };
        },
        createComment: async (a: { issue_number: number; body: string }) => {
          issues.find((i) => i.number === a.issue_number)?.comments.push(a.body);
          return { data: {} };
        },
        update: async (a: { issue_number: number; state: string }) => {
          const issue = issues.find((i) => i.number === a.issue_number);
          if (issue) issue.state = a.state;
          return { data: issue };
        },
      },
    };
    const paginate = async (fn: (q: unknown) => Promise<{ data: unknown[] }>, q: unknown) =>
      (await fn(q)).data;
    return { rest, paginate };
  }
  const context = { repo: { owner: "o", repo: "r" } };
  const core = { info: () => {}, warning: () => {} };
  const run = (issues: Issue[], env: Record<string, string>) =>
    reportDrift({
      github: fakeGithub(issues),
      context,
      core,
      env: { RUN_URL: "https://example/run/1", ...env },
    });

  it("opens one issue per stack, then comments on it while drift lasts, and closes it once clean", async () => {
    const issues: Issue[] = [
      {
        number: 1,
        title: "Drift: stack other",
        state: "open",
        labels: ["drift"],
        comments: [],
        body: "",
        creator: BOT,
      },
      // Someone's own issue with the same title is not the workflow's to comment on or close.
      {
        number: 2,
        title: "Drift: stack helion",
        state: "open",
        labels: [],
        comments: [],
        body: "",
        creator: "alice",
      },
    ];
    const preview = "~ openstack:networking:SecGroupRule admin-ssh update [diff: ~remoteIpPrefix]";
    expect(await run(issues, { STACK: "helion", OUTCOME: "failure", PREVIEW: preview })).toEqual({
      action: "opened",
      number: 3,
    });
    expect(issues[2]).toMatchObject({ title: "Drift: stack helion", labels: ["drift"], state: "open" });
    expect(issues[2].body).toContain(preview);
    expect(issues[2].body).toContain("https://example/run/1");
    expect(await run(issues, { STACK: "helion", OUTCOME: "failure", PREVIEW: "" })).toEqual({
      action: "commented",
      number: 3,
    });
    expect(issues).toHaveLength(3);
    expect(await run(issues, { STACK: "helion", OUTCOME: "cancelled" })).toEqual({ action: "none" });
    expect(await run(issues, { STACK: "helion", OUTCOME: "success" })).toEqual({
      action: "closed",
      number: 3,
    });
    expect(issues.map((i) => i.state)).toEqual(["open", "open", "closed"]);
    expect(issues[1].comments).toEqual([]);
    expect(await run(issues, { STACK: "helion", OUTCOME: "success" })).toEqual({ action: "none" });
  });

  it("keeps the issue body under GitHub's limit and refuses a malformed stack name", async () => {
    const issues: Issue[] = [];
    await run(issues, { STACK: "helion", OUTCOME: "failure", PREVIEW: "x".repeat(200_000) });
    expect(issues[0].body.length).toBeLessThan(65_536);
    expect(() => driftTitle("a b")).toThrow(/STACK: expected a stack name/);
  });
});

describe.each(FILES)("%s: secrets and permissions", (file) => {
  const wf = workflow(file);

  it("gives every Pulumi step its passphrase, backend and OpenStack credentials from secrets", () => {
    expect(pulumiSteps(wf).length).toBeGreaterThan(0);
    for (const s of pulumiSteps(wf)) {
      expect(s.uses).toMatch(/^pulumi\/actions@[0-9a-f]{40}$/);
      // The CLI the npm launcher pins, so CI runs what `npm run up` runs.
      expect(s.with?.["pulumi-version"]).toBe(PULUMI_PINNED);
      expect(s.with?.policyPacks).toBe("policy");
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

  it("asks for least privilege: read-only by default; pull-requests: write where it comments, issues: write where it files drift", () => {
    expect(wf.permissions).toEqual({ contents: "read" });
    for (const job of Object.values(wf.jobs)) {
      const perms = job.permissions ?? {};
      expect(perms).not.toBe("write-all");
      const writes = Object.entries(perms).filter(([, level]) => level === "write");
      const comments = job.steps.some((s) => s.with?.["comment-on-pr"] === true);
      const filesIssues = job.steps.some((s) => String(s.with?.script ?? "").includes("drift-issue.cjs"));
      const expected = [...(comments ? ["pull-requests"] : []), ...(filesIssues ? ["issues"] : [])];
      expect(writes.map(([scope]) => scope).sort()).toEqual(expected.sort());
    }
  });

  it("pins every action by a 40-hex commit SHA with its release tag in a comment", () => {
    const lines = text(file)
      .split("\n")
      .filter((l) => /^\s*(-\s+)?uses:/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/);
      const [, action, sha, tag] = /uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\S+)$/.exec(line) ?? [];
      // One commit per action and tag across all workflows.
      const seen = PINS.get(action);
      if (seen) expect(`${sha} ${tag}`, `${file}: ${action}`).toBe(seen);
      else PINS.set(action, `${sha} ${tag}`);
    }
  });

  it("sets up Node 22 or later wherever it sets up Node (20 is past its end of life)", () => {
    for (const s of steps(wf)) {
      if (!s.uses?.startsWith("actions/setup-node@")) continue;
      expect(Number(s.with?.["node-version"]), `${file}: node-version`).toBeGreaterThanOrEqual(22);
    }
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(">=22");
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
