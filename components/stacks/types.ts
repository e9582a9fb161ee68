// The subset of the Compose file format 3.8 that Flotilla's stacks use, as plain
// typed objects (https://docs.docker.com/reference/compose-file/legacy-versions/).
// `docker stack deploy` is the consumer: only keys it honours on Swarm are modelled.
import type { ImageName } from "../images";
import type { NetworkKey, SecretTarget } from "./names";

/** A duration in Compose syntax, e.g. "5s", "1m30s". */
export type Duration = `${number}${"ms" | "s" | "m" | "h"}` | `${number}m${number}s`;

export interface ComposeHealthcheck {
  test: string[];
  interval: Duration;
  timeout: Duration;
  retries: number;
  start_period: Duration;
}

export interface ComposePort {
  target: number;
  /** Omitted: the engine picks a free port (tests). */
  published?: number;
  protocol: "tcp" | "udp";
  mode: "host" | "ingress";
}

export interface ComposeServiceSecret {
  /** Key in the document's top-level `secrets`. */
  source: string;
  /** File name under /run/secrets/ in the container. */
  target: string;
  /** Owner of the file in the container (numeric, as strings; default root). */
  uid?: string;
  gid?: string;
  mode: number;
}

export interface ComposeUpdateConfig {
  parallelism: number;
  delay: Duration;
  order: "start-first" | "stop-first";
  failure_action: "rollback" | "pause" | "continue";
  monitor: Duration;
  max_failure_ratio?: number;
}

export interface ComposeDeploy {
  mode: "replicated" | "global";
  replicas?: number;
  endpoint_mode: "vip" | "dnsrr";
  placement: {
    constraints: string[];
    preferences?: { spread: string }[];
    max_replicas_per_node?: number;
  };
  update_config: ComposeUpdateConfig;
  rollback_config: Omit<ComposeUpdateConfig, "failure_action"> & { failure_action: "pause" | "continue" };
  restart_policy: { condition: "any" | "on-failure" | "none"; delay: Duration; window: Duration };
  labels?: Record<string, string>;
  resources?: { limits?: { memory?: string }; reservations?: { memory?: string } };
}

export interface ComposeMount {
  type: "bind" | "volume";
  source: string;
  target: string;
}

/** A tmpfs mount (Swarm honours these, not the service-level `tmpfs:` list; noexec, root-owned 0755). */
export interface ComposeTmpfsMount {
  type: "tmpfs";
  target: string;
  tmpfs?: { size: number };
}

export interface ComposeService {
  image: string;
  hostname?: string;
  environment: Record<string, string>;
  /** Network keys of the document's top-level `networks`. */
  networks: string[];
  ports?: ComposePort[];
  secrets?: ComposeServiceSecret[];
  volumes?: (ComposeMount | ComposeTmpfsMount)[];
  /** `uid:gid` (numeric) the container's processes run as. */
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  cap_add?: string[];
  /** `disable` turns off the image's own HEALTHCHECK (each check is a `docker exec`: about 0.1 s of CPU). */
  healthcheck: ComposeHealthcheck | { disable: true };
  stop_grace_period: Duration;
  deploy: ComposeDeploy;
  labels?: Record<string, string>;
  /** Where the engine sends the service's logs (absent: the engine's default, json-file with rotation). */
  logging?: ComposeLogging;
}

/** A service's log driver and its options (`docker run --log-driver/--log-opt`). */
export interface ComposeLogging {
  driver: "syslog" | "json-file" | "local";
  options: Record<string, string>;
}

export interface ComposeNetwork {
  /** Flotilla's overlay networks are created by the deploy script and shared by several stacks. */
  external: true;
  name: string;
}

export interface ComposeSecret {
  /** Created by the deploy script (content-hashed name) before the stack is deployed. */
  external: true;
  name: string;
}

export interface ComposeVolume {
  name?: string;
  labels?: Record<string, string>;
}

/**
 * A network the stack itself creates (`<stack>_<key>`) and removes with it: for traffic
 * that stays inside one stack (the monitoring stack's node exporters).
 */
export interface ComposeStackNetwork {
  driver: "overlay";
  labels?: Record<string, string>;
}

export interface ComposeFile {
  version: "3.8";
  services: Record<string, ComposeService>;
  networks?: Record<string, ComposeNetwork | ComposeStackNetwork>;
  secrets?: Record<string, ComposeSecret>;
  volumes?: Record<string, ComposeVolume>;
}

/** The images the stacks run: every image but s6-base, which the others are built FROM. */
export type StackImage = Exclude<ImageName, "s6-base">;

/** What a renderer needs to know about its own stack (its catalog entry). */
export interface StackFacts {
  /** The stack's name; its one service has the same name. */
  readonly name: string;
  /** The image its service runs. */
  readonly image: StackImage;
  /** The overlay networks it joins (none: keepalived uses the host's network). */
  readonly networks: readonly NetworkKey[];
  /** The Docker secrets its service reads (least privilege: only what it needs). */
  readonly secrets: readonly SecretTarget[];
}
