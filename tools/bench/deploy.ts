// The dev stacks for the benchmark, deployed by the tests' one deploy helper set
// (test/support/deploy): the stacks rendered by components/stacks, deployed with
// scripts/host/stack-deploy.sh under a prefix of our own, secrets generated in memory and
// handed over on stdin.
import type { FlotillaConfig } from "../../components/config";
import type { ComposeFile, StackName } from "../../components/stacks";
import { loadConfig } from "../../test/support/config";
import { type Deployment, deploy, remove } from "../../test/support/deploy";

export { randomSecrets } from "../../test/support/deploy";
export type { Deployment };

export const ORDER: StackName[] = ["consul", "mysql", "webapp", "haproxy"];

// The one way tools and tests run a program (test/support/process.ts), under the names
// the bench has always used.
import { run as exec, ok as must } from "../../test/support/process";

export { exec, must };

/** The dev stack's config (Pulumi.dev.yaml) with overrides, validated. */
export function devConfig(overrides: Record<string, unknown>): FlotillaConfig {
  return loadConfig("dev", overrides);
}

/** Workaround (see docs/bench.md): the webapp without a read-only root. */
function writableRoot(document: ComposeFile): void {
  for (const svc of Object.values(document.services ?? {}))
    (svc as { read_only?: boolean }).read_only = false;
}

/** Render one stack and deploy it with the host deploy script. */
export async function deployStack(
  d: Deployment,
  stack: StackName,
  webappWritableRoot = false,
): Promise<void> {
  await deploy(
    { ...d, suite: "bench" },
    stack,
    webappWritableRoot && stack === "webapp" ? { edit: writableRoot } : {},
  );
}

/** Remove one stack (and the networks and secrets it alone used). */
export async function removeStack(d: Deployment, stack: StackName): Promise<void> {
  await remove(d, stack);
}
