// Per-suite times of the last `npm test`, from vitest's JSON reports in test/artifacts/:
// a Markdown table by lane (files in the order they started), each file's wall time and
// tests, each lane's span, and the phase's span. For the README's CI table:
//   npx tsx scripts/dev/suite-times.ts [test/artifacts/vitest-<lane>.json ...]
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

/**
 * The project a suite ran in: the report's own name (`npm test` writes one report per
 * project, vitest-<project>.json); for a report of several projects, its directory, as
 * vitest.config.mts assigns them.
 */
function lane(file: string, report: string): string {
  const project = /^vitest-(.+)\.json$/.exec(path.basename(report))?.[1];
  if (project && project !== "docker") return project;
  if (!file.endsWith(".docker.test.ts")) return "unit";
  if (file.startsWith("test/lab/")) return "docker-lab";
  if (/^test\/(dev|e2e|edge|monitoring)\/|^test\/tools\/demo-dev\./.test(file)) return "docker-dev";
  if (/^test\/(cluster|galera|discovery)\//.test(file)) return "docker-cluster";
  return "docker-misc";
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
  const lanes = [...new Set(files.map((f) => lane(f.file, report)))];
  for (const l of lanes) {
    const mine = files.filter((f) => lane(f.file, report) === l);
    if (l === "unit") {
      const tests = mine.reduce((n, f) => n + f.assertionResults.length, 0);
      const failed = mine.filter((f) => f.status !== "passed").length;
      const span = Math.max(...mine.map((f) => f.endTime)) - Math.min(...mine.map((f) => f.startTime));
      console.log(
        `| unit | ${mine.length} files (in parallel) | ${tests} | ${failed ? `${failed} failed` : "passed"} | ${minutes(span)} |`,
      );
      continue;
    }
    for (const f of mine)
      console.log(
        `| ${l} | ${f.file} | ${f.assertionResults.length} | ${f.status} | ${minutes(f.endTime - f.startTime)} |`,
      );
    const span = Math.max(...mine.map((f) => f.endTime)) - Math.min(...mine.map((f) => f.startTime));
    console.log(`| ${l} | **lane total** | | | **${minutes(span)}** |`);
  }
}
if (docker.files)
  console.log(
    `\nDocker suites: ${docker.files} files, ${minutes(docker.end - docker.begin)} min from the first start to the last end (the lanes side by side)`,
  );
