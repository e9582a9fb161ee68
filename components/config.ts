// The whole program's configuration: one zod schema, parsed once at start-up.
// Pure module (no Pulumi imports) so it is unit-tested without mocks and can emit
// the JSON Schema that editors use to validate Pulumi.<stack>.yaml.
import { z } from "zod";

/** The Pulumi config namespace (the project name): keys are `flotilla:<key>`. */
export const NAMESPACE = "flotilla";

/**
 * Secret keys, set with `pulumi config set --secret flotilla:<key>`. They never go
 * through the schema (a parse error must not echo a password); when unset, the
 * Secrets component generates them.
 */
export const SECRET_KEYS = [
  "mysqlRootPassword",
  "mysqlPassword",
  "statsPassword",
  "keepalivedPassword",
  "consulGossipKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Quorum sizes: an odd count keeps a majority through one (or two) failures. */
const quorumCount = (what: string) =>
  z
    .int({ error: `expected a whole number of ${what}` })
    .refine((n) => n === 1 || n === 3 || n === 5 || n === 7, {
      error: `expected an odd number of ${what} (1, 3, 5 or 7) so a majority survives a failure`,
    });

const count = (what: string, max: number) =>
  z
    .int({ error: `expected a whole number of ${what}` })
    .min(0, { error: `expected zero or more ${what}` })
    .max(max, { error: `expected at most ${max} ${what}` });

const port = z
  .int({ error: "expected a TCP port number" })
  .min(1, { error: "expected a TCP port from 1 to 65535" })
  .max(65535, { error: "expected a TCP port from 1 to 65535" });

const cidr = z.cidrv4({ error: "expected an IPv4 CIDR such as 10.0.0.0/24" });
const name = z
  .string({ error: "expected a name" })
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, { error: "expected a lower-case name: letters, digits, '-' or '_'" });
const nonEmpty = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

const swarmSchema = z.strictObject({
  managers: quorumCount("Swarm managers").default(1).describe("Swarm managers (Raft quorum): 1, 3, 5 or 7."),
  workers: count("Swarm workers", 50)
    .default(0)
    .describe("Swarm workers, load-balancer and database nodes included."),
  loadBalancerNodes: count("load-balancer nodes", 10)
    .default(2)
    .describe("How many workers are load-balancer nodes (label `lb`: HAProxy and keepalived)."),
});

const consulSchema = z.strictObject({
  servers: quorumCount("Consul servers").default(1).describe("Consul servers (Raft quorum): 1, 3, 5 or 7."),
  datacenter: name.default("dc1").describe("Consul datacenter name."),
  uiPort: port
    .default(8500)
    .describe("Consul UI/HTTP port published for the admin CIDRs (security group rule on OpenStack)."),
});

const webappSchema = z.strictObject({
  replicas: count("webapp replicas", 100).default(2).describe("Webapp replicas behind HAProxy."),
  port: port.default(8080).describe("Port the webapp listens on inside its container."),
  drainSeconds: z
    .int()
    .min(1)
    .max(300)
    .default(10)
    .describe("Seconds a stopping replica has to drain in-flight requests."),
});

const haproxySchema = z.strictObject({
  httpPort: port.default(80).describe("Public HTTP port published on the load-balancer nodes."),
  httpsPort: port
    .default(443)
    .describe("Public HTTPS port opened to the client CIDRs on the load-balancer nodes (OpenStack)."),
  statsPort: port.default(8404).describe("HAProxy stats page port (admin CIDRs only, password protected)."),
  statsUser: name.default("admin").describe("HAProxy stats page user name."),
});

const mysqlSchema = z.strictObject({
  database: name.default("flotilla").describe("Application database name."),
  user: name.default("flotilla").describe("Application user (privileges on the application database only)."),
  dataPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/, { error: "expected an absolute path" })
    .default("/srv/flotilla/mysql")
    .describe(
      "Host path of the MySQL data directory on the `db` node (the Cinder volume mount on OpenStack).",
    ),
  volumeSizeGb: z
    .int()
    .min(1, { error: "expected at least 1 GiB" })
    .max(16384)
    .default(20)
    .describe("Size of the Cinder data volume in GiB (OpenStack only)."),
});

const keepalivedSchema = z.strictObject({
  enabled: z
    .boolean({ error: "expected true or false" })
    .default(false)
    .describe(
      "Run keepalived for a virtual IP in front of the HAProxy nodes (needs two or more `lb` nodes).",
    ),
  virtualRouterId: z
    .int()
    .min(1)
    .max(255)
    .default(51)
    .describe("VRRP virtual router id, unique on the network segment."),
});

const accessSchema = z.strictObject({
  adminCidrs: z
    .array(cidr)
    .min(1, { error: "expected at least one admin CIDR" })
    .default(["127.0.0.1/32"])
    .describe("CIDRs allowed to SSH to the bastion and to reach HAProxy stats and the Consul UI."),
  clientCidrs: z
    .array(cidr)
    .min(1, { error: "expected at least one client CIDR" })
    .default(["0.0.0.0/0"])
    .describe("CIDRs allowed to reach the public HTTP port."),
});

const imagesSchema = z.strictObject({
  registry: z
    .string()
    .min(1)
    .optional()
    .describe("Registry the images are pushed to (required on OpenStack so every node can pull them)."),
  baseImage: nonEmpty("an image reference")
    .default("debian:trixie-slim")
    .describe("Base image of every Flotilla image."),
  consulSource: z
    .enum(["hashicorp", "debian-archive"], { error: "expected 'hashicorp' or 'debian-archive'" })
    .default("debian-archive")
    .describe(
      "Where the Consul binary comes from: HashiCorp's release, or Debian's archived package (offline).",
    ),
  consulVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, { error: "expected a version such as 1.20.2" })
    .default("1.8.7")
    .describe("Consul version (for `consulSource: hashicorp`)."),
  version: nonEmpty("a version label")
    .default("0.1.0")
    .describe("Version label baked into the images and shown by the webapp."),
});

const openstackSchema = z.strictObject({
  externalNetwork: nonEmpty("the external network name").describe(
    "Name of the external (provider) network that floating IPs come from.",
  ),
  image: nonEmpty("a Glance image name").describe(
    "Glance image name for every VM (a Debian or Ubuntu cloud image).",
  ),
  flavors: z
    .strictObject({
      bastion: nonEmpty("a flavor name").describe("Nova flavor of the bastion."),
      manager: nonEmpty("a flavor name").describe("Nova flavor of the Swarm managers."),
      worker: nonEmpty("a flavor name").describe(
        "Nova flavor of the Swarm workers (load-balancer and database nodes included).",
      ),
    })
    .describe("Nova flavors per role."),
  subnetCidr: cidr.default("10.42.0.0/24").describe("CIDR of the private cluster subnet Flotilla creates."),
  existingNetwork: z
    .string()
    .min(1)
    .optional()
    .describe("Use an existing private network (by name) instead of creating one."),
  dnsNameservers: z
    .array(z.ipv4({ error: "expected an IPv4 address" }))
    .default([])
    .describe("DNS servers handed to the private subnet."),
  sshPublicKey: z
    .string({ error: "expected an OpenSSH public key" })
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, {
      error: "expected an OpenSSH public key ('ssh-ed25519 AAAA...')",
    })
    .describe("Public SSH key of the operator, installed on the bastion and every node."),
  sshUser: name.default("debian").describe("Login user of the cloud image."),
  connection: z
    .enum(["jump", "direct"], { error: "expected 'jump' or 'direct'" })
    .default("jump")
    .describe(
      "How `pulumi up` reaches the nodes: through the bastion as jump host, or directly (run on the bastion).",
    ),
  availabilityZone: z
    .string()
    .min(1)
    .optional()
    .describe("Availability zone for VMs and volumes (the cloud's default when unset)."),
  volumeType: z
    .string()
    .min(1)
    .optional()
    .describe("Cinder volume type for the MySQL data volume (the cloud's default when unset)."),
});

export const configSchema = z
  .strictObject({
    target: z
      .enum(["local", "openstack"], { error: "expected 'local' or 'openstack'" })
      .default("local")
      .describe("Where the stack lands: the local Docker engine (one-node Swarm) or an OpenStack cloud."),
    swarm: swarmSchema
      .prefault({})
      .describe("Swarm cluster shape (OpenStack; `local` is always a one-node Swarm)."),
    consul: consulSchema.prefault({}).describe("Consul servers that the webapp and HAProxy agents join."),
    webapp: webappSchema.prefault({}).describe("The web application service."),
    haproxy: haproxySchema.prefault({}).describe("The HAProxy load balancer in front of the webapp."),
    mysql: mysqlSchema.prefault({}).describe("The MariaDB (MySQL-compatible) service and its data."),
    keepalived: keepalivedSchema
      .prefault({})
      .describe("keepalived: a virtual IP moving between the HAProxy nodes."),
    access: accessSchema.prefault({}).describe("Who may reach what (security groups on OpenStack)."),
    images: imagesSchema.prefault({}).describe("How the Docker images are built and where they are pushed."),
    openstack: openstackSchema
      .optional()
      .describe("OpenStack cloud settings; required when target is `openstack`."),
  })
  .superRefine((c, ctx) => {
    if (c.target === "openstack") {
      if (!c.openstack) {
        ctx.addIssue({
          code: "custom",
          path: ["openstack"],
          message: "required when target is 'openstack' (externalNetwork, image, flavors, sshPublicKey)",
          input: undefined,
        });
      }
      if (!c.images.registry) {
        ctx.addIssue({
          code: "custom",
          path: ["images", "registry"],
          message: "required when target is 'openstack' (every node pulls the images from it)",
          input: undefined,
        });
      }
      // The first `loadBalancerNodes` workers carry `lb`, the next one `db`.
      if (c.swarm.loadBalancerNodes + 1 > c.swarm.workers) {
        ctx.addIssue({
          code: "custom",
          path: ["swarm", "workers"],
          message: `expected at least ${c.swarm.loadBalancerNodes + 1} workers (${c.swarm.loadBalancerNodes} load-balancer nodes and one database node)`,
          input: c.swarm.workers,
        });
      }
      if (c.consul.servers > c.swarm.managers) {
        ctx.addIssue({
          code: "custom",
          path: ["consul", "servers"],
          message: `expected no more Consul servers than Swarm managers (${c.swarm.managers}): they are spread one per manager`,
          input: c.consul.servers,
        });
      }
    }
    if (c.keepalived.enabled && c.target === "openstack" && c.swarm.loadBalancerNodes < 2) {
      ctx.addIssue({
        code: "custom",
        path: ["swarm", "loadBalancerNodes"],
        message: "expected at least 2 load-balancer nodes when keepalived is enabled",
        input: c.swarm.loadBalancerNodes,
      });
    }
    if (c.target === "local" && c.openstack) {
      ctx.addIssue({
        code: "custom",
        path: ["target"],
        message:
          "is 'local' but an 'openstack' section is set: set target to 'openstack' or remove the section",
        input: c.target,
      });
    }
  });

/** The validated configuration every component receives. */
export type FlotillaConfig = z.infer<typeof configSchema>;
export type OpenStackConfig = z.infer<typeof openstackSchema>;

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
} {
  const values: Record<string, unknown> = {};
  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      secrets[key as SecretKey] = text;
      continue;
    }
    values[key] = parseValue(text);
  }
  return { values, secrets };
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
  for (const [key, value] of Object.entries(secrets)) {
    if (value === undefined) continue;
    if (key === "consulGossipKey") {
      if (Buffer.from(value, "base64").length !== 32 || !/^[A-Za-z0-9+/]+=*$/.test(value)) {
        problems.push(
          `${NAMESPACE}:${key}: expected 32 random bytes in base64 (consul keygen), got a value that is not (not shown: it is a secret)`,
        );
      }
    } else if (value.length < 12) {
      problems.push(
        `${NAMESPACE}:${key}: expected at least 12 characters, got ${value.length} (value not shown: it is a secret)`,
      );
    }
  }
  return problems;
}

export interface ParsedConfig {
  config: FlotillaConfig;
  /** Operator-set secrets (plain strings here; the program wraps them as Pulumi secrets at once). */
  secrets: Partial<Record<SecretKey, string>>;
}

/** Parse and validate the raw Pulumi config; throws one ConfigError listing every problem. */
export function parseConfig(raw: Record<string, string>): ParsedConfig {
  const { values, secrets } = fromPulumiConfig(raw);
  const result = configSchema.safeParse(values, { reportInput: true });
  const problems = [
    ...(result.success ? [] : describeIssues(result.error.issues)),
    ...secretProblems(secrets),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return { config: result.data, secrets };
}

/**
 * JSON Schema of a `Pulumi.<stack>.yaml` file: `config:` holds the `flotilla:` keys
 * (validated by the zod schema's input shape), secrets in Pulumi's `secure:` form, and
 * other namespaces' provider keys (`openstack:*`, `docker:*`) untouched.
 */
export function stackFileJsonSchema(): Record<string, unknown> {
  const inner = z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" }) as {
    properties: Record<string, unknown>;
    $schema?: string;
  };
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inner.properties)) properties[`${NAMESPACE}:${key}`] = value;
  for (const key of SECRET_KEYS) {
    properties[`${NAMESPACE}:${key}`] = {
      description: "Secret: set with `pulumi config set --secret`; generated when unset.",
      anyOf: [
        { type: "string" },
        {
          type: "object",
          properties: { secure: { type: "string" } },
          required: ["secure"],
          additionalProperties: false,
        },
      ],
    };
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://flotilla.dev/schema/stack-config.json",
    title: "Flotilla Pulumi stack file",
    type: "object",
    properties: {
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
      config: {
        type: "object",
        properties,
        // Keys of other namespaces (provider settings) are allowed; unknown flotilla: keys are not.
        patternProperties: { "^(?!flotilla:)[A-Za-z0-9_-]+:.+$": {} },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  };
}
