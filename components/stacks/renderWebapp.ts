import { TARGETS } from "../config";
import { DEFAULT_PREFIX } from "./names";
import type { RenderInput } from "./renderCommon";
import { composeFile, consulJoin, deployPolicy, externals, health, PORTS, secretRefs } from "./renderCommon";
import { mysqlHosts } from "./renderMysql";
import type { ComposeFile, StackFacts } from "./types";

/**
 * The uid and gid every process of the webapp image runs as (`USER` in
 * images/webapp/Dockerfile, ARG WEBAPP_UID): its Docker secrets are given to them.
 */
export const WEBAPP_USER = { uid: 10001, gid: 10001 } as const;

/** Where each replica serves Prometheus metrics (GET /metrics, no auth), apart from the app port. */
export const WEBAPP_METRICS_PORT = 9100;

/**
 * The webapp: on all three networks, rolling `start-first` one at a time, rolled back on
 * failure. Least privilege: the image's unprivileged user, no capabilities, a read-only
 * root filesystem (the image keeps its run-time state on /dev/shm and sets no_new_privs
 * itself: `docker stack deploy` drops `security_opt`).
 */
export function renderWebapp(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const drain = config.webapp.drainSeconds;
  if (config.webapp.port === WEBAPP_METRICS_PORT) {
    throw new Error(
      `webapp.port: ${WEBAPP_METRICS_PORT} is the webapp's metrics port (WEBAPP_METRICS_PORT); choose another, e.g. 8080`,
    );
  }
  return composeFile(
    {
      webapp: {
        image: input.images[stack.image],
        environment: {
          ...consulJoin(prefix, config),
          MYSQL_DATABASE: config.mysql.database,
          MYSQL_HOST: mysqlHosts(prefix, config)[0],
          ...(config.mysql.nodes > 1 ? { MYSQL_HOSTS: mysqlHosts(prefix, config).join(",") } : {}),
          MYSQL_PORT: String(PORTS.mysql),
          MYSQL_USER: config.mysql.user,
          WEBAPP_DRAIN_SECONDS: String(drain),
          WEBAPP_METRICS_PORT: String(WEBAPP_METRICS_PORT),
          WEBAPP_PORT: String(config.webapp.port),
        },
        user: `${WEBAPP_USER.uid}:${WEBAPP_USER.gid}`,
        read_only: true,
        cap_drop: ["ALL"],
        networks: [...stack.networks],
        secrets: secretRefs(stack.secrets, WEBAPP_USER),
        healthcheck: health(["CMD", "/usr/lib/flotilla/webapp-healthcheck"], "60s"),
        // Longer than the drain, so a stopping replica finishes its requests before SIGKILL.
        stop_grace_period: `${drain + 10}s`,
        deploy: {
          mode: "replicated",
          replicas: config.webapp.replicas,
          endpoint_mode: "dnsrr",
          placement: {
            constraints: [],
            ...(TARGETS[config.target].multiNode ? { preferences: [{ spread: "node.id" }] } : {}),
          },
          ...deployPolicy(stack, "start-first", "5s", "20s"),
        },
      },
    },
    externals(input, stack),
  );
}
