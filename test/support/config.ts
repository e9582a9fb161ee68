// The one config loader of tests and tools: a committed stack file with overrides, as
// the Pulumi CLI would hand it to the program, and that config validated.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError, type FlotillaConfig, parseConfig } from "../../components/config";
import { REPO_ROOT } from "../../components/repo";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** An operator's public key (a throwaway: no private key exists for it). */
export const OPERATOR_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorKeyOfTheHelionTests000000000000000 ops@flotilla";

/**
 * What an operator fills in before the committed `Pulumi.helion.yaml` can be used: its SSH
 * key and registry are placeholders, which the schema refuses (`placeholderIssues`). Tests
 * that evaluate helion start from the file with these filled in, as a user's copy would be;
 * test/config/config.test.ts checks that the file as committed is refused, naming both.
 */
export const HELION_FILL_INS: Readonly<Record<string, Record<string, unknown>>> = {
  "flotilla:openstack": { sshPublicKey: OPERATOR_KEY },
  "flotilla:images": { registry: "registry.helion.internal:5000/flotilla" },
};

/** A committed stack file's config as written (placeholders included). */
export function committedStackAsIs(stack: string): Record<string, unknown> {
  const file = parseYaml(readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config?: Record<string, unknown>;
  };
  return { ...(file.config ?? {}) };
}

/** A committed stack file's config as an operator's copy would be (helion's placeholders filled in). */
export function committedStack(stack: string): Record<string, unknown> {
  const config = committedStackAsIs(stack);
  if (stack === "helion")
    for (const [k, v] of Object.entries(HELION_FILL_INS))
      config[k] = { ...(isObject(config[k]) ? config[k] : {}), ...v };
  return config;
}

/**
 * Stack config as the CLI would hand it to the program: `Pulumi.<stack>.yaml`'s keys with
 * `overrides` applied, every value a string (objects JSON-encoded). An override of an
 * object key merges into the file's object one level deep (`{"flotilla:haproxy":
 * {redirectHttp: false}}` keeps the file's ports), as `pulumi config set --path` would;
 * any other value replaces the key, and `undefined` removes it.
 */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
  const merged: Record<string, unknown> = committedStack(stack);
  for (const [k, v] of Object.entries(overrides)) {
    const base = merged[k];
    merged[k] = isObject(base) && isObject(v) ? { ...base, ...v } : v;
  }
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) {
    if (v === undefined) continue;
    raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return raw;
}

/** The validated config of a committed stack file with overrides (see `stackConfig`). */
export function loadConfig(stack: string, overrides: Record<string, unknown> = {}): FlotillaConfig {
  return parseConfig(stackConfig(stack, overrides)).config;
}

/** The problems `parseConfig` refuses raw config values with (it must refuse them). */
export function problemsOf(raw: Record<string, string>): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected the config to be refused");
}
