// The ssh lines the stack outputs print (`managerSsh`, `nodes.<key>.ssh`): built from the
// same connection the program's remote commands use. The lab VM suite runs such a line
// against real sshd through a real bastion (test/lab/vm.docker.test.ts).
import { describe, expect, it } from "vitest";
import { connectionLogin, sshCommandLine } from "../../components/swarm";

describe("connectionLogin + sshCommandLine", () => {
  it("jumps through the bastion with -J, its port when not 22", () => {
    const line = (port?: number) =>
      sshCommandLine(
        connectionLogin({
          host: "10.42.0.11",
          user: "debian",
          hostKey: "ssh-ed25519 AAAA",
          proxy: {
            host: "203.0.113.7",
            user: "debian",
            hostKey: "ssh-ed25519 BBBB",
            ...(port ? { port } : {}),
          },
        }),
      );
    expect(line()).toBe("ssh -J debian@203.0.113.7 debian@10.42.0.11");
    expect(line(22)).toBe("ssh -J debian@203.0.113.7 debian@10.42.0.11");
    expect(line(2222)).toBe("ssh -J debian@203.0.113.7:2222 debian@10.42.0.11");
  });

  it("goes direct without a proxy, with -p for a port other than 22", () => {
    expect(sshCommandLine(connectionLogin({ host: "10.42.0.11", user: "debian" }))).toBe(
      "ssh debian@10.42.0.11",
    );
    expect(sshCommandLine(connectionLogin({ host: "10.42.0.11", port: 2200 }))).toBe(
      "ssh -p 2200 10.42.0.11",
    );
  });

  it("never carries a key or a password into the line", () => {
    const line = sshCommandLine(
      connectionLogin({
        host: "10.42.0.11",
        user: "debian",
        privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----secret",
        password: "hunter2",
        proxy: { host: "203.0.113.7", user: "debian", privateKey: "secret-proxy-key", password: "pw" },
      }),
    );
    expect(line).toBe("ssh -J debian@203.0.113.7 debian@10.42.0.11");
  });
});
