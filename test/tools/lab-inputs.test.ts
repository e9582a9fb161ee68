// The lab and dev stacks stay within what the rehearsal executor performs: every custom
// resource of the real program (evaluated under the ordinary mocks, with real generated
// keys where a connection pins one) has a handler, and each handler's input checks accept
// its inputs (docker flags, uploads, ssh connections, command interpreters). A program
// change the executor would refuse fails here in seconds, not after a lab bring-up.
import { describe, expect, it } from "vitest";
import { HANDLERS } from "../../tools/executor/handlers";
import { containerCreateArgs, uploadFiles } from "../../tools/executor/handlers/dockerContainer";
import { buildArgv } from "../../tools/executor/handlers/dockerImage";
import { networkCreateArgs } from "../../tools/executor/handlers/dockerNetwork";
import { environmentOf, interpreterOf } from "../../tools/executor/handlers/localCommand";
import { generateKey } from "../../tools/executor/handlers/tlsPrivateKey";
import { normaliseConnection } from "../../tools/executor/ssh";
import { evaluateStack } from "../support/pulumi";

const keys = new Map<string, ReturnType<typeof generateKey>>();

async function resourcesOf(stack: string) {
  const evaluation = await evaluateStack(stack, {
    mockOutputs: (type, name, inputs) => {
      if (type !== "tls:index/privateKey:PrivateKey") return undefined;
      if (!keys.has(name)) keys.set(name, generateKey(inputs));
      return { ...keys.get(name) };
    },
  });
  return evaluation.resources.filter((r) => r.custom);
}

describe.each(["dev", "lab"])(
  "stack %s: every resource is one the executor performs, with inputs it accepts",
  (stack) => {
    it("has a handler for each type and accepts each resource's inputs", async () => {
      const resources = await resourcesOf(stack);
      expect(resources.length).toBeGreaterThan(5);
      for (const r of resources) {
        const where = `${r.type} ${r.name}`;
        expect(HANDLERS[r.type], `${where}: no handler`).toBeDefined();
        const check = () => {
          switch (r.type) {
            case "docker:index/container:Container":
              containerCreateArgs(r.inputs, r.name);
              uploadFiles(r.inputs);
              break;
            case "docker:index/network:Network":
              networkCreateArgs(r.inputs, r.name);
              break;
            case "docker:index/image:Image":
              buildArgv(r.inputs, "/");
              break;
            case "command:local:Command":
              interpreterOf(r.inputs);
              environmentOf(r.inputs);
              expect(r.inputs.assetPaths ?? r.inputs.archivePaths).toBeUndefined();
              break;
            case "command:remote:Command": {
              const env = r.inputs.environment as Record<string, string> | undefined;
              expect(Object.keys(env ?? {}), `${where}: environment is refused over ssh`).toEqual([]);
              normaliseConnection(r.inputs.connection);
              break;
            }
          }
        };
        expect(check, where).not.toThrow();
      }
    });
  },
);
