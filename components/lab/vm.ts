// A lab VM's run spec as data: the one place the flags of a "container that boots like a
// VM" (images/lab-vm, docs/lab.md) are written. Pure functions, no Pulumi resources.
//
// `labVmSpec` returns plain values named and shaped like @pulumi/docker's Container
// arguments, so LabCluster passes it to `new docker.Container(...)` as is, and
// `dockerRunSteps` turns the same spec into the `docker create` / `docker cp` / `docker
// start` command lines the provider's create amounts to (container created, uploads
// copied in as a tar extracted at `/`, then started). The Docker suite boots its VMs
// with those command lines: the flags it tests are the flags the lab deploys.
import { stringify } from "yaml";
import { engineLogSettings, type LogRotation } from "../swarm";

/** Where cloud-init's NoCloud datasource reads its seed (`meta-data`, `user-data`). */
export const NOCLOUD_SEED_DIR = "/var/lib/cloud/seed/nocloud";
/** systemd (PID 1 of a lab VM) shuts down on SIGRTMIN+3; SIGTERM would only re-exec it. */
export const LAB_VM_STOP_SIGNAL = "SIGRTMIN+3";
/**
 * How long a VM being deleted (replaced, or the lab destroyed) may take to shut down
 * before it is killed: the provider's `destroyGraceSeconds` (unset, it kills at once). A
 * clean halt, inner engine included, takes a few seconds.
 */
export const LAB_VM_SHUTDOWN_SECONDS = 60;

/**
 * `V` is the type of the values that may only be known later: plain strings for the
 * test and the unit tests, `pulumi.Input<string>` for LabCluster (a volume's name, the
 * network's, the secret user-data). Only plain strings are checked here.
 */
export interface LabVmArgs<V = string> {
  /** Container name (unique on the engine). */
  readonly name: string;
  /** The VM's host name (cloud-init sets it again from user-data). */
  readonly hostname: string;
  /** The lab VM image (flotilla/lab-vm), by tag or ID. */
  readonly image: V;
  /** The lab's Docker network (name or ID); the VM is on this network only. */
  readonly network: V;
  /** Fixed address on that network (from the lab address plan); Docker picks one if absent. */
  readonly ipv4Address?: string;
  /**
   * The VM's /var/lib/docker (overlay2 cannot live on the container's overlay): a named
   * volume, or, when absent, an anonymous one, which lives and dies with the container as a
   * VM's root disk does with the VM (kept across power cycles, gone when the VM is replaced).
   */
  readonly dockerVolume?: V;
  /** The NoCloud seed: user-data (holds the private host key: a secret) and meta-data. */
  readonly seed: { readonly userData: V; readonly metaData: V };
  /** Publish the VM's sshd (the bastion's) on the host: `hostPort` absent means a free port. */
  readonly publishSsh?: { readonly hostIp: string; readonly hostPort?: number };
  /** Extra container labels. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Rotation of the VM container's own log (its console: systemd's boot and shutdown
   * messages) on the host engine, from config `logging`; absent: the host engine's default.
   */
  readonly logging?: LogRotation;
}

/** One file copied into the created container before it starts (the provider's `uploads`). */
export interface ContainerUploadSpec<V = string> {
  readonly file: string;
  readonly content: V;
  /** Octal mode such as "0600"; default 0644 (0744 when `executable`), as the provider does. */
  readonly permissions?: string;
  readonly executable?: boolean;
}

/**
 * The subset of @pulumi/docker `ContainerArgs` a lab VM (or registry) uses, as plain
 * values with the provider's names and shapes. `dockerCreateArgs` understands exactly
 * these keys and refuses any other.
 */
export interface ContainerSpec<V = string> {
  readonly name: string;
  readonly image: V;
  readonly hostname?: string;
  readonly command?: string[];
  readonly envs?: string[];
  readonly capabilities?: { readonly adds?: string[]; readonly drops?: string[] };
  readonly securityOpts?: string[];
  readonly cgroupnsMode?: "host" | "private";
  readonly tmpfs?: Readonly<Record<string, string>>;
  readonly volumes?: {
    readonly containerPath: string;
    readonly hostPath?: string;
    readonly volumeName?: V;
    readonly readOnly?: boolean;
  }[];
  readonly networksAdvanced?: {
    readonly name: V;
    readonly ipv4Address?: string;
    readonly aliases?: string[];
  }[];
  readonly ports?: {
    readonly internal: number;
    readonly external?: number;
    readonly ip?: string;
    readonly protocol?: "tcp" | "udp";
  }[];
  readonly uploads?: ContainerUploadSpec<V>[];
  readonly labels?: { readonly label: string; readonly value: string }[];
  readonly stopSignal?: string;
  readonly stopTimeout?: number;
  readonly restart?: "no" | "on-failure" | "always" | "unless-stopped";
  readonly logDriver?: string;
  readonly logOpts?: Readonly<Record<string, string>>;
}

/** A lab VM's spec: every flag a VM needs is set (none optional). */
export interface LabVmSpec<V = string> extends ContainerSpec<V> {
  readonly hostname: string;
  readonly capabilities: { readonly adds: string[]; readonly drops: string[] };
  readonly securityOpts: string[];
  readonly cgroupnsMode: "host";
  readonly tmpfs: Readonly<Record<string, string>>;
  readonly volumes: NonNullable<ContainerSpec<V>["volumes"]>;
  readonly networksAdvanced: NonNullable<ContainerSpec<V>["networksAdvanced"]>;
  readonly ports: NonNullable<ContainerSpec<V>["ports"]>;
  readonly uploads: ContainerUploadSpec<V>[];
  readonly labels: NonNullable<ContainerSpec<V>["labels"]>;
  readonly stopSignal: string;
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function fail(key: string, expected: string, got: unknown): never {
  throw new Error(`lab VM: ${key}: expected ${expected}, got ${JSON.stringify(got)}`);
}

/** The VM container's log settings in the provider's names (the engine's json-file rotation). */
function vmLogSettings(rotation: LogRotation): { logDriver: string; logOpts: Record<string, string> } {
  const settings = engineLogSettings(rotation);
  return { logDriver: settings["log-driver"], logOpts: { ...settings["log-opts"] } };
}

/**
 * The run spec of a lab VM. Each flag, and why (docs/lab.md has the longer story):
 * - capabilities ALL minus SYS_RESOURCE, seccomp and AppArmor unconfined: what systemd,
 *   sshd, cloud-init and an inner dockerd (overlay2, iptables, netns) need; `--privileged`
 *   is refused on the build machines, and these are enough.
 * - cgroupnsMode host and /sys/fs/cgroup bound read-write: cgroup v1 is read-only in an
 *   unprivileged container; systemd and the inner engine need to create cgroups (the
 *   image puts the inner engine's under the VM's own cgroup, removed with the VM).
 * - tmpfs /run and /run/lock: systemd expects them to be fresh tmpfs at each boot, as a
 *   VM's are (same options as Debian's).
 * - a volume on /var/lib/docker: the inner engine's overlay2 cannot sit on overlay
 *   (anonymous unless named: then it goes with the container, as a root disk with its VM).
 * - the NoCloud seed as uploads (user-data 0600: it holds the host's private key).
 * - stop signal SIGRTMIN+3: systemd's "halt", so `docker stop` is a clean shutdown.
 * - with `logging`: the container's own log rotates (json-file, max-size, max-file).
 */
export function labVmSpec<V = string>(args: LabVmArgs<V>): LabVmSpec<V> {
  if (!CONTAINER_NAME.test(args.name))
    fail("name", "a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", args.name);
  if (!HOSTNAME.test(args.hostname)) fail("hostname", "a lower-case DNS host name", args.hostname);
  const known = (key: string, value: V | undefined, ok: (text: string) => boolean, expected: string) => {
    if (value === undefined || value === null || (typeof value === "string" && !ok(value)))
      fail(key, expected, value);
  };
  known("image", args.image, (t) => t.trim() !== "", "an image reference");
  known("network", args.network, (t) => t.trim() !== "", "a Docker network name or ID");
  if (args.ipv4Address !== undefined && !isIpv4(args.ipv4Address))
    fail("ipv4Address", "an IPv4 address", args.ipv4Address);
  if (args.dockerVolume !== undefined)
    known("dockerVolume", args.dockerVolume, (t) => CONTAINER_NAME.test(t), "a Docker volume name");
  known("seed.userData", args.seed?.userData, (t) => t.trim() !== "", "non-empty cloud-init user-data");
  known("seed.metaData", args.seed?.metaData, (t) => t.trim() !== "", "non-empty NoCloud meta-data");
  const ssh = args.publishSsh;
  if (ssh !== undefined) {
    if (!isIpv4(ssh.hostIp)) fail("publishSsh.hostIp", "an IPv4 address such as 127.0.0.1", ssh.hostIp);
    if (
      ssh.hostPort !== undefined &&
      !(Number.isInteger(ssh.hostPort) && ssh.hostPort > 0 && ssh.hostPort < 65536)
    )
      fail("publishSsh.hostPort", "a port from 1 to 65535", ssh.hostPort);
  }
  return {
    name: args.name,
    image: args.image,
    hostname: args.hostname,
    capabilities: { adds: ["ALL"], drops: ["SYS_RESOURCE"] },
    securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
    cgroupnsMode: "host",
    tmpfs: {
      "/run": "rw,nosuid,nodev,noexec,mode=755",
      "/run/lock": "rw,nosuid,nodev,noexec,size=5m",
    },
    volumes: [
      { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup", readOnly: false },
      args.dockerVolume !== undefined
        ? { volumeName: args.dockerVolume, containerPath: "/var/lib/docker" }
        : { containerPath: "/var/lib/docker" },
    ],
    networksAdvanced: [
      { name: args.network, ...(args.ipv4Address !== undefined ? { ipv4Address: args.ipv4Address } : {}) },
    ],
    ports:
      ssh === undefined
        ? []
        : [
            {
              internal: 22,
              ip: ssh.hostIp,
              protocol: "tcp",
              ...(ssh.hostPort !== undefined ? { external: ssh.hostPort } : {}),
            },
          ],
    uploads: [
      { file: `${NOCLOUD_SEED_DIR}/meta-data`, content: args.seed.metaData, permissions: "0644" },
      { file: `${NOCLOUD_SEED_DIR}/user-data`, content: args.seed.userData, permissions: "0600" },
    ],
    labels: Object.entries(args.labels ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, value]) => ({ label, value })),
    stopSignal: LAB_VM_STOP_SIGNAL,
    ...(args.logging !== undefined ? vmLogSettings(args.logging) : {}),
  };
}

export interface LabRegistryArgs<V = string> {
  /** Container name. */
  readonly name: string;
  /** The lab registry image (flotilla/lab-registry), by tag or ID. */
  readonly image: V;
  /** The lab's Docker network; nodes pull from `<ipv4Address>:5000`. */
  readonly network: V;
  /** Fixed address on that network (the address plan's `registry`). */
  readonly ipv4Address?: string;
  /** Named volume for the blobs (/var/lib/docker-registry). */
  readonly dataVolume: V;
  /** Where the host pushes: `hostIp` (127.0.0.1: Docker treats loopback as insecure), a free port unless given. */
  readonly publish: { readonly hostIp: string; readonly hostPort?: number };
  /** Extra container labels. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The port the lab registry serves on, inside the lab network. */
export const LAB_REGISTRY_PORT = 5000;

/**
 * The run spec of the lab registry (images/lab-registry): on the lab network, its blobs
 * on a volume, :5000 published on the host address given (127.0.0.1) only. The image has
 * a health check (`/v2/` answers); wait for `healthy` before pushing.
 */
export function labRegistrySpec<V = string>(args: LabRegistryArgs<V>): ContainerSpec<V> {
  if (!CONTAINER_NAME.test(args.name))
    fail("name", "a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", args.name);
  for (const [key, value] of [
    ["image", args.image],
    ["network", args.network],
    ["dataVolume", args.dataVolume],
  ] as const)
    if (value === undefined || value === null || (typeof value === "string" && value.trim() === ""))
      fail(key, "a non-empty name", value);
  if (args.ipv4Address !== undefined && !isIpv4(args.ipv4Address))
    fail("ipv4Address", "an IPv4 address", args.ipv4Address);
  const { hostIp, hostPort } = args.publish ?? {};
  if (!isIpv4(hostIp ?? "")) fail("publish.hostIp", "an IPv4 address such as 127.0.0.1", hostIp);
  if (hostPort !== undefined && !(Number.isInteger(hostPort) && hostPort > 0 && hostPort < 65536))
    fail("publish.hostPort", "a port from 1 to 65535", hostPort);
  return {
    name: args.name,
    image: args.image,
    volumes: [{ volumeName: args.dataVolume, containerPath: "/var/lib/docker-registry" }],
    // The images every node pulls: back after an engine restart, unless stopped on purpose.
    restart: "unless-stopped",
    networksAdvanced: [
      { name: args.network, ...(args.ipv4Address !== undefined ? { ipv4Address: args.ipv4Address } : {}) },
    ],
    ports: [
      {
        internal: LAB_REGISTRY_PORT,
        ip: hostIp,
        protocol: "tcp",
        ...(hostPort !== undefined ? { external: hostPort } : {}),
      },
    ],
    labels: Object.entries(args.labels ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, value]) => ({ label, value })),
  };
}

/** NoCloud meta-data: the instance ID (a new one makes cloud-init run its per-instance modules again) and host name. */
export function renderMetaData(instanceId: string, hostname: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(instanceId))
    throw new Error(
      `lab VM meta-data: instanceId: expected letters, digits and _.:-, got ${JSON.stringify(instanceId)}`,
    );
  if (!HOSTNAME.test(hostname))
    throw new Error(
      `lab VM meta-data: hostname: expected a lower-case DNS host name, got ${JSON.stringify(hostname)}`,
    );
  return stringify({ "instance-id": instanceId, "local-hostname": hostname });
}

const SPEC_KEYS = new Set([
  "name",
  "image",
  "hostname",
  "command",
  "envs",
  "capabilities",
  "securityOpts",
  "cgroupnsMode",
  "tmpfs",
  "volumes",
  "networksAdvanced",
  "ports",
  "uploads",
  "labels",
  "stopSignal",
  "stopTimeout",
  "restart",
  "logDriver",
  "logOpts",
]);

/**
 * `docker create` arguments (without the leading `docker`) for a container spec. Keys
 * outside `ContainerSpec` are refused by name rather than silently dropped, so a flag
 * the provider would set never goes missing from the tested command line. Uploads are
 * not flags: `dockerRunSteps` copies them in between create and start.
 */
export function dockerCreateArgs(spec: ContainerSpec): string[] {
  for (const key of Object.keys(spec))
    if (!SPEC_KEYS.has(key) && (spec as unknown as Record<string, unknown>)[key] !== undefined)
      throw new Error(
        `dockerCreateArgs: unsupported Container argument '${key}' (supported: ${[...SPEC_KEYS].join(", ")})`,
      );
  if (!spec.name) fail("name", "a container name", spec.name);
  if (!spec.image) fail("image", "an image reference", spec.image);
  const networks = spec.networksAdvanced ?? [];
  if (networks.length > 1)
    throw new Error(
      "dockerCreateArgs: networksAdvanced: expected at most one network (docker create joins one)",
    );
  const argv = ["create", "--name", spec.name];
  if (spec.hostname) argv.push("--hostname", spec.hostname);
  for (const { label, value } of spec.labels ?? []) argv.push("--label", `${label}=${value}`);
  for (const cap of spec.capabilities?.adds ?? []) argv.push("--cap-add", cap);
  for (const cap of spec.capabilities?.drops ?? []) argv.push("--cap-drop", cap);
  for (const opt of spec.securityOpts ?? []) argv.push("--security-opt", opt);
  if (spec.cgroupnsMode) argv.push(`--cgroupns=${spec.cgroupnsMode}`);
  for (const [path, options] of Object.entries(spec.tmpfs ?? {}))
    argv.push("--tmpfs", options ? `${path}:${options}` : path);
  for (const v of spec.volumes ?? []) {
    const source = v.hostPath ?? v.volumeName;
    if (v.hostPath !== undefined && v.volumeName !== undefined)
      throw new Error(`dockerCreateArgs: volumes: ${v.containerPath} has both hostPath and volumeName`);
    const mode = v.readOnly ? ":ro" : source !== undefined ? ":rw" : "";
    argv.push("--volume", source !== undefined ? `${source}:${v.containerPath}${mode}` : v.containerPath);
  }
  for (const n of networks) {
    argv.push("--network", n.name);
    if (n.ipv4Address) argv.push("--ip", n.ipv4Address);
    for (const alias of n.aliases ?? []) argv.push("--network-alias", alias);
  }
  for (const p of spec.ports ?? []) {
    const host = p.ip ?? "0.0.0.0";
    argv.push("--publish", `${host}:${p.external ?? ""}:${p.internal}/${p.protocol ?? "tcp"}`);
  }
  for (const env of spec.envs ?? []) argv.push("--env", env);
  if (spec.stopSignal) argv.push("--stop-signal", spec.stopSignal);
  if (spec.stopTimeout !== undefined) argv.push("--stop-timeout", String(spec.stopTimeout));
  if (spec.restart) argv.push("--restart", spec.restart);
  if (spec.logDriver) argv.push("--log-driver", spec.logDriver);
  for (const [key, value] of Object.entries(spec.logOpts ?? {})) argv.push("--log-opt", `${key}=${value}`);
  argv.push(spec.image, ...(spec.command ?? []));
  return argv;
}

/** One docker CLI invocation: its arguments (without `docker`) and what to send on stdin. */
export interface DockerStep {
  readonly args: readonly string[];
  readonly input?: Buffer;
}

/**
 * The provider's create as docker CLI steps: `docker create ...`, then the uploads as
 * one tar extracted at `/` of the created container (`docker cp - <name>:/`, the same
 * archive API the provider calls; the content goes on stdin, never on disk or argv),
 * then `docker start`.
 */
export function dockerRunSteps(spec: ContainerSpec, mtimeSeconds = 0): DockerStep[] {
  const steps: DockerStep[] = [{ args: dockerCreateArgs(spec) }];
  if ((spec.uploads ?? []).length > 0)
    steps.push({
      args: ["cp", "-", `${spec.name}:/`],
      input: uploadArchive(spec.uploads ?? [], mtimeSeconds),
    });
  steps.push({ args: ["start", spec.name] });
  return steps;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function uploadMode(upload: Pick<ArchiveFile, "file" | "permissions" | "executable">): number {
  if (upload.permissions === undefined) return upload.executable ? 0o744 : 0o644;
  if (!/^0?[0-7]{3,4}$/.test(upload.permissions))
    throw new Error(
      `uploads: ${upload.file}: permissions: expected an octal mode such as "0600", got "${upload.permissions}"`,
    );
  return Number.parseInt(upload.permissions, 8);
}

/** One file of an upload archive: text or bytes, owned by root unless numeric ids are given. */
export type ArchiveFile = ContainerUploadSpec<string | Buffer> & {
  readonly uid?: number;
  readonly gid?: number;
};

/**
 * A POSIX ustar archive holding each upload at its absolute path (written relative to
 * `/`), owned by root (or the given numeric ids), with the provider's modes; what the
 * provider sends to Docker's archive API for `uploads`, and what the rehearsal executor
 * sends for a Container's uploads. Parent directories are created by the extraction.
 */
export function uploadArchive(uploads: readonly ArchiveFile[], mtimeSeconds = 0): Buffer {
  const blocks: Buffer[] = [];
  for (const upload of uploads) {
    if (!upload.file.startsWith("/") || upload.file.endsWith("/") || upload.file.split("/").includes(".."))
      throw new Error(`uploads: file: expected an absolute file path without '..', got "${upload.file}"`);
    const path = upload.file.slice(1);
    const content = Buffer.isBuffer(upload.content) ? upload.content : Buffer.from(upload.content, "utf8");
    const uid = upload.uid ?? 0;
    const gid = upload.gid ?? 0;
    const header = Buffer.alloc(512);
    let name = path;
    let prefix = "";
    if (Buffer.byteLength(path) > 100) {
      const cut = path.lastIndexOf("/", 155);
      if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100)
        throw new Error(`uploads: file: path too long for a tar header: "${upload.file}"`);
      prefix = path.slice(0, cut);
      name = path.slice(cut + 1);
    }
    header.write(name, 0, 100, "utf8");
    header.write(octal(uploadMode(upload), 8), 100, "ascii");
    header.write(octal(uid, 8), 108, "ascii");
    header.write(octal(gid, 8), 116, "ascii");
    header.write(octal(content.length, 12), 124, "ascii");
    header.write(octal(Math.floor(mtimeSeconds), 12), 136, "ascii");
    header.write("        ", 148, "ascii");
    header.write("0", 156, "ascii");
    header.write("ustar\0", 257, "ascii");
    header.write("00", 263, "ascii");
    // Owners by number only (no user or group names): Docker's extraction uses the ids.
    header.write(prefix, 345, 155, "utf8");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
