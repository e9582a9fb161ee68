// Read the stack's config from the Pulumi runtime and validate it, before any
// resource is registered. A bad config stops the program with every problem listed.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type ParsedConfig, parseConfig } from "./parse";

export function loadConfig(): ParsedConfig {
  try {
    return parseConfig(pulumi.runtime.allConfig());
  } catch (err) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}
