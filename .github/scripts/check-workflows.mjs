// Check workflow files with GitHub's own workflow parser (@actions/workflow-parser, the
// parser behind the GitHub Actions editor tooling): schema, expressions and the contexts
// each key allows. Prints {"<file>": ["<error>", ...]} as JSON; exits 1 on any error.
//   node .github/scripts/check-workflows.mjs .github/workflows/*.yml
// The package imports its JSON schema without an import attribute, which Node 20 refuses;
// this loader hook adds the attribute for that package's JSON files only.
import { readFileSync } from "node:fs";
import { register } from "node:module";

const hooks = `export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && url.endsWith(".json") && url.includes("/node_modules/@actions/")) {
    return nextLoad(url, { ...context, importAttributes: { type: "json" } });
  }
  return nextLoad(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } = await import(
  "@actions/workflow-parser"
);

const report = {};
for (const file of process.argv.slice(2)) {
  const result = parseWorkflow(
    { name: file, content: readFileSync(file, "utf8") },
    new NoOperationTraceWriter(),
  );
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (result.value) {
    const template = await convertWorkflowTemplate(result.context, result.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message));
  }
  report[file] = [...new Set(errors)];
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exitCode = Object.values(report).some((errors) => errors.length > 0) ? 1 : 0;
