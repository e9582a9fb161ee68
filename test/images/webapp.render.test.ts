// The webapp's stack document, least-privilege part (no Docker): the image's user, no
// capabilities, a read-only root, its secrets given to that user, the metrics port; and
// the image's Dockerfile agreeing with the uid the document uses.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { STACK_CATALOG } from "../../components/stacks/catalog";
import type { RenderInput } from "../../components/stacks/renderCommon";
import { secretRefs } from "../../components/stacks/renderCommon";
import { renderWebapp, WEBAPP_METRICS_PORT, WEBAPP_USER } from "../../components/stacks/renderWebapp";
import { ROOT, stackConfig } from "../support/pulumi";

const facts = STACK_CATALOG.find((s) => s.name === "webapp");
if (!facts) throw new Error("no webapp entry in the stack catalog");

function render(overrides: Record<string, unknown> = {}) {
  const config = parseConfig(stackConfig("dev", overrides)).config;
  const input = {
    config,
    images: { webapp: "flotilla/webapp:0.1.0" },
    secretNames: Object.fromEntries(facts!.secrets.map((t) => [t, `flotilla-${t}-0123456789abcdef`])),
  } as unknown as RenderInput;
  return renderWebapp(input, facts!).services.webapp;
}

describe("webapp stack document", () => {
  it("runs the image's unprivileged user with no capabilities on a read-only root", () => {
    const service = render();
    expect(service.user).toBe(`${WEBAPP_USER.uid}:${WEBAPP_USER.gid}`);
    expect(WEBAPP_USER.uid).not.toBe(0);
    expect(service.cap_drop).toEqual(["ALL"]);
    expect(service.cap_add).toBeUndefined();
    expect(service.read_only).toBe(true);
    // Swarm ignores security_opt: the image sets no_new_privs itself (docs/images.md).
    expect(service).not.toHaveProperty("security_opt");
    expect(service.environment.WEBAPP_METRICS_PORT).toBe(String(WEBAPP_METRICS_PORT));
  });

  it("gives each of its secrets to that user, mode 0400; other services' stay root's", () => {
    const service = render();
    expect(service.secrets?.map((s) => s.target).sort()).toEqual([...facts!.secrets].sort());
    for (const s of service.secrets ?? []) {
      expect(s).toMatchObject({ uid: String(WEBAPP_USER.uid), gid: String(WEBAPP_USER.gid), mode: 0o400 });
    }
    expect(secretRefs(["mysql_password"])).toEqual([
      { source: "mysql_password", target: "mysql_password", mode: 0o400 },
    ]);
  });

  it("refuses webapp.port equal to the metrics port, naming the key", () => {
    expect(() => render({ "flotilla:webapp": { port: WEBAPP_METRICS_PORT } })).toThrow(
      /webapp\.port: 9100 is the webapp's metrics port/,
    );
  });

  it("matches the image: USER and ARG WEBAPP_UID in images/webapp/Dockerfile", () => {
    const dockerfile = readFileSync(path.join(ROOT, "images", "webapp", "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(new RegExp(`^ARG WEBAPP_UID=${WEBAPP_USER.uid}$`, "m"));
    expect(WEBAPP_USER.gid).toBe(WEBAPP_USER.uid);
    expect(dockerfile).toMatch(/^USER \$\{WEBAPP_UID\}:\$\{WEBAPP_UID\}$/m);
    expect(dockerfile).toMatch(/^ {4}WEBAPP_METRICS_PORT=9100 \\$/m);
  });
});
