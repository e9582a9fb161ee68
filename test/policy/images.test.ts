// images-pinned-by-digest: compose documents deployed by `docker stack deploy`, Docker
// services and containers must reference images by digest.

import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { localCommand, remoteCommand } from "../../components/repo";
import { DEPLOY_SCRIPT, deployStdin } from "../../components/stacks";
import { embeddedScripts, heredocs, isPinned } from "../../policy/images";
import { analyze, by, UNKNOWN, type Violation } from "./harness";

const DIGEST = `sha256:${"ab12".repeat(16)}`;
const PINNED = `registry.helion.internal:5000/flotilla/webapp@${DIGEST}`;
const own = (vs: Violation[]) => by("images-pinned-by-digest", vs);

const compose = (images: Record<string, string>) =>
  stringify({
    services: Object.fromEntries(Object.entries(images).map(([name, image]) => [name, { image }])),
    version: "3.8",
  });
const deploy = (stdin: string, type = "command:remote:Command") => ({
  type,
  name: "flotilla-stack-webapp",
  props: { create: "docker stack deploy --prune -c - webapp", stdin },
});

describe("images-pinned-by-digest", () => {
  it("knows a digest from a tag", () => {
    expect(isPinned(PINNED)).toBe(true);
    expect(isPinned(DIGEST)).toBe(true);
    expect(isPinned("registry.internal:5000/flotilla/webapp:0.1.0")).toBe(false);
    expect(isPinned("webapp@sha256:short")).toBe(false);
    expect(isPinned("haproxy")).toBe(false);
  });

  it("passes a stack whose images are all pinned (local and remote commands)", async () => {
    for (const type of ["command:local:Command", "command:remote:Command"]) {
      expect(own(await analyze(deploy(compose({ webapp: PINNED, consul: PINNED }), type)))).toEqual([]);
    }
  });

  it("refuses a stack with a tagged image, naming the service and the image", async () => {
    const vs = own(await analyze(deploy(compose({ webapp: PINNED, haproxy: "flotilla/haproxy:latest" }))));
    expect(vs.map((v) => v.message)).toEqual([
      "command 'flotilla-stack-webapp' deploys a stack whose service 'haproxy' uses image 'flotilla/haproxy:latest' (not pinned by digest)",
    ]);
    expect(vs[0].level).toBe("mandatory");
  });

  it("reads a compose document from a heredoc in the command itself", async () => {
    const create = `set -eu\ndocker stack deploy -c - db <<'EOF'\n${compose({ mysql: "flotilla/mysql:0.1.0" })}EOF\n`;
    expect(heredocs(create)).toHaveLength(1);
    const vs = own(await analyze({ type: "command:local:Command", name: "db", props: { create } }));
    expect(vs.map((v) => v.message)).toEqual([
      "command 'db' deploys a stack whose service 'mysql' uses image 'flotilla/mysql:0.1.0' (not pinned by digest)",
    ]);
  });

  it("refuses a stack deploy whose compose document it cannot see", async () => {
    const vs = own(
      await analyze({
        type: "command:remote:Command",
        name: "opaque",
        props: { create: "docker stack deploy -c /srv/stack.yml webapp" },
      }),
    );
    expect(vs).toHaveLength(1);
    expect(vs[0].message).toContain("compose document is not among its inputs");
  });

  it("reads the project's own deploy format: secrets then `%%compose` on stdin, script local or embedded", async () => {
    const stdin = deployStdin(
      [{ name: "flotilla_mysql_root_1a2b", value: "not-shown" }],
      compose({ mysql: "flotilla/mysql:0.1.0" }),
    );
    const remote = remoteCommand(DEPLOY_SCRIPT, ["--stack", "flotilla_db"]);
    expect(embeddedScripts(remote).join("\n")).toContain("docker stack deploy");
    for (const [type, create] of [
      ["command:local:Command", localCommand(DEPLOY_SCRIPT, ["--stack", "flotilla_db"])],
      ["command:remote:Command", remote],
    ]) {
      const vs = own(await analyze({ type, name: "db", props: { create, stdin } }));
      expect(vs.map((v) => v.message)).toEqual([
        "command 'db' deploys a stack whose service 'mysql' uses image 'flotilla/mysql:0.1.0' (not pinned by digest)",
      ]);
      // The secret values in the same stream are never echoed.
      expect(vs[0].message).not.toContain("not-shown");
      const pinned = deployStdin([{ name: "s", value: "v" }], compose({ mysql: PINNED }));
      expect(own(await analyze({ type, name: "db", props: { create, stdin: pinned } }))).toEqual([]);
    }
    // The embedded script deploys a stack: without a document in sight, it is refused.
    expect(
      own(await analyze({ type: "command:remote:Command", name: "db", props: { create: remote } })),
    ).toHaveLength(1);
  });

  it("ignores commands that deploy nothing", async () => {
    expect(
      own(await analyze({ type: "command:local:Command", props: { create: "docker swarm init" } })),
    ).toEqual([]);
  });

  it("checks Docker services and containers", async () => {
    const service = (image: string) => ({
      type: "docker:index/service:Service",
      name: "svc",
      props: { name: "svc", taskSpec: { containerSpec: { image } } },
    });
    expect(own(await analyze(service(PINNED)))).toEqual([]);
    expect((await analyze(service("nginx:1.27"))).map((v) => v.message)).toContain(
      "service 'svc' uses image 'nginx:1.27' (not pinned by digest)",
    );
    const container = (image: string) => ({
      type: "docker:index/container:Container",
      name: "c",
      props: { image },
    });
    expect(own(await analyze(container(DIGEST)))).toEqual([]);
    expect(own(await analyze(container("debian:trixie-slim")))).toHaveLength(1);
  });

  it("only warns while the digest is unknown (image not built yet during preview)", async () => {
    const vs = own(await analyze(deploy(UNKNOWN)));
    expect(vs).toHaveLength(1);
    expect(vs[0].level).toBe("advisory");
  });
});
