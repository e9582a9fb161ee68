// Parsing the raw Pulumi config against the schema: one ConfigError listing every
// problem, each naming its full `flotilla:` key, what was expected and what was given.
// Pure (no Pulumi imports): unit-tested without mocks.
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { z } from "zod";
import {
  alertingSecretProblems,
  configSchema,
  type FlotillaConfig,
  NAMESPACE,
  SECRET_KEYS,
  type SecretKey,
} from "./schema";

/** Raised when the stack configuration is invalid; `problems` has one line per problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid Flotilla configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

function describeInput(input: unknown): string {
  if (input === undefined) return "nothing";
  const text = JSON.stringify(input);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function configKey(path: readonly PropertyKey[]): string {
  return `${NAMESPACE}:${path.map(String).join(".")}`;
}

/** Levenshtein distance, for "did you mean" on misspelt keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function knownKeysAt(path: readonly PropertyKey[]): string[] {
  // Walk the schema's shape along the path to list the keys allowed there.
  let node: z.ZodType = configSchema;
  for (const segment of path) {
    const shape = objectShape(node);
    if (!shape || typeof segment !== "string" || !(segment in shape)) return [];
    node = shape[segment];
  }
  const shape = objectShape(node);
  const keys = shape ? Object.keys(shape) : [];
  return path.length === 0 ? [...keys, ...SECRET_KEYS] : keys;
}

function objectShape(node: z.ZodType): Record<string, z.ZodType> | undefined {
  let current: z.ZodType = node;
  // Unwrap defaults, optionals and refinements down to the object, if any.
  for (let i = 0; i < 5; i++) {
    if (current instanceof z.ZodObject) return current.shape as Record<string, z.ZodType>;
    const inner = (current as { def?: { innerType?: z.ZodType } }).def?.innerType;
    if (!inner) return undefined;
    current = inner;
  }
  return undefined;
}

function unknownKeyProblem(path: readonly PropertyKey[], key: string): string {
  const known = knownKeysAt(path);
  const best = known
    .map((k) => ({ k, d: distance(k.toLowerCase(), key.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  const hint = best && best.d <= 3 ? `did you mean '${configKey([...path, best.k])}'?` : "";
  return `${configKey([...path, key])}: unknown key${hint ? ` (${hint})` : ""}; expected one of: ${known.join(", ")}`;
}

/** Turn zod issues into one line each, naming the full `flotilla:` key, what was expected and what was given. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems.push(unknownKeyProblem(issue.path, key));
      continue;
    }
    const given = "input" in issue ? `, got ${describeInput(issue.input)}` : "";
    problems.push(`${configKey(issue.path)}: ${issue.message}${given}`);
  }
  return problems;
}

/**
 * Raw Pulumi config (`pulumi.runtime.allConfig()`: every value a string, structured
 * values JSON-encoded) to the plain object the schema parses. Keys of other
 * namespaces (provider settings such as `openstack:authUrl`) are left alone.
 */
export function fromPulumiConfig(raw: Record<string, string>): {
  values: Record<string, unknown>;
  secrets: Partial<Record<SecretKey, string>>;
  /**
   * Keys with a literal dot (`flotilla:swarm.managers` set without `--path`) and retired
   * secret keys, one problem each.
   */
  keyProblems: string[];
} {
  const values: Record<string, unknown> = {};
  const secrets: Partial<Record<SecretKey, string>> = {};
  const keyProblems: string[] = [];
  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      secrets[key as SecretKey] = text;
      continue;
    }
    if (Object.hasOwn(RETIRED_SECRET_KEYS, key)) {
      // Its value is never parsed or shown: it was a secret.
      keyProblems.push(
        `${NAMESPACE}:${key}: no longer used (${RETIRED_SECRET_KEYS[key]}); remove it with \`pulumi config rm ${NAMESPACE}:${key}\``,
      );
      continue;
    }
    if (key.includes(".")) {
      keyProblems.push(dottedKeyProblem(key, text));
      continue;
    }
    values[key] = parseValue(text);
  }
  return { values, secrets, keyProblems };
}

/** Secret keys Flotilla no longer reads, and why: a stack file still holding one is told to drop it. */
const RETIRED_SECRET_KEYS: Readonly<Record<string, string>> = {
  keepalivedPassword:
    "keepalived speaks VRRPv3, which has no password; only the load-balancer nodes may send VRRP to each other (the keepalived image's filter, the `lb` security group on OpenStack)",
};

/**
 * `pulumi config set flotilla:swarm.managers 3` without `--path` stores one key named
 * "swarm.managers", which the program would never read: say how to set it instead.
 */
function dottedKeyProblem(key: string, text: string): string {
  const path = key.split(".");
  const known = knownKeysAt(path.slice(0, -1)).includes(path[path.length - 1]);
  // The value is echoed only when it is short and plain (never a secret key's: those have no dot).
  const shown = text.length <= 40 && /^[A-Za-z0-9._:/@+-]+$/.test(text) ? text : "<value>";
  const command = `\`pulumi config rm ${NAMESPACE}:${key}\` then \`pulumi config set --path ${NAMESPACE}:${key} ${shown}\``;
  return known
    ? `${NAMESPACE}:${key}: set as one literal key with a dot, which Flotilla never reads (was \`--path\` left out?); use ${command}`
    : `${NAMESPACE}:${key}: set as one literal key with a dot, and '${key}' is no Flotilla setting either; for a nested setting use \`pulumi config set --path ${NAMESPACE}:<section>.<key> <value>\` (sections: ${knownKeysAt(
        [],
      )
        .filter((k) => !(SECRET_KEYS as readonly string[]).includes(k))
        .join(", ")})`;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // plain strings are stored unquoted
  }
}

/** Checks on operator-set secrets that never echo the value. */
function secretProblems(secrets: Partial<Record<SecretKey, string>>): string[] {
  const problems: string[] = [];
  // The certificate and its key come as a pair: one alone is refused, naming the other.
  const cert = secrets.tlsCertificate;
  const certKey = secrets.tlsKey;
  if ((cert === undefined) !== (certKey === undefined)) {
    const [given, missing] = cert === undefined ? ["tlsKey", "tlsCertificate"] : ["tlsCertificate", "tlsKey"];
    problems.push(
      `${NAMESPACE}:${missing}: required when ${NAMESPACE}:${given} is set (set both, PEM, with \`pulumi config set --secret ${NAMESPACE}:${missing} < file.pem\`, or neither for a generated self-signed certificate)`,
    );
  }
  for (const [key, value] of Object.entries(secrets)) {
    if (value === undefined) continue;
    if (key === "tlsCertificate") {
      if (
        !/^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/m.test(value.trim())
      ) {
        problems.push(
          `${NAMESPACE}:${key}: expected a PEM certificate chain ('-----BEGIN CERTIFICATE-----' ..., the server's certificate first), got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (key === "tlsKey") {
      if (
        !/^-----BEGIN (RSA |EC )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (RSA |EC )?PRIVATE KEY-----\s*$/.test(
          value.trim(),
        )
      ) {
        problems.push(
          `${NAMESPACE}:${key}: expected an unencrypted PEM private key ('-----BEGIN PRIVATE KEY-----', RSA or EC), got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (key === "consulGossipKey") {
      if (Buffer.from(value, "base64").length !== 32 || !/^[A-Za-z0-9+/]+=*$/.test(value)) {
        problems.push(
          `${NAMESPACE}:${key}: expected 32 random bytes in base64 (consul keygen), got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (key.startsWith("consul") && key.endsWith("Token")) {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
        problems.push(
          `${NAMESPACE}:${key}: expected a UUID (a Consul ACL token SecretID, e.g. from uuidgen), got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (key === "alertChatWebhookUrl") {
      if (!/^https?:\/\/[^\s"\\]+$/.test(value)) {
        problems.push(
          `${NAMESPACE}:${key}: expected an http:// or https:// URL without spaces, quotes or backslashes (a Slack-compatible incoming webhook), got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (key === "alertSmtpPassword") {
      // The SMTP provider's password, whatever its length; one line.
      if (value === "" || /[\r\n]/.test(value)) {
        problems.push(
          `${NAMESPACE}:${key}: expected a non-empty password on one line, got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (value.length < 12) {
      problems.push(
        `${NAMESPACE}:${key}: expected at least 12 characters, got ${value.length} (value not shown: it is a secret)`,
      );
    }
  }
  if (problems.length === 0 && cert !== undefined && certKey !== undefined)
    problems.push(...certificateProblems(cert, certKey));
  return problems;
}

/** The operator's certificate parses, is current, and `tlsKey` is its key (the certificate is public: its dates may be shown). */
function certificateProblems(cert: string, keyPem: string): string[] {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return [`${NAMESPACE}:tlsCertificate: expected a PEM certificate that parses, got one that does not`];
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return [
      `${NAMESPACE}:tlsKey: expected an unencrypted PEM private key that parses, got one that does not (not shown: it is a secret)`,
    ];
  }
  const problems: string[] = [];
  if (!x509.checkPrivateKey(key))
    problems.push(
      `${NAMESPACE}:tlsKey: expected the private key of the first certificate in ${NAMESPACE}:tlsCertificate (${x509.subject.replace(/\n/g, ", ")}), got another key (not shown: it is a secret)`,
    );
  if (Date.parse(x509.validTo) < Date.now())
    problems.push(
      `${NAMESPACE}:tlsCertificate: expected a current certificate, got one that expired on ${x509.validTo}`,
    );
  return problems;
}

export interface ParsedConfig {
  config: FlotillaConfig;
  /** Operator-set secrets (plain strings here; the program wraps them as Pulumi secrets at once). */
  secrets: Partial<Record<SecretKey, string>>;
}

/**
 * Secret keys set in plaintext (`pulumi config set` without `--secret`: the value sits
 * readable in the stack file and in git). Never echoes the value.
 */
export function plaintextSecretProblems(
  secrets: Partial<Record<SecretKey, string>>,
  isSecret: (fullKey: string) => boolean,
): string[] {
  return Object.keys(secrets)
    .filter((key) => !isSecret(`${NAMESPACE}:${key}`))
    .map(
      (key) =>
        `${NAMESPACE}:${key}: expected a secret, got a plaintext value in the stack file (not shown); set it encrypted with \`pulumi config set --secret ${NAMESPACE}:${key}\` (it replaces the plaintext one), or remove it to have it generated${key.startsWith("tls") ? `; PEM from a file: \`pulumi config set --secret ${NAMESPACE}:${key} < file.pem\`` : ""}`,
    );
}

/**
 * Parse and validate the raw Pulumi config; throws one ConfigError listing every problem.
 * With `isSecret` (the runtime's list of encrypted keys), secret keys in plaintext are
 * refused too.
 */
export function parseConfig(
  raw: Record<string, string>,
  options: { isSecret?: (fullKey: string) => boolean } = {},
): ParsedConfig {
  const { values, secrets, keyProblems } = fromPulumiConfig(raw);
  const result = configSchema.safeParse(values, { reportInput: true });
  const problems = [
    ...keyProblems,
    ...(result.success ? [] : describeIssues(result.error.issues)),
    ...(options.isSecret ? plaintextSecretProblems(secrets, options.isSecret) : []),
    ...secretProblems(secrets),
    ...(result.success ? alertingSecretProblems(result.data, secrets) : []),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return { config: result.data, secrets };
}
