// The drift workflow's issue keeper (run by actions/github-script, tested in
// test/workflows.test.ts): one issue per stack with a stable title, "Drift: stack <name>".
// - The check failed (drift, a policy violation or an error): open the issue, or comment on
//   the open one (never a second issue for the same stack).
// - The check passed: close the open issue, if any, with a comment saying so.
// - Cancelled or skipped: nothing.
// Inputs from the environment: STACK, OUTCOME (the check step's outcome: success,
// failure, cancelled or skipped), PREVIEW (the preview's output, maybe empty), RUN_URL.
"use strict";

const LABEL = "drift";
/** The author of issues opened with the workflow's GITHUB_TOKEN. */
const BOT = "github-actions[bot]";
/** GitHub refuses issue and comment bodies over 65536 characters. */
const MAX_PREVIEW = 60000;

function driftTitle(stack) {
  if (!/^[A-Za-z0-9._-]+$/.test(stack ?? ""))
    throw new Error(`drift: STACK: expected a stack name, got ${JSON.stringify(stack)}`);
  return `Drift: stack ${stack}`;
}

function driftBody({ stack, outcome, preview, runUrl }) {
  const text = (preview ?? "").trim();
  const shown =
    text.length > MAX_PREVIEW
      ? `${text.slice(0, MAX_PREVIEW)}\n… (cut; the whole preview is in the run's log)`
      : text;
  return [
    `The scheduled check of stack \`${stack}\` (\`pulumi refresh --preview-only --expect-no-changes\`) ended with **${outcome}**: ` +
      "the cloud no longer matches what the last deploy made (a change outside Pulumi), or the check itself failed.",
    "",
    `Run: ${runUrl}`,
    "",
    "What to do: docs/operations.md (Drift).",
    "",
    ...(shown
      ? ["<details><summary>Preview</summary>", "", "```", shown, "```", "", "</details>"]
      : ["(No preview output: see the run's log.)"]),
  ].join("\n");
}

async function reportDrift({ github, context, core, env }) {
  const stack = env.STACK;
  const title = driftTitle(stack);
  const { owner, repo } = context.repo;
  // Found by title among the open issues this workflow's token created: a label the token
  // may not apply (labels are dropped silently without push access) is not relied on.
  const open = await github.paginate(github.rest.issues.listForRepo, {
    owner,
    repo,
    state: "open",
    creator: BOT,
    per_page: 100,
  });
  const existing = open.find((i) => i.title === title && !i.pull_request);
  if (env.OUTCOME === "success") {
    if (existing) {
      await github.rest.issues.createComment({
        owner,
        repo,
        issue_number: existing.number,
        body: `The check is clean again: ${env.RUN_URL}`,
      });
      await github.rest.issues.update({
        owner,
        repo,
        issue_number: existing.number,
        state: "closed",
        state_reason: "completed",
      });
      core.info(`${title}: clean again, closed #${existing.number}`);
      return { action: "closed", number: existing.number };
    }
    core.info(`${title}: no drift`);
    return { action: "none" };
  }
  if (env.OUTCOME !== "failure") {
    core.info(`${title}: the check was ${env.OUTCOME}, nothing to report`);
    return { action: "none" };
  }
  const body = driftBody({
    stack,
    outcome: env.OUTCOME,
    preview: env.PREVIEW,
    runUrl: env.RUN_URL,
  });
  if (existing) {
    await github.rest.issues.createComment({ owner, repo, issue_number: existing.number, body });
    core.warning(`${title}: still drifting, commented on #${existing.number}`);
    return { action: "commented", number: existing.number };
  }
  const created = await github.rest.issues.create({ owner, repo, title, body, labels: [LABEL] });
  core.warning(`${title}: opened #${created.data.number}`);
  return { action: "opened", number: created.data.number };
}

module.exports = { driftTitle, driftBody, reportDrift };
