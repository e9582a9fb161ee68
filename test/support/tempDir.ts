// Scratch directories for tests: one fresh directory under the system's temporary
// directory, always removed, whether it lives for one block or for a whole test file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

/** A fresh directory named `<prefix>XXXXXX`, removed after the tests of the file (or `describe`) that made it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `use` a fresh directory named `<prefix>XXXXXX`, removed as soon as `use` returns or throws. */
export function withTempDir<T>(prefix: string, use: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
