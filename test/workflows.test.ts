// The CI workflows: valid against the GitHub Actions workflow schema (SchemaStore's, via
// action-validator) and GitHub's own workflow parser (the one behind the Actions editor
// tooling), and right in what they do: previews only on pull requests and never behind the
// Docker suites, every job's timeout at least 1.5 times its measured time (the table in
// docs/ci-and-policies.md is rendered from JOB_TIMES below), the secrets split between
// the approved `preview` environment (read-only credentials), `drift` and the stack's own
// environment (the only one that can write), no production secret in a pull-request job,
// the deploy key in an SSH agent before `pulumi up` (that step run for real),
// least-privilege permissions, no secret literal, shell snippets clean under shellcheck,
// third-party actions pinned by commit SHA (tag in a comment), Node 22 or later, and the
// scheduled drift check per OpenStack stack with its issue keeper
// (.github/scripts/drift-issue.cjs) run against an in-memory stand-in for GitHub's issues API.
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
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
import { pathToFileURL } from "node:url";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isSecretLookingName } from "../policy/secrets";
import { ROOT } from "./support/pulumi";
import { withTempDir } from "./support/tempDir";

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
  "runs-on"?: string | string[];
  "timeout-minutes"?: number | string;
  permissions?: Record<string, string> | string;
  environment?: { name: string } | string;
  if?: string;
  needs?: string[] | string;
  strategy?: { matrix?: Record<string, unknown> & { include?: Record<string, unknown>[] } };
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
  return withTempDir("flotilla-wf-", (dir) => {
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
  });
}

/** The line the `stacks` job's shell snippet writes to GITHUB_OUTPUT when run for real in `cwd`. */
function stacksJobOutput(wf: Workflow, cwd: string): string {
  const script = wf.jobs.stacks.steps.find((s) => s.run)?.run ?? "";
  return withTempDir("flotilla-wf-", (dir) => {
    const output = path.join(dir, "output");
    execFileSync("bash", ["-c", script], { cwd, env: { ...process.env, GITHUB_OUTPUT: output } });
    return readFileSync(output, "utf8").trim();
  });
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

// ---------------------------------------------------------------------------------------
// Job times: what each job took, the timeouts they justify, and the preview's budget

/** A job's time on one run: measured, or estimated where the job needs a cloud this machine has not. */
interface JobTime {
  minutes: number;
  basis: "measured" | "estimated";
  /** What the figure covers, and where it comes from. */
  what: string;
}

/**
 * Every job of every workflow, keyed `<file> <job>` (a lane of a matrix: `<file> <job> (<lane>)`).
 * Measured on the project's 2-core build machine (the lanes: the per-file times of the
 * clean-clone rehearsal of 5 December 2026, 17:12, `npx tsx scripts/dev/suite-times.ts`,
 * images cached); the jobs that need OpenStack and GitHub's
 * environments could not run there and are estimates. docs/ci-and-policies.md shows this
 * table (rendered below, checked by a test).
 */
const JOB_TIMES: Record<string, JobTime> = {
  "preview.yml checks": {
    minutes: 1.3,
    basis: "measured",
    what: "machine setup, typecheck, lint, the unit and Pulumi mock suites (77 s, images cached)",
  },
  "preview.yml docker (lab)": { minutes: 11.7, basis: "measured", what: "vitest project `docker-lab`" },
  "preview.yml docker (cluster)": {
    minutes: 14,
    basis: "measured",
    what: "vitest project `docker-cluster` (cluster, Galera, discovery)",
  },
  "preview.yml docker (misc)": {
    minutes: 16.9,
    basis: "measured",
    what: "vitest projects `docker-dev` and `docker-misc`",
  },
  "preview.yml stacks": { minutes: 0.5, basis: "estimated", what: "a checkout and a grep" },
  "preview.yml preview": {
    minutes: 5,
    basis: "estimated",
    what: "`npm ci`, then `pulumi preview` of one stack against the cloud",
  },
  "deploy.yml up": {
    minutes: 30,
    basis: "estimated",
    what: "a first `pulumi up` of helion: VMs boot, images build and push, the Swarm forms, the stacks deploy",
  },
  "drift.yml stacks": { minutes: 0.5, basis: "estimated", what: "a checkout and a grep" },
  "nightly.yml lab-quorum": {
    minutes: 23,
    basis: "estimated",
    what: "vitest project `docker-lab` (16.3 min measured) and its quorum rows (6.5 min measured alone, `FLOTILLA_LAB_QUORUM=1`)",
  },
  "drift.yml drift": {
    minutes: 5,
    basis: "estimated",
    what: "`npm ci`, the pinned CLI, then `pulumi refresh --preview-only` of one stack against the cloud",
  },
};
/** A job's timeout is at least this many times its time. */
const TIMEOUT_FACTOR = 1.5;
/** A pull request's preview posts within this many minutes (from the approval). */
const PREVIEW_BUDGET_MINUTES = 15;

/** One job as it runs: a matrix lane (`include` entries with a `lane`) is a job of its own. */
interface JobRun {
  key: string;
  job: string;
  timeout?: number;
}

function jobRuns(file: string, wf: Workflow): JobRun[] {
  return Object.entries(wf.jobs).flatMap(([id, job]) => {
    const timeout = job["timeout-minutes"];
    const fromMatrix =
      typeof timeout === "string" ? /^\$\{\{ matrix\.(\w+) \}\}$/.exec(timeout)?.[1] : undefined;
    const lanes = (job.strategy?.matrix?.include ?? []).filter((e) => typeof e.lane === "string");
    if (lanes.length === 0)
      return [{ key: `${file} ${id}`, job: id, timeout: typeof timeout === "number" ? timeout : undefined }];
    return lanes.map((e) => ({
      key: `${file} ${id} (${e.lane})`,
      job: id,
      timeout: fromMatrix ? Number(e[fromMatrix]) : typeof timeout === "number" ? timeout : undefined,
    }));
  });
}

const needsOf = (job: Job): string[] =>
  job.needs === undefined ? [] : typeof job.needs === "string" ? [job.needs] : job.needs;

/** The events that start a workflow (`on:` as a string, a list or a map). */
const triggers = (wf: Workflow): string[] =>
  typeof wf.on === "string" ? [wf.on] : Array.isArray(wf.on) ? (wf.on as string[]) : Object.keys(wf.on);

/** The jobs that preview a pull request: a Pulumi step in a workflow pull requests start. */
const previewJobs = (wf: Workflow): string[] =>
  triggers(wf).includes("pull_request")
    ? Object.entries(wf.jobs)
        .filter(([, j]) => j.steps.some((s) => s.uses?.startsWith("pulumi/actions@")))
        .map(([id]) => id)
    : [];

/**
 * What is wrong with a workflow's timing: a job with no recorded time, a timeout under
 * TIMEOUT_FACTOR times the time, a preview behind a job longer than the budget (at any
 * depth of `needs`), or a preview whose longest chain of jobs exceeds the budget.
 */
function timingProblems(file: string, wf: Workflow, times: Record<string, JobTime> = JOB_TIMES): string[] {
  const problems: string[] = [];
  const runs = jobRuns(file, wf);
  for (const run of runs) {
    const time = times[run.key];
    if (!time) problems.push(`${run.key}: no measured time in JOB_TIMES`);
    else if (run.timeout === undefined || !(run.timeout >= TIMEOUT_FACTOR * time.minutes))
      problems.push(
        `${run.key}: timeout-minutes ${run.timeout} is under ${TIMEOUT_FACTOR} × its ${time.minutes} min`,
      );
  }
  /** A job's longest time over its runs (a matrix lane's at most). */
  const minutes = (job: string) =>
    Math.max(
      0,
      ...runs.filter((r) => r.job === job).map((r) => times[r.key]?.minutes ?? Number.POSITIVE_INFINITY),
    );
  /** The longest chain of minutes up to and including `job`. */
  const chain = (job: string, seen: string[] = []): number => {
    if (seen.includes(job)) throw new Error(`${file}: needs cycle through ${job}`);
    return (
      minutes(job) +
      Math.max(0, ...needsOf(wf.jobs[job] ?? { steps: [] }).map((n) => chain(n, [...seen, job])))
    );
  };
  const ancestors = (job: string): string[] =>
    needsOf(wf.jobs[job] ?? { steps: [] }).flatMap((n) => [n, ...ancestors(n)]);
  for (const preview of previewJobs(wf)) {
    for (const dep of new Set(ancestors(preview))) {
      if (minutes(dep) > PREVIEW_BUDGET_MINUTES)
        problems.push(
          `${file} ${preview}: depends on ${dep} (${minutes(dep)} min), longer than the ${PREVIEW_BUDGET_MINUTES} min budget`,
        );
    }
    const total = chain(preview);
    if (total > PREVIEW_BUDGET_MINUTES)
      problems.push(
        `${file} ${preview}: posts after ${total} min of jobs, over the ${PREVIEW_BUDGET_MINUTES} min budget`,
      );
  }
  return problems;
}

/** The table docs/ci-and-policies.md holds between its ci-times markers. */
function jobTimesTable(): string {
  const rows = [...FILES].sort().flatMap((file) =>
    jobRuns(file, workflow(file)).map((run) => {
      const t = JOB_TIMES[run.key];
      const [, job] = run.key.split(/ (.*)/s);
      return `| \`${file}\` | ${job} | ${t?.minutes} min, ${t?.basis} | ${t?.what} | ${run.timeout} min |`;
    }),
  );
  return ["| Workflow | Job | Time | What it covers | Timeout |", "|---|---|---|---|---|", ...rows].join(
    "\n",
  );
}

// ---------------------------------------------------------------------------------------
// Secrets: which environment holds which

/** Held by every environment, each its own copy (the passphrase has no read-only variant). */
const SHARED_SECRETS = ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", "OS_AUTH_URL", "OS_REGION_NAME"];
/** The `preview` and `drift` environments' read-only credentials. */
const READER_SECRETS = [
  "OPENSTACK_READER_CREDENTIAL_ID",
  "OPENSTACK_READER_CREDENTIAL_SECRET",
  "STATE_READER_ACCESS_KEY_ID",
  "STATE_READER_SECRET_ACCESS_KEY",
];
/**
 * What can change the cloud, the state or the nodes: only in the stack's environment. The
 * last two are the names the workflows used before the split (a password user), refused
 * anywhere but a deploy.
 */
const PRODUCTION_SECRETS = [
  "OPENSTACK_DEPLOY_CREDENTIAL_ID",
  "OPENSTACK_DEPLOY_CREDENTIAL_SECRET",
  "STATE_ACCESS_KEY_ID",
  "STATE_SECRET_ACCESS_KEY",
  "DEPLOY_SSH_PRIVATE_KEY",
  "OS_USERNAME",
  "OS_PASSWORD",
];
/** Each workflow's secrets, by the environment they live in. */
const ENVIRONMENTS: Record<string, { environment: string; secrets: string[] }> = {
  "preview.yml": { environment: "preview", secrets: [...SHARED_SECRETS, ...READER_SECRETS] },
  "drift.yml": { environment: "drift", secrets: [...SHARED_SECRETS, ...READER_SECRETS] },
  "deploy.yml": { environment: gh("inputs.stack"), secrets: [...SHARED_SECRETS, ...PRODUCTION_SECRETS] },
};

const environmentOf = (job: Job) =>
  typeof job.environment === "string" ? job.environment : job.environment?.name;
/** The secrets a job's text names (GITHUB_TOKEN aside: GitHub gives it to every job). */
const secretsOf = (job: Job): string[] =>
  [...new Set([...JSON.stringify(job).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]))].filter(
    (n) => n !== "GITHUB_TOKEN",
  );

/**
 * What is wrong with the secrets of a workflow that pull requests start: it is
 * pull_request_target, or a job names a production secret, a secret outside the preview's
 * set, secrets without the approved `preview` environment, or a self-hosted runner.
 */
function pullRequestProblems(file: string, wf: Workflow): string[] {
  const problems: string[] = [];
  const on = triggers(wf);
  if (on.includes("pull_request_target")) problems.push(`${file}: uses pull_request_target`);
  if (!on.includes("pull_request")) return problems;
  const allowed = ENVIRONMENTS["preview.yml"].secrets;
  for (const [id, job] of Object.entries(wf.jobs)) {
    const used = secretsOf(job);
    for (const name of used.filter((n) => PRODUCTION_SECRETS.includes(n)))
      problems.push(`${file} ${id}: a pull-request job names the production secret ${name}`);
    for (const name of used.filter((n) => !allowed.includes(n) && !PRODUCTION_SECRETS.includes(n)))
      problems.push(`${file} ${id}: ${name} is not one of the preview environment's secrets`);
    if (used.length > 0 && environmentOf(job) !== "preview")
      problems.push(`${file} ${id}: uses secrets outside the approved preview environment`);
    const runsOn = [job["runs-on"] ?? []].flat();
    if (runsOn.includes("self-hosted"))
      problems.push(`${file} ${id}: a pull-request job on a self-hosted runner`);
  }
  return problems;
}

/** The Docker projects of vitest.config.mts (the lanes of `npm test`). */
async function dockerProjects(): Promise<string[]> {
  const config = (await import(pathToFileURL(path.join(ROOT, "vitest.config.mts")).href)) as {
    default: { test: { projects: { test: { name: string } }[] } };
  };
  return config.default.test.projects.map((p) => p.test.name).filter((n) => n.startsWith("docker-"));
}

describe("workflow files", () => {
  it("are the pull-request preview, the manual deploy, the scheduled drift check and the nightly lab", () => {
    expect(FILES.sort()).toEqual(["deploy.yml", "drift.yml", "nightly.yml", "preview.yml"]);
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

describe("job times", () => {
  it.each(FILES)(
    "%s: every job has a time and a timeout of at least 1.5 times it; previews stay in budget",
    (file) => {
      expect(timingProblems(file, workflow(file))).toEqual([]);
    },
  );

  it("every recorded time belongs to a job that exists", () => {
    const runs = FILES.flatMap((f) => jobRuns(f, workflow(f)).map((r) => r.key));
    expect(Object.keys(JOB_TIMES).filter((k) => !runs.includes(k))).toEqual([]);
  });

  it("the check refuses a preview behind a long job, a short timeout and an unmeasured job", () => {
    const behindDocker = workflow("preview.yml");
    behindDocker.jobs.preview.needs = ["checks", "stacks", "docker"];
    expect(timingProblems("preview.yml", behindDocker)).toEqual([
      "preview.yml preview: depends on docker (16.9 min), longer than the 15 min budget",
      "preview.yml preview: posts after 21.9 min of jobs, over the 15 min budget",
    ]);
    // Through a fast job that itself waits for the Docker lanes.
    const transitive = workflow("preview.yml");
    transitive.jobs.checks.needs = ["docker"];
    expect(timingProblems("preview.yml", transitive)).toContain(
      "preview.yml preview: depends on docker (16.9 min), longer than the 15 min budget",
    );
    // Several short jobs in a row: each under the budget, together over it.
    const chained = workflow("preview.yml");
    expect(
      timingProblems("preview.yml", chained, {
        ...JOB_TIMES,
        "preview.yml checks": { ...JOB_TIMES["preview.yml checks"], minutes: 9 },
        "preview.yml preview": { ...JOB_TIMES["preview.yml preview"], minutes: 7 },
      }),
    ).toEqual(["preview.yml preview: posts after 16 min of jobs, over the 15 min budget"]);
    const short = workflow("preview.yml");
    (short.jobs.docker.strategy?.matrix?.include ?? [])[0].timeout = 15;
    short.jobs.stacks["timeout-minutes"] = undefined;
    expect(timingProblems("preview.yml", short)).toEqual([
      "preview.yml docker (lab): timeout-minutes 15 is under 1.5 × its 11.7 min",
      "preview.yml stacks: timeout-minutes undefined is under 1.5 × its 0.5 min",
    ]);
    const unmeasured = workflow("preview.yml");
    unmeasured.jobs.e2e = { ...unmeasured.jobs.checks };
    expect(timingProblems("preview.yml", unmeasured)).toEqual([
      "preview.yml e2e: no measured time in JOB_TIMES",
    ]);
  });

  it("docs/ci-and-policies.md shows this table between its ci-times markers", () => {
    const docs = readFileSync(path.join(ROOT, "docs", "ci-and-policies.md"), "utf8");
    const block = /<!-- ci-times [^>]*-->\n([\s\S]*?)\n<!-- ci-times:end -->/.exec(docs)?.[1];
    expect(block, "docs/ci-and-policies.md: no ci-times block").toBeDefined();
    expect(block).toBe(jobTimesTable());
  });
});

describe("secrets and environments", () => {
  it.each(FILES)("%s: never pull_request_target; a pull-request job names no production secret", (file) => {
    expect(pullRequestProblems(file, workflow(file))).toEqual([]);
  });

  it("the check refuses pull_request_target, a production secret, a job outside `preview`, a self-hosted runner", () => {
    const target = workflow("preview.yml");
    target.on = { pull_request_target: {} };
    expect(pullRequestProblems("preview.yml", target)).toEqual(["preview.yml: uses pull_request_target"]);
    const production = parse(
      text("preview.yml").replace("secrets.STATE_READER_ACCESS_KEY_ID", "secrets.STATE_ACCESS_KEY_ID"),
    ) as Workflow;
    expect(pullRequestProblems("preview.yml", production)).toEqual([
      "preview.yml preview: a pull-request job names the production secret STATE_ACCESS_KEY_ID",
    ]);
    const unapproved = workflow("preview.yml");
    unapproved.jobs.preview.environment = undefined;
    unapproved.jobs.checks.steps.push({ run: "true", env: { TOKEN: gh("secrets.NPM_TOKEN") } });
    unapproved.jobs.stacks["runs-on"] = ["self-hosted", "flotilla-deploy"];
    expect(pullRequestProblems("preview.yml", unapproved)).toEqual([
      "preview.yml checks: NPM_TOKEN is not one of the preview environment's secrets",
      "preview.yml checks: uses secrets outside the approved preview environment",
      "preview.yml stacks: a pull-request job on a self-hosted runner",
      "preview.yml preview: uses secrets outside the approved preview environment",
    ]);
  });

  it.each(FILES)(
    "%s: every job that uses secrets runs in its workflow's environment and uses only that environment's",
    (file) => {
      // A workflow with no environment (the nightly lab) may use no secret at all.
      const { environment, secrets } = ENVIRONMENTS[file] ?? { environment: undefined, secrets: [] };
      for (const [id, job] of Object.entries(workflow(file).jobs)) {
        const used = secretsOf(job);
        if (used.length === 0) continue;
        expect(environmentOf(job), `${file} ${id}`).toBe(environment);
        expect(
          used.filter((n) => !secrets.includes(n)),
          `${file} ${id}`,
        ).toEqual([]);
      }
    },
  );

  it("the preview, drift and deploy environments are three different ones, and only the deploy's holds production secrets", () => {
    const envs = Object.values(ENVIRONMENTS).map((e) => e.environment);
    expect(new Set(envs).size).toBe(3);
    expect(environmentOf(workflow("preview.yml").jobs.preview)).toBe("preview");
    for (const file of FILES) {
      const used = Object.values(workflow(file).jobs).flatMap(secretsOf);
      const production = used.filter((n) => PRODUCTION_SECRETS.includes(n));
      if (file === "deploy.yml") expect(production.length).toBeGreaterThan(0);
      else expect(production, file).toEqual([]);
    }
  });
});

describe("preview workflow", () => {
  const wf = workflow("preview.yml");

  it("runs on pull requests only (never pull_request_target, which would hand secrets to forks)", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
  });

  it("checks fast, then previews every OpenStack stack with the policy pack and comments on the pull request", () => {
    expect(wf.jobs.preview.needs).toEqual(["checks", "stacks"]);
    const checks = wf.jobs.checks.steps.map((s) => s.run ?? "").join("\n");
    for (const command of [
      "npm run --silent typecheck",
      "npm run --silent lint",
      "npx vitest run --project unit",
    ])
      expect(checks).toContain(command);
    const [step] = pulumiSteps(wf);
    expect(pulumiSteps(wf)).toHaveLength(1);
    expect(step.with).toMatchObject({
      command: "preview",
      "stack-name": gh("matrix.stack"),
      "comment-on-pr": true,
      policyPacks: "policy",
    });
  });

  it("runs every Docker project of vitest.config.mts in a lane of its own job, the lanes side by side", async () => {
    const lanes = wf.jobs.docker.strategy?.matrix?.include ?? [];
    expect(lanes.map((l) => l.lane)).toEqual(["lab", "cluster", "misc"]);
    const projects = lanes.flatMap((l) => String(l.projects).split(" "));
    expect(projects.sort()).toEqual((await dockerProjects()).sort());
    expect(new Set(projects).size).toBe(projects.length);
    expect(wf.jobs.docker.needs).toBeUndefined();
    const script = wf.jobs.docker.steps.find((s) => s.run?.includes("vitest"));
    expect(script?.env?.PROJECTS).toBe(gh("matrix.projects"));
    expect(script?.run).toContain("FLOTILLA_REQUIRE_DOCKER=1 npx vitest run");
    expect(script?.run).toContain("bash scripts/dev/prepare-images.sh");
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
    const line = stacksJobOutput(wf, ROOT);
    expect(line.startsWith("stacks=")).toBe(true);
    expect(JSON.parse(line.slice("stacks=".length))).toEqual(openstackStacks());
    expect(openstackStacks()).toContain("helion");
    // With no OpenStack stack at all it lists none (and the preview job is skipped).
    withTempDir("flotilla-wf-dev-only-", (devOnly) => {
      copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(devOnly, "Pulumi.dev.yaml"));
      expect(stacksJobOutput(wf, devOnly)).toBe("stacks=[]");
    });
  });
});

describe("deploy workflow", () => {
  const wf = workflow("deploy.yml");
  const up = wf.jobs.up;
  const pulumiAt = up.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
  const agentAt = up.steps.findIndex((s) => /\bssh-agent\b[^\n]*-a\b/.test(s.run ?? ""));
  const stopAt = up.steps.findIndex((s) => /\bssh-agent\s+-k\b/.test(s.run ?? ""));

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
      expect(environmentOf(job)).toBe(gh("inputs.stack"));
    }
    const [step] = pulumiSteps(wf);
    expect(step.with).toMatchObject({
      command: "up",
      "stack-name": gh("inputs.stack"),
      policyPacks: "policy",
    });
  });

  it("runs on the self-hosted runner inside access.adminCidrs", () => {
    expect(up["runs-on"]).toEqual(["self-hosted", "flotilla-deploy"]);
  });

  it("starts an SSH agent with the deploy key before `pulumi up`, and stops it after, whatever happened", () => {
    expect(agentAt).toBeGreaterThanOrEqual(0);
    expect(agentAt).toBeLessThan(pulumiAt);
    expect(stopAt).toBeGreaterThan(pulumiAt);
    expect(up.steps[stopAt].if).toMatch(/^always\(\)/);
    const agent = up.steps[agentAt];
    expect(agent.env).toEqual({ DEPLOY_SSH_KEY: gh("secrets.DEPLOY_SSH_PRIVATE_KEY") });
    // The key reaches the agent on stdin only: no file, no echo, no trace.
    expect(agent.run).toMatch(/ssh-add\b[^\n]* - <<<"\$DEPLOY_SSH_KEY"/);
    expect(agent.run).not.toMatch(
      /(echo|printf|cat)\b[^\n]*DEPLOY_SSH_KEY|set -[a-z]*x|>[^>&\n]*DEPLOY_SSH_KEY/,
    );
    expect(agent.run).toContain('>>"$GITHUB_ENV"');
    // The key outlives the job's timeout, so a long deploy never loses it mid-run.
    const lifetime = Number(/ssh-add\b[^\n]*-t (\d+)m/.exec(agent.run ?? "")?.[1]);
    expect(lifetime).toBeGreaterThanOrEqual(Number(up["timeout-minutes"]));
  });

  it("the agent steps, run for real: the key is loaded, never printed, and the agent is gone after", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-agent-"));
    let pid = 0;
    try {
      const keyFile = path.join(dir, "id_ed25519");
      execFileSync("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "flotilla-deploy-test",
        "-f",
        keyFile,
      ]);
      const key = readFileSync(keyFile, "utf8");
      const githubEnv = path.join(dir, "github-env");
      writeFileSync(githubEnv, "");
      const env = { PATH: process.env.PATH ?? "", HOME: dir, RUNNER_TEMP: dir, GITHUB_ENV: githubEnv };
      const started = spawnSync("bash", ["-c", up.steps[agentAt].run ?? ""], {
        env: { ...env, DEPLOY_SSH_KEY: key },
        encoding: "utf8",
      });
      expect(started.status, started.stderr).toBe(0);
      const exported = Object.fromEntries(
        readFileSync(githubEnv, "utf8")
          .trim()
          .split("\n")
          .map((l) => l.split(/=(.*)/s).slice(0, 2)),
      );
      pid = Number(exported.SSH_AGENT_PID);
      expect(pid).toBeGreaterThan(0);
      expect(exported.SSH_AUTH_SOCK).toBe(path.join(dir, "ssh-agent.sock"));
      const body = key.split("\n").filter((l) => l && !l.startsWith("-----"));
      for (const line of body) expect(started.stdout + started.stderr).not.toContain(line);
      // What the next steps (pulumi up) see through the agent: exactly the deploy key.
      const listed = execFileSync("ssh-add", ["-L"], { env: { ...env, ...exported }, encoding: "utf8" });
      expect(listed.trim()).toBe(readFileSync(`${keyFile}.pub`, "utf8").trim());
      const stopped = spawnSync("bash", ["-c", up.steps[stopAt].run ?? ""], {
        env: { ...env, ...exported },
        encoding: "utf8",
      });
      expect(stopped.status, stopped.stderr).toBe(0);
      // ssh-agent -k signals the agent; it exits a moment later.
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50 && alive(); i++) execFileSync("sleep", ["0.1"]);
      expect(alive()).toBe(false);
      expect(existsSync(exported.SSH_AUTH_SOCK)).toBe(false);
      pid = 0;
    } finally {
      if (pid) process.kill(pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("drift workflow", () => {
  const wf = workflow("drift.yml");
  const drift = wf.jobs.drift;
  const check = drift.steps.find((s) => s.id === "check");
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
    const line = stacksJobOutput(wf, ROOT);
    expect(JSON.parse(line.slice("stacks=".length))).toEqual(openstackStacks());
  });

  it("compares the cloud with the state (refresh --preview-only): an undeployed merge is not drift, and nothing is changed", () => {
    expect(check?.run).toMatch(
      /pulumi refresh --preview-only --expect-no-changes --diff --non-interactive --suppress-outputs \\\n\s*--stack "\$STACK"/,
    );
    expect(check?.env?.STACK).toBe(gh("matrix.stack"));
    expect(check?.["continue-on-error"]).toBe(true);
    // No program run: no preview or up of the program, no refresh that writes the state.
    expect(pulumiSteps(wf)).toEqual([]);
    for (const s of steps(wf))
      for (const line of (s.run ?? "")
        .split("\n")
        .filter((l) => /pulumi\s+\w/.test(l) && !/get\.pulumi\.com/.test(l)))
        expect(line).toMatch(/pulumi (login|refresh --preview-only)\b/);
    // The CLI is the one the npm launcher pins.
    const install = drift.steps.find((s) => s.run?.includes("get.pulumi.com"));
    expect(install?.run).toContain('require("./package.json").devDependencies.pulumi');
  });

  it("passes the check's output on even when the check fails (the step writes it before its exit status)", () => {
    withTempDir("flotilla-drift-", (dir) => {
      const bin = path.join(dir, "bin");
      mkdirSync(bin);
      // A stand-in CLI: login succeeds, the refresh prints a diff and exits 255 as --expect-no-changes does.
      writeFileSync(
        path.join(bin, "pulumi"),
        '#!/bin/sh\n[ "$1" = login ] && exit 0\necho "~ openstack:networking:SecGroupRule flotilla-node-ssh-bastion update [diff: ~remoteIpPrefix]"\nexit 255\n',
        { mode: 0o755 },
      );
      const output = path.join(dir, "output");
      const result = spawnSync("bash", ["-c", String(check?.run)], {
        cwd: dir,
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          GITHUB_OUTPUT: output,
          STACK: "helion",
          PULUMI_BACKEND_URL: "file://x",
        },
        encoding: "utf8",
      });
      expect(result.status).toBe(255);
      expect(readFileSync(output, "utf8")).toMatch(
        /^output<<FLOTILLA_REFRESH_END\n~ openstack:networking:SecGroupRule flotilla-node-ssh-bastion update \[diff: ~remoteIpPrefix\]\nFLOTILLA_REFRESH_END\n$/,
      );
    });
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

  it("gives every Pulumi step its passphrase, backend, OpenStack application credential and state keys from its environment's secrets", () => {
    // Read-only credentials where nothing is changed (preview, drift), the deploy's own in the stack's environment.
    const who =
      file === "deploy.yml"
        ? { os: "OPENSTACK_DEPLOY", state: "STATE" }
        : { os: "OPENSTACK_READER", state: "STATE_READER" };
    // An application credential is scoped to its project: no user, password, project or domain.
    const credentials = {
      PULUMI_CONFIG_PASSPHRASE: gh("secrets.PULUMI_CONFIG_PASSPHRASE"),
      OS_AUTH_URL: gh("secrets.OS_AUTH_URL"),
      OS_REGION_NAME: gh("secrets.OS_REGION_NAME"),
      OS_APPLICATION_CREDENTIAL_ID: gh(`secrets.${who.os}_CREDENTIAL_ID`),
      OS_APPLICATION_CREDENTIAL_SECRET: gh(`secrets.${who.os}_CREDENTIAL_SECRET`),
      AWS_ACCESS_KEY_ID: gh(`secrets.${who.state}_ACCESS_KEY_ID`),
      AWS_SECRET_ACCESS_KEY: gh(`secrets.${who.state}_SECRET_ACCESS_KEY`),
    };
    if (!(file in ENVIRONMENTS)) {
      // No cloud, no secret: no Pulumi step either.
      expect(pulumiSteps(wf)).toEqual([]);
      return;
    }
    if (file === "drift.yml") {
      // The drift check runs the CLI itself (refresh --preview-only has no input in pulumi/actions).
      const check = wf.jobs.drift.steps.find((s) => s.id === "check");
      expect(check?.env).toMatchObject(credentials);
      expect(check?.env?.PULUMI_BACKEND_URL).toBe(gh("secrets.PULUMI_BACKEND_URL"));
      return;
    }
    expect(pulumiSteps(wf).length).toBeGreaterThan(0);
    for (const s of pulumiSteps(wf)) {
      expect(s.uses).toMatch(/^pulumi\/actions@[0-9a-f]{40}$/);
      // The CLI the npm launcher pins, so CI runs what `npm run up` runs.
      expect(s.with?.["pulumi-version"]).toBe(PULUMI_PINNED);
      expect(s.with?.policyPacks).toBe("policy");
      expect(s.with?.["cloud-url"]).toBe(gh("secrets.PULUMI_BACKEND_URL"));
      expect(s.env).toEqual(credentials);
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

  it("sets up Node 22 or later wherever it sets up Node (20 is past its end of life); package.json admits the build machine's 20", () => {
    for (const s of steps(wf)) {
      if (!s.uses?.startsWith("actions/setup-node@")) continue;
      expect(Number(s.with?.["node-version"]), `${file}: node-version`).toBeGreaterThanOrEqual(22);
    }
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    // The build machine (and .ci/run) has Node 20; @types/node follows the lowest admitted.
    expect(pkg.engines.node).toBe(">=20");
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
