// The one config loader of tests and tools: a committed stack file with overrides, as
// the Pulumi CLI would hand it to the program, and that config validated.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { type FlotillaConfig, parseConfig } from "../../components/config";
import { REPO_ROOT } from "../../components/repo";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Stack config as the CLI would hand it to the program: `Pulumi.<stack>.yaml`'s keys with
 * `overrides` applied, every value a string (objects JSON-encoded). An override of an
 * object key merges into the file's object one level deep (`{"flotilla:haproxy":
 * {redirectHttp: false}}` keeps the file's ports), as `pulumi config set --path` would;
 * any other value replaces the key, and `undefined` removes it.
 */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
  const file = parseYaml(readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config?: Record<string, unknown>;
  };
  const merged: Record<string, unknown> = { ...(file.config ?? {}) };
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
