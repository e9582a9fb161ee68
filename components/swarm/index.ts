// What every Swarm target shares: the node plan, cloud-init, host keys, SSH connections
// (jump or direct), the bootstrap script command lines, SwarmBootstrap, and the
// ClusterTarget shape a target's cluster gives the program.
export { type BootstrapNode, parseJoinTokens, SwarmBootstrap, type SwarmBootstrapArgs } from "./bootstrap";
export {
  type CloudInitArgs,
  DEFAULT_LOG_ROTATION,
  engineLogFlags,
  engineLogSettings,
  type LogRotation,
  renderCloudInit,
} from "./cloudInit";
export {
  type ConnectionPlan,
  connectionLogin,
  DIAL_ERROR_LIMIT,
  nodeConnection,
  PER_DIAL_TIMEOUT,
  type SshLogin,
  type SshTarget,
  sshCommandLine,
} from "./connection";
export { type HostKey, hostKey, hostUserData } from "./hostKey";
export { bootstrapFirst, type NodeLabel, type NodePlan, planNodes } from "./plan";
export {
  SWARM_SCRIPTS_DIR,
  type SwarmScript,
  scriptCommand,
  swarmScriptPath,
  swarmScriptText,
} from "./scripts";
export {
  type ClusterTarget,
  type Deployer,
  deployerCommand,
  type ImageRegistry,
  type NodeAccess,
  type VirtualIp,
} from "./target";
