import { DEFAULT_PREFIX } from "./names";
import {
  consulJoin,
  health,
  labels,
  PORTS,
  type RenderInput,
  restartAny,
  rolling,
  secretRefs,
  topNetworks,
  topSecrets,
} from "./renderCommon";
import { mysqlHosts } from "./renderMysql";
import type { ComposeFile, StackFacts } from "./types";

/** The webapp: on all three networks, rolling `start-first` one at a time, rolled back on failure. */
export function renderWebapp(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const drain = config.webapp.drainSeconds;
  return {
    version: "3.8",
    services: {
      webapp: {
        image: input.images[stack.image],
        environment: {
          ...consulJoin(prefix),
          CONSUL_DATACENTER: config.consul.datacenter,
          MYSQL_DATABASE: config.mysql.database,
          MYSQL_HOST: mysqlHosts(prefix, config)[0],
          ...(config.mysql.nodes > 1 ? { MYSQL_HOSTS: mysqlHosts(prefix, config).join(",") } : {}),
          MYSQL_PORT: String(PORTS.mysql),
          MYSQL_USER: config.mysql.user,
          WEBAPP_DRAIN_SECONDS: String(drain),
          WEBAPP_PORT: String(config.webapp.port),
        },
        networks: [...stack.networks],
        secrets: secretRefs(stack.secrets),
        healthcheck: health(["CMD", "/usr/lib/flotilla/webapp-healthcheck"], "60s"),
        // Longer than the drain, so a stopping replica finishes its requests before SIGKILL.
        stop_grace_period: `${drain + 10}s`,
        deploy: {
          mode: "replicated",
          replicas: config.webapp.replicas,
          endpoint_mode: "dnsrr",
          placement: {
            constraints: [],
            ...(config.target === "openstack" ? { preferences: [{ spread: "node.id" }] } : {}),
          },
          ...rolling("start-first", "5s", "20s"),
          restart_policy: restartAny,
          labels: labels(stack.name),
        },
      },
    },
    networks: topNetworks(prefix, stack.networks),
    secrets: topSecrets(input, stack.secrets),
  };
}
