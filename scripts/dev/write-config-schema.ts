// Regenerate schema/stack-config.schema.json from the zod schema (`npm run schema`).
// A test fails when the committed file is out of date.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { stackFileJsonSchema } from "../../components/config";
import { repoPath } from "../../components/repo";

export const SCHEMA_PATH = repoPath("schema", "stack-config.schema.json");

export function renderSchema(): string {
  return `${JSON.stringify(stackFileJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(SCHEMA_PATH, renderSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_PATH)}`);
}
