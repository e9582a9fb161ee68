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

/** The lane a suite runs in (vitest.config.mts); unit suites are one lane. */
function lane(file: string): string {
  if (!file.endsWith(".docker.test.ts")) return "unit";
  if (file.startsWith("test/lab/")) return "docker-lab";
  if (file.startsWith("test/dev/")) return "docker-dev";
  if (/^test\/(cluster|galera|discovery)\//.test(file)) return "docker-cluster";
  return "docker-misc";
}

const minutes = (ms: number) => (ms / 60_000).toFixed(1);
for (const report of reports) {
  const { testResults } = JSON.parse(readFileSync(report, "utf8")) as { testResults: FileResult[] };
  const files = testResults
    .map((r) => ({ ...r, file: path.relative(root, r.name) }))
    .sort((a, b) => a.startTime - b.startTime);
  if (!files.length) continue;
  const begin = Math.min(...files.map((f) => f.startTime));
  const end = Math.max(...files.map((f) => f.endTime));
  console.log(
    `\n${path.basename(report)}: ${files.length} files, ${minutes(end - begin)} min from first start to last end\n`,
  );
  console.log("| lane | suite | tests | status | min |");
  console.log("| --- | --- | ---: | --- | ---: |");
  const lanes = [...new Set(files.map((f) => lane(f.file)))];
  for (const l of lanes) {
    const mine = files.filter((f) => lane(f.file) === l);
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
