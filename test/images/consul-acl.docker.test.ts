// Consul's lock-down, image level: a server given the management and role tokens as
// secret files enforces default-deny ACLs, creates the role policies and the tokens
// with exactly the given SecretIDs (consul-acl), and never puts a token in argv, the
// environment, its logs or its data directory. Its own checks (readiness, health) work
// with the per-start recovery token, before and without any role token.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithDocker, docker } from "../support/docker";
import { buildImages, cleanup, image, labels, ramSecrets, tryExec, waitFor } from "./s6Support";

const SUITE = "consul-acl";
const NAME = "flotilla-consul-acl-1";
/** consul-acl's round, in seconds (30 by default; short here to see several rounds). */
const RECHECK = 2;

describeWithDocker("consul image: default-deny ACLs bootstrapped from secret files", () => {
  const tokens = {
    consul_master_token: randomUUID(),
    consul_agent_token: randomUUID(),
    consul_haproxy_token: randomUUID(),
    consul_webapp_token: randomUUID(),
  };
  const secrets = ramSecrets({ consul_gossip_key: randomBytes(32).toString("base64"), ...tokens });
  /** A consul command in the server with the token read from a secret file (never argv). */
  const withToken = (file: string | undefined, cmd: string) =>
    tryExec(NAME, ["sh", "-c", file ? `export CONSUL_HTTP_TOKEN_FILE=/run/secrets/${file}; ${cmd}` : cmd]);
  /** curl ARGS against the server's HTTP API with the token of a secret file, sent as a header read from a file in RAM (never argv). */
  const curlWithToken = (file: string, args: string) =>
    withToken(
      file,
      `h=$(mktemp /dev/shm/h.XXXXXX) && printf 'X-Consul-Token: %s\\n' "$(cat $CONSUL_HTTP_TOKEN_FILE)" >"$h" && ` +
        `curl -H "@$h" ${args}; rm -f "$h"`,
    );

  beforeAll(() => {
    cleanup(SUITE);
    buildImages(["s6-base", "consul"]);
    docker([
      "run",
      "-d",
      "--name",
      NAME,
      ...labels(SUITE),
      "-v",
      `${secrets.dir}:/run/secrets:ro`,
      "-e",
      `CONSUL_ACL_RECHECK=${RECHECK}`,
      image("consul"),
    ]);
  });

  afterAll(() => {
    cleanup(SUITE);
    secrets.remove();
  });

  it("creates the three role policies and each token with the SecretID it was given", async () => {
    const start = Date.now();
    await waitFor("the webapp token to work", 120_000, () =>
      withToken("consul_webapp_token", "consul acl token read -self").status === 0 ? true : undefined,
    );
    console.log(`consul-acl: policies and tokens in place ${Date.now() - start} ms after start`);
    const policies = withToken("consul_master_token", "consul acl policy list").out;
    for (const p of ["flotilla-server", "flotilla-haproxy", "flotilla-webapp"]) expect(policies).toContain(p);
    for (const [file, policy] of [
      ["consul_agent_token", "flotilla-server"],
      ["consul_haproxy_token", "flotilla-haproxy"],
      ["consul_webapp_token", "flotilla-webapp"],
    ]) {
      const self = withToken(file, "consul acl token read -self");
      expect(self.status, file).toBe(0);
      expect(self.out).toContain(policy);
    }
    expect(docker(["inspect", "-f", "{{.State.Health.Status}}", NAME])).not.toBe("unhealthy");
  });

  it("denies by default: no token reads nothing, the webapp token registers only webapp", () => {
    // Anonymous: the catalog is empty to it, and a registration is refused.
    expect(withToken(undefined, "CONSUL_HTTP_TOKEN=anonymous consul catalog services").out).not.toContain(
      "consul",
    );
    const reg = (file: string, service: string) =>
      curlWithToken(
        file,
        `-s -o /dev/null -w '%{http_code}' -X PUT --data-binary ` +
          `'{"Node":"webapp-x","Address":"10.9.9.9","Service":{"Service":"${service}","Port":80}}' ` +
          "http://127.0.0.1:8500/v1/catalog/register",
      ).out;
    expect(reg("consul_webapp_token", "webapp")).toBe("200");
    expect(reg("consul_webapp_token", "mysql")).toBe("403");
    expect(reg("consul_haproxy_token", "webapp")).toBe("403");
  });

  it("an unchanged round writes nothing to Consul, and a policy edited by hand is put back", async () => {
    // The policies' ModifyIndex moves on every write: re-applying them each round was a
    // Raft write per policy per round on every server.
    const webappPolicy = () =>
      (
        JSON.parse(
          curlWithToken("consul_master_token", "-fsS http://127.0.0.1:8500/v1/acl/policies").out,
        ) as {
          Name: string;
          Hash: string;
          ModifyIndex: number;
        }[]
      ).find((p) => p.Name === "flotilla-webapp")!;
    const before = webappPolicy().ModifyIndex;
    expect(before).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, (3 * RECHECK + 1) * 1000)); // three rounds
    expect(webappPolicy().ModifyIndex).toBe(before);

    // A hand edit (the rules replaced by a broader grant) is a difference: the next round
    // re-applies the rules from the image.
    const original = webappPolicy().Hash;
    const edit = withToken(
      "consul_master_token",
      `consul acl policy update -name flotilla-webapp -no-merge -rules 'service_prefix "" { policy = "write" }'`,
    );
    expect(edit.status, edit.out).toBe(0);
    expect(webappPolicy().Hash).not.toBe(original);
    const start = Date.now();
    await waitFor("the webapp policy's rules back", 10 * RECHECK * 1000, () =>
      webappPolicy().Hash === original ? true : undefined,
    );
    console.log(`consul-acl: a hand-edited policy put back in ${Date.now() - start} ms (round ${RECHECK} s)`);
    expect(withToken("consul_webapp_token", "consul acl token read -self").out).toContain("flotilla-webapp");
  });

  it("keeps every token out of argv, the environment, the logs, and the data directory but Consul's Raft state", () => {
    const cmdlines = tryExec(NAME, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"]).out;
    const environ = tryExec(NAME, ["sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'"]).out;
    const data = tryExec(
      NAME,
      ["sh", "-c", "grep -rl -F -f /dev/stdin /consul/data || true"],
      Object.values(tokens).join("\n"),
    ).out;
    const logs = docker(["logs", NAME]);
    const inspect = docker(["inspect", NAME]);
    for (const value of Object.values(tokens)) {
      expect(cmdlines).not.toContain(value);
      expect(environ).not.toContain(value);
      expect(logs).not.toContain(value);
      expect(inspect).not.toContain(value);
    }
    // Consul's own replicated state holds the tokens (that is what an ACL system is): the
    // Raft log and snapshots, and nothing else; the agent persists none (no acl-tokens.json).
    for (const file of data.split("\n").filter(Boolean)) expect(file).toMatch(/^\/consul\/data\/raft\//);
    expect(tryExec(NAME, ["find", "/consul/data", "-name", "acl-tokens.json"]).out.trim()).toBe("");
    // Where they are: one config file in RAM, readable by the agent's user only.
    expect(tryExec(NAME, ["stat", "-c", "%a %U", "/dev/shm/consul/secrets.json"]).out.trim()).toBe(
      "600 consul",
    );
  });
});
