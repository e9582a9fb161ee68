// Where the suites keep what they measured: test/artifacts/ (CI keeps it), known here
// once, with one way to write a file there.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../components/repo";

/** test/artifacts/ in the repository. */
export const ARTIFACTS = path.join(REPO_ROOT, "test", "artifacts");

/** Write `text` (a newline added) to test/artifacts/<name>, making the directory if need be; returns the path. */
export function writeArtifact(name: string, text: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  writeFileSync(file, `${text}\n`);
  return file;
}

/** Write `value` as indented JSON to test/artifacts/<name>; returns the path. */
export function writeJsonArtifact(name: string, value: unknown): string {
  return writeArtifact(name, JSON.stringify(value, null, 2));
}
