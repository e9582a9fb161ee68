// The whole program evaluated under mocks for each committed stack file.
import { describe, expect, it } from "vitest";
import { evaluateStack } from "./support/pulumi";

describe("Pulumi.dev.yaml", () => {
  it("evaluates and registers the secrets and a local Swarm", async () => {
    const ev = await evaluateStack("dev");
    const types = ev.resources.map((r) => r.type);
    expect(types).toContain("flotilla:secrets:Secrets");
    expect(types).toContain("flotilla:swarm:LocalSwarm");
    expect(ev.outputs.publicUrl).toBe("http://localhost:8080/");
    console.log(ev.resources.map((r) => `${r.type} ${r.name} <- ${r.parent.split("::").pop()}`).join("\n"));
  });
});
