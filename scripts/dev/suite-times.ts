// Per-suite times of the last `npm test`, from vitest's JSON reports in test/artifacts/:
// a Markdown table per project (files in the order they started), each file's wall time and
// tests, each project's span, and the Docker phase's span. For the README's CI table:
//   npx tsx scripts/dev/suite-times.ts [test/artifacts/vitest-<project>.json ...]
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

interface FileResult {
  name: string;
  startTime: number;
  endTime: number;
  status: string;
  assertionResults: { status: string }[];
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(
    "usage: npx tsx scripts/dev/suite-times.ts [vitest JSON report ...] (default: test/artifacts/vitest-*.json)",
  );
  process.exit(0);
}
const root = path.resolve(__dirname, "..", "..");
const reports = positionals.length
  ? positionals
  : readdirSync(path.join(root, "test", "artifacts"))
      .filter((f) => /^vitest-.*\.json$/.test(f))
      .map((f) => path.join(root, "test", "artifacts", f));

/** The project a report is of: `npm test` writes one per project, vitest-<project>.json. */
function projectOf(report: string): string {
  return /^vitest-(.+)\.json$/.exec(path.basename(report))?.[1] ?? path.basename(report);
}

const minutes = (ms: number) => (ms / 60_000).toFixed(1);
const docker = { begin: Number.POSITIVE_INFINITY, end: 0, files: 0 };
for (const report of reports) {
  const { testResults } = JSON.parse(readFileSync(report, "utf8")) as { testResults: FileResult[] };
  const files = testResults
    .map((r) => ({ ...r, file: path.relative(root, r.name) }))
    .sort((a, b) => a.startTime - b.startTime);
  if (!files.length) continue;
  const begin = Math.min(...files.map((f) => f.startTime));
  const end = Math.max(...files.map((f) => f.endTime));
  if (files.some((f) => f.file.endsWith(".docker.test.ts"))) {
    docker.begin = Math.min(docker.begin, begin);
    docker.end = Math.max(docker.end, end);
    docker.files += files.length;
  }
  console.log(
    `\n${path.basename(report)}: ${files.length} files, ${minutes(end - begin)} min from first start to last end\n`,
  );
  console.log("| lane | suite | tests | status | min |");
  console.log("| --- | --- | ---: | --- | ---: |");
  // One project per report: the unit project as one line (its files run in parallel),
  // a Docker project file by file, then its span.
  const project = projectOf(report);
  if (project === "unit") {
    const tests = files.reduce((n, f) => n + f.assertionResults.length, 0);
    const failed = files.filter((f) => f.status !== "passed").length;
    console.log(
      `| unit | ${files.length} files (in parallel) | ${tests} | ${failed ? `${failed} failed` : "passed"} | ${minutes(end - begin)} |`,
    );
    continue;
  }
  for (const f of files)
    console.log(
      `| ${project} | ${f.file} | ${f.assertionResults.length} | ${f.status} | ${minutes(f.endTime - f.startTime)} |`,
    );
  console.log(`| ${project} | **lane total** | | | **${minutes(end - begin)}** |`);
}
if (docker.files)
  console.log(
    `\nDocker suites: ${docker.files} files, ${minutes(docker.end - docker.begin)} min from the first start to the last end (the lanes side by side)`,
  );
