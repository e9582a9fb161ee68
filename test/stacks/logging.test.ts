// Shipping access logs: with `logging.syslogAddress` set, the HAProxy and webapp services
// of the rendered documents log through Docker's syslog driver (RFC 5424, tagged by
// service and container), the other stacks keep the engine's rotated json-file logs.
// test/stacks/logging.docker.test.ts sends these exact options through a real engine.
import { describe, expect, it } from "vitest";
import { type FlotillaConfig, parseConfig } from "../../components/config";
import {
  ACCESS_LOG_STACKS,
  type ComposeFile,
  composeYaml,
  type RenderInput,
  renderStacks,
  syslogLogging,
} from "../../components/stacks";
import { stackImages } from "../support/images";
import { stackConfig } from "../support/pulumi";
import { testSecretNames } from "../support/render";

const images = stackImages();
const secretNames = testSecretNames();

function render(stack: "dev" | "helion", logging?: Record<string, unknown>) {
  const overrides: Record<string, unknown> = logging ? { "flotilla:logging": logging } : {};
  if (stack === "helion") overrides["flotilla:mysql"] = { nodes: 1, volumeSizeGb: 50 };
  if (stack === "helion") overrides["flotilla:swarm"] = { managers: 3, workers: 3, loadBalancerNodes: 2 };
  const config: FlotillaConfig = parseConfig(stackConfig(stack, overrides)).config;
  return renderStacks({
    config,
    images,
    secretNames,
    keepalived: config.keepalived.enabled
      ? { vip: "10.42.0.200/24", peers: ["10.42.0.11", "10.42.0.12"] }
      : undefined,
  } as RenderInput);
}
const services = (docs: { stack: string; document: ComposeFile }[]) =>
  docs.flatMap(({ stack, document }) =>
    Object.entries(document.services).map(([name, s]) => ({ stack, name, s })),
  );

describe("access logs to a syslog collector (config logging.syslogAddress)", () => {
  it("unset (the default): no service overrides the engine's log driver", () => {
    for (const stack of ["dev", "helion"] as const) {
      for (const { name, s } of services(render(stack))) expect(s.logging, name).toBeUndefined();
    }
  });

  it.each(["dev", "helion"] as const)(
    "%s: HAProxy and the webapp ship to the collector; the others do not",
    (stack) => {
      const docs = render(stack, { syslogAddress: "udp://10.42.0.5:514", maxSize: "20m", maxFile: 4 });
      const all = services(docs);
      expect(new Set(all.filter(({ s }) => s.logging).map(({ stack }) => stack))).toEqual(
        new Set(ACCESS_LOG_STACKS),
      );
      for (const { stack: st, name, s } of all) {
        if (!ACCESS_LOG_STACKS.includes(st as never)) {
          expect(s.logging, name).toBeUndefined();
          continue;
        }
        expect(s.logging).toEqual({
          driver: "syslog",
          options: {
            "syslog-address": "udp://10.42.0.5:514",
            "syslog-format": "rfc5424micro",
            tag: `${name}/{{.ID}}`,
            // The local copy `docker logs` reads (dual logging) rotates like the engine's logs.
            "cache-max-size": "20m",
            "cache-max-file": "4",
          },
        });
      }
    },
  );

  it("appears in the YAML the deploy script receives, and changes its hash", () => {
    const plain = render("dev").find((d) => d.stack === "haproxy")!.document;
    const shipped = render("dev", { syslogAddress: "tcp+tls://logs.example.com:6514" }).find(
      (d) => d.stack === "haproxy",
    )!.document;
    const text = composeYaml(shipped);
    expect(text).toContain("driver: syslog");
    expect(text).toContain("syslog-address: tcp+tls://logs.example.com:6514");
    expect(text).not.toBe(composeYaml(plain));
  });

  it("a bad address is refused by the config, naming the key; the renderer refuses it too", () => {
    expect(() =>
      parseConfig(stackConfig("dev", { "flotilla:logging": { syslogAddress: "10.0.0.5:514" } })),
    ).toThrow(/logging\.syslogAddress|syslogAddress/);
    expect(() => syslogLogging("http://x:1", "haproxy", { maxSize: "10m", maxFile: 3 })).toThrow(
      /logging\.syslogAddress: expected a syslog address such as udp:\/\/10\.0\.0\.5:514/,
    );
  });
});
