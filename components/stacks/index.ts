// The stacks: the catalog (one entry per stack), the pure renderers and names, the deploy
// script's arguments, and the SwarmStack and Stacks components.
export {
  STACK_CATALOG,
  STACK_IMAGES,
  STACK_NETWORKS,
  STACK_SECRETS,
  STACKS,
  type StackName,
  type StackSpec,
  stackSpec,
} from "./catalog";
export {
  DEPLOY_SCRIPT,
  type DeployOptions,
  deployArgs,
  deployStdin,
  REMOVE_SCRIPT,
  removeArgs,
} from "./deploy";
export {
  DEFAULT_PREFIX,
  NETWORKS,
  type NetworkKey,
  networkName,
  SECRET_HASH_LENGTH,
  SECRET_LABEL,
  SECRET_NAME_KEY_MIN_LENGTH,
  SECRET_SOURCES,
  SECRET_TARGETS,
  type SecretSource,
  type SecretTarget,
  secretFamily,
  secretName,
  serviceName,
  stackName,
} from "./names";
export {
  ACCESS_LOG_STACKS,
  composeHash,
  composeYaml,
  documentSecrets,
  enabledStacks,
  overlayNetworks,
  renderStack,
  renderStacks,
  rollingPhases,
  stackPhases,
  stackWaitSeconds,
  syslogLogging,
} from "./render";
export { PORTS, type RenderInput, swarmLiteral } from "./renderCommon";
export {
  ALERTMANAGER,
  ALERTMANAGER_SECRETS,
  alertmanagerEnvironment,
  alertmanagerReplicas,
  expectedNodes,
  monitoringEnvironment,
  PROMETHEUS_USER,
} from "./renderMonitoring";
export { mysqlDataDir, mysqlHosts } from "./renderMysql";
export { Stacks, type StacksArgs } from "./stacks";
export { type StackSecrets, SwarmStack, type SwarmStackArgs } from "./swarmStack";
export type { ComposeFile, ComposeLogging, StackFacts, StackImage } from "./types";
