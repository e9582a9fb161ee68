// No secret-looking input (a password, token, private key, ...) reaches the state in
// plaintext: it must be a Pulumi secret, which the engine encrypts.
//
// What the policy SDK exposes (read in @pulumi/policy 1.21, server.js/deserialize.js):
// validateResource and validateStack receive props with secrets already unwrapped, so
// they cannot tell a secret from a plaintext string. Only remediateResource receives
// props in which each secret value is a `Secret` instance (behind a proxy whose `get`
// unwraps it; the property descriptors still hold the `Secret`). So this policy is a
// remediation: it finds secret-looking inputs whose value is a plain string and returns
// the props with those values wrapped as secrets. The engine applies that before the
// resource is created or updated, and reports each remediation in the preview.
import { type ResourceValidationPolicy, Secret } from "@pulumi/policy";
import { isRecord, TYPES } from "./util";

/** Last words of a property name that mean "this is a credential". */
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "key",
  "credential",
  "credentials",
  "apikey",
  "privatekey",
]);
/** Words that make a "key" name public or not a value at all (sshPublicKey, hostKey, keyPair, ...). */
const NON_SECRET_WORDS = new Set(["public", "host", "pair", "name", "id", "file", "path", "type", "ref"]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** True for a property name that holds a credential: `password`, `MYSQL_ROOT_PASSWORD`, `privateKey`, `consulGossipKey`. */
export function isSecretLookingName(name: string): boolean {
  const w = words(name);
  if (w.length === 0) return false;
  // A lone `key` is a map key (labels, metadata), not a credential.
  if (w.length === 1 && w[0] === "key") return false;
  if (w.some((x) => NON_SECRET_WORDS.has(x))) return false;
  return SECRET_WORDS.has(w[w.length - 1]) || w.includes("password") || w.includes("passphrase");
}

/** Inputs whose name does not look secret but whose value is one, per resource type. */
const SECRET_INPUTS_BY_TYPE: Record<string, string[]> = {
  [TYPES.dockerSecret]: ["data"],
  // The edge certificate's private key, in PEM: "pem" is a format, not a secret word.
  [TYPES.tlsSelfSignedCert]: ["privateKeyPem"],
};

/** Raw value of a (possibly proxied) object's own property, without the proxy's unwrapping. */
function rawValue(obj: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(obj, key)?.value;
}

/** Plain JSON containers only: assets and archives are left as they are. */
function isPlainContainer(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  return isRecord(value) && Object.getPrototypeOf(value) === Object.prototype;
}

const UNKNOWN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isPlaintext(value: unknown): value is string {
  // Unknown sentinels (preview) are computed values, not literals in the program.
  return typeof value === "string" && value !== "" && !UNKNOWN.test(value);
}

/** Paths (`connection.privateKey`, `environment.MYSQL_PASSWORD`) of plaintext secret-looking values. */
export function plaintextSecretPaths(type: string, props: object): string[] {
  const found: string[] = [];
  const forced = new Set(SECRET_INPUTS_BY_TYPE[type] ?? []);
  const walk = (obj: object, prefix: string, depth: number) => {
    if (depth > 8) return;
    for (const key of Object.keys(obj)) {
      const value = rawValue(obj, key);
      if (value instanceof Secret) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      if ((isSecretLookingName(key) || (prefix === "" && forced.has(key))) && isPlaintext(value)) {
        found.push(path);
      } else if (isPlainContainer(value)) {
        walk(value, path, depth + 1);
      }
    }
  };
  walk(props, "", 0);
  return found;
}

/** A copy of the raw props with the values at `paths` wrapped as secrets. */
function withSecrets(props: object, paths: string[]): Record<string, unknown> {
  const copy = (obj: object): Record<string, unknown> => {
    const out: Record<string, unknown> = Array.isArray(obj) ? ([] as unknown as Record<string, unknown>) : {};
    for (const key of Object.keys(obj)) {
      const value = rawValue(obj, key);
      out[key] = isPlainContainer(value) ? copy(value) : value;
    }
    return out;
  };
  const result = copy(props);
  for (const path of paths) {
    const parts = path.split(".");
    let node = result;
    for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
    const last = parts[parts.length - 1];
    node[last] = new Secret(node[last]);
  }
  return result;
}

export const secretInputsAreSecret: ResourceValidationPolicy = {
  name: "secret-inputs-are-secret",
  description:
    "Secret-looking inputs (passwords, tokens, private keys, Docker secret data) are Pulumi secrets, never plaintext in the state.",
  enforcementLevel: "remediate",
  remediationSteps:
    "Wrap the value with pulumi.secret(...) or read it with config.requireSecret(...); the policy encrypts it meanwhile.",
  remediateResource: (args) => {
    const paths = plaintextSecretPaths(args.type, args.props);
    if (paths.length === 0) return undefined;
    return withSecrets(args.props, paths);
  },
};
