// The OpenSSH side of command:remote: a connection normalised with the provider's
// defaults, a known_hosts holding only the pinned host keys, an ssh config that the
// ProxyJump hop inherits (-F is passed on to it; -o options are not), and a per-run
// ssh-agent that holds the private keys in memory only.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runOk } from "./process";
import type { JournaledConnection, SshSession } from "./types";

export interface Connection extends JournaledConnection {
  privateKey?: string;
  proxy?: Omit<Connection, "proxy">;
}

const DEFAULTS = { port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 };

function field<T>(obj: Record<string, unknown>, key: string, kind: string, where: string): T | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== kind)
    throw new Error(`input '${where}.${key}': expected a ${kind}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** The `connection` input with the provider's defaults; refuses what the rehearsal will not do. */
export function normaliseConnection(raw: unknown, where = "connection", allowProxy = true): Connection {
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new Error(`input '${where}': expected an object`);
  const c = raw as Record<string, unknown>;
  const host = field<string>(c, "host", "string", where);
  if (!host) throw new Error(`input '${where}.host' is required`);
  if (c.password !== undefined && c.password !== null)
    throw new Error(
      `input '${where}.password': password logins are refused by the rehearsal (use privateKey)`,
    );
  if (c.privateKeyPassword !== undefined && c.privateKeyPassword !== null)
    throw new Error(
      `input '${where}.privateKeyPassword': encrypted private keys are not supported by the rehearsal`,
    );
  if (c.agentSocketPath !== undefined && c.agentSocketPath !== null)
    throw new Error(`input '${where}.agentSocketPath' is not supported by the rehearsal (give privateKey)`);
  const hostKey = field<string>(c, "hostKey", "string", where);
  if (!hostKey)
    throw new Error(
      `input '${where}.hostKey' is required by the rehearsal: it checks host keys strictly against the pinned key (the provider would skip the check)`,
    );
  const parts = hostKey.trim().split(/\s+/);
  if (parts.length < 2 || !validPublicKey(parts[0], parts[1]))
    throw new Error(
      `input '${where}.hostKey': expected '<type> <base64>' (an OpenSSH public key), got ${JSON.stringify(hostKey)}`,
    );
  const port = field<number>(c, "port", "number", where) ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`input '${where}.port': expected 1-65535, got ${port}`);
  let proxy: Connection["proxy"];
  if (c.proxy !== undefined && c.proxy !== null) {
    if (!allowProxy) throw new Error(`input '${where}.proxy': a proxy of a proxy is not supported`);
    proxy = normaliseConnection(c.proxy, `${where}.proxy`, false);
  }
  return {
    host,
    port,
    user: field<string>(c, "user", "string", where) ?? DEFAULTS.user,
    hostKey: `${parts[0]} ${parts[1]}`,
    dialErrorLimit: field<number>(c, "dialErrorLimit", "number", where) ?? DEFAULTS.dialErrorLimit,
    perDialTimeout: field<number>(c, "perDialTimeout", "number", where) ?? DEFAULTS.perDialTimeout,
    privateKey: field<string>(c, "privateKey", "string", where),
    ...(proxy ? { proxy } : {}),
  };
}

/** Whether `<type> <base64>` is an OpenSSH public key: the blob starts with its own type name. */
function validPublicKey(type: string, blob: string): boolean {
  if (!/^[A-Za-z0-9+/]+=*$/.test(blob)) return false;
  const raw = Buffer.from(blob, "base64");
  if (raw.length < 4) return false;
  const len = raw.readUInt32BE(0);
  return len === type.length && raw.subarray(4, 4 + len).toString("latin1") === type;
}

/** The connection without its key material, for the journal. */
export function journaled(c: Connection): JournaledConnection {
  const { privateKey: _k, proxy, ...rest } = c;
  if (!proxy) return rest;
  const { privateKey: _pk, ...p } = proxy;
  return { ...rest, proxy: p };
}

/** How OpenSSH names a host in known_hosts: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** known_hosts lines for the target and its proxy: only the pinned keys. */
export function knownHostsLines(c: JournaledConnection): string[] {
  const lines = [`${knownHostsName(c.host, c.port)} ${c.hostKey}`];
  if (c.proxy) lines.push(`${knownHostsName(c.proxy.host, c.proxy.port)} ${c.proxy.hostKey}`);
  return lines;
}

/** The ssh config of a run (given with -F, so the ProxyJump hop uses it too). */
export function sshConfig(knownHosts: string, agentSocket: string): string {
  return [
    "Host *",
    "  StrictHostKeyChecking yes",
    `  UserKnownHostsFile ${knownHosts}`,
    "  GlobalKnownHostsFile /dev/null",
    "  BatchMode yes",
    "  PasswordAuthentication no",
    "  KbdInteractiveAuthentication no",
    `  IdentityAgent ${agentSocket}`,
    "  ServerAliveInterval 15",
    "  ServerAliveCountMax 4",
    "  LogLevel ERROR",
    "",
  ].join("\n");
}

/** argv of `ssh` running `command` on the connection's host (through its proxy with ProxyJump). */
export function sshArgv(
  c: JournaledConnection,
  files: { config: string; knownHosts: string; agentSocket: string },
  command: string,
): string[] {
  const argv = [
    "ssh",
    "-F",
    files.config,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${files.knownHosts}`,
    "-o",
    "BatchMode=yes",
    "-o",
    `IdentityAgent=${files.agentSocket}`,
    "-T",
  ];
  if (c.perDialTimeout > 0) argv.push("-o", `ConnectTimeout=${c.perDialTimeout}`);
  argv.push("-p", String(c.port));
  if (c.proxy) argv.push("-J", `${c.proxy.user}@${c.proxy.host}:${c.proxy.port}`);
  argv.push(`${c.user}@${c.host}`, "--", command);
  return argv;
}

/** A per-run ssh-agent (`ssh-agent -D`, stopped by `close`) and a 0700 directory for the ssh files. */
export async function startSshSession(signal?: AbortSignal): Promise<SshSession & { close(): void }> {
  const dir = mkdtempSync(path.join(tmpdir(), "flotilla-rehearsal-ssh-"));
  chmodSync(dir, 0o700);
  const agentSocket = path.join(dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-D", "-a", agentSocket], { stdio: ["ignore", "ignore", "pipe"] });
  let agentError = "";
  agent.stderr.on("data", (d: Buffer) => {
    agentError += d.toString();
  });
  const deadline = Date.now() + 5000;
  const { existsSync } = await import("node:fs");
  while (!existsSync(agentSocket)) {
    if (agent.exitCode !== null || Date.now() > deadline) {
      agent.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`ssh-agent did not start: ${agentError.trim() || "no socket after 5 s"}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const added = new Set<string>();
  return {
    dir,
    agentSocket,
    async addKey(privateKey: string) {
      if (added.has(privateKey)) return;
      await runOk(
        "ssh-add (loading a connection's private key into the run's agent)",
        ["ssh-add", "-q", "-"],
        {
          stdin: privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`,
          env: { ...process.env, SSH_AUTH_SOCK: agentSocket },
          signal,
        },
      );
      added.add(privateKey);
    },
    close() {
      if (agent.exitCode === null) agent.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Write the known_hosts and ssh config for one connection into the session directory; returns their paths. */
export function writeSshFiles(
  dir: string,
  agentSocket: string,
  c: JournaledConnection,
  tag: string,
): { config: string; knownHosts: string; agentSocket: string } {
  const safe = tag.replace(/[^A-Za-z0-9_.-]/g, "_");
  const knownHosts = path.join(dir, `${safe}.known_hosts`);
  const config = path.join(dir, `${safe}.config`);
  writeFileSync(knownHosts, `${knownHostsLines(c).join("\n")}\n`, { mode: 0o600 });
  writeFileSync(config, sshConfig(knownHosts, agentSocket), { mode: 0o600 });
  return { config, knownHosts, agentSocket };
}
