// Read the stack's config from the Pulumi runtime and validate it, before any
// resource is registered. A bad config stops the program with every problem listed.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type ParsedConfig, parseConfig } from "./parse";

/**
 * Whether the stack's value for a key is encrypted (`config set --secret`): the runtime's
 * `isConfigSecret`, exported by @pulumi/pulumi's runtime module but marked internal in its
 * typings (the list comes from PULUMI_CONFIG_SECRET_KEYS, set by the CLI and by setAllConfig).
 */
function configIsSecret(fullKey: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof runtime.isConfigSecret !== "function")
    throw new Error(
      "@pulumi/pulumi no longer exports runtime.isConfigSecret: update components/config/load.ts",
    );
  return runtime.isConfigSecret(fullKey);
}

export function loadConfig(): ParsedConfig {
  try {
    return parseConfig(pulumi.runtime.allConfig(), { isSecret: configIsSecret });
  } catch (err) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}
