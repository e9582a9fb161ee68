// The configuration: one zod schema with every cross-field rule, its parsing into one
// error listing every problem, the JSON Schema for editors, and loading it from Pulumi.
export { stackFileJsonSchema } from "./jsonSchema";
export { loadConfig } from "./load";
export { ConfigError, describeIssues, fromPulumiConfig, type ParsedConfig, parseConfig } from "./parse";
export {
  backendSlots,
  configSchema,
  consulBuild,
  crossFieldIssues,
  DEBIAN_ARCHIVE_CONSUL_VERSION,
  dataPathProblem,
  type FlotillaConfig,
  FORBIDDEN_DATA_PATHS,
  HASHICORP_CONSUL_VERSION,
  type LabConfig,
  NAMESPACE,
  OPTIONAL_SECRET_KEYS,
  type OpenStackConfig,
  RESERVED_MYSQL_USERS,
  RESERVED_PORTS,
  SECRET_DESCRIPTIONS,
  SECRET_KEYS,
  SECRET_VALUE_KEYS,
  type SecretKey,
  type SecretValueKey,
  TARGETS,
  type Target,
  type TargetTraits,
} from "./schema";
