// docker:index/container:Container — `docker create` with the provider's input names,
// further networks connected and `uploads` copied in after create and before start (as
// the provider does), then `docker start`, `mustRun` and `wait` (healthy) checked.
// Outputs: id, name, hostname, networkDatas, ports (with the published port filled in).
// Update and delete as terraform-provider-docker v4.5.0 does them
// (internal/provider/resource_docker_container_funcs.go): update is `docker update` of the
// restart policy and resources when one of those changed (:1015-1075) and a start when
// mustRun goes from false to true (:997-1011), nothing else; delete stops the container
// with destroyGraceSeconds as the timeout (0 when unset: killed at once), then removes it
// forcibly, with its anonymous volumes when removeVolumes (default true) (:1079-1110).
import { readFileSync } from "node:fs";
import type { DeleteHandler, Handler, HandlerContext, ResourceHandler, UpdateHandler } from "../types";
import { docker, dockerGone, labelArgs, refuseInputs, stringList } from "./docker";
import { type TarFile, tarArchive } from "./tar";

const KNOWN = [
  "name",
  "image",
  "hostname",
  "domainname",
  "command",
  "entrypoints",
  "envs",
  "labels",
  "networksAdvanced",
  "networkMode",
  "capabilities",
  "securityOpts",
  "tmpfs",
  "cgroupnsMode",
  "volumes",
  "mounts",
  "uploads",
  "ports",
  "restart",
  "maxRetryCount",
  "memory",
  "memorySwap",
  "privileged",
  "stopSignal",
  "stopTimeout",
  "destroyGraceSeconds",
  "wait",
  "waitTimeout",
  "mustRun",
  "start",
  "user",
  "workingDir",
  "dns",
  "dnsOpts",
  "dnsSearches",
  "hosts",
  "init",
  "sysctls",
  "ulimits",
  "shmSize",
  "logDriver",
  "logOpts",
  "healthcheck",
  "readOnly",
  "removeVolumes",
  "rm",
  "attach",
  "logs",
  "tty",
  "stdinOpen",
  "groupAdds",
  "cpuShares",
  "cpus",
  "pidMode",
  "ipcMode",
  "usernsMode",
  "storageOpts",
];

type Obj = Record<string, unknown>;

function list(v: unknown, where: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`input '${where}': expected a list`);
  return v as Obj[];
}

/** Quote one word for a POSIX shell (health check commands given as exec form). */
function shq(w: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** argv after `docker` for `docker create` (the first network only; the rest are connected before start). */
export function containerCreateArgs(inputs: Obj, fallbackName: string): string[] {
  refuseInputs(inputs, KNOWN, "docker:index/container:Container");
  if (inputs.privileged === true)
    throw new Error(
      "input 'privileged': refused (--privileged is not available on this kind of machine); use capabilities {adds: [ALL]} and securityOpts instead",
    );
  if (typeof inputs.image !== "string" || !inputs.image) throw new Error("input 'image' is required");
  const name = (inputs.name as string | undefined) ?? fallbackName;
  const a = ["create", "--name", name];
  const str = (key: string, flag: string) => {
    if (inputs[key] !== undefined && inputs[key] !== null && inputs[key] !== "")
      a.push(flag, String(inputs[key]));
  };
  str("hostname", "--hostname");
  str("domainname", "--domainname");
  str("user", "--user");
  str("workingDir", "--workdir");
  str("stopSignal", "--stop-signal");
  str("stopTimeout", "--stop-timeout");
  str("cgroupnsMode", "--cgroupns");
  str("logDriver", "--log-driver");
  str("pidMode", "--pid");
  str("ipcMode", "--ipc");
  str("usernsMode", "--userns");
  str("cpuShares", "--cpu-shares");
  str("cpus", "--cpus");
  if (inputs.restart)
    a.push(
      "--restart",
      inputs.restart === "on-failure" && inputs.maxRetryCount
        ? `on-failure:${inputs.maxRetryCount}`
        : String(inputs.restart),
    );
  if (typeof inputs.memory === "number" && inputs.memory > 0) a.push("--memory", `${inputs.memory}m`);
  if (typeof inputs.memorySwap === "number" && inputs.memorySwap !== 0)
    a.push("--memory-swap", inputs.memorySwap < 0 ? "-1" : `${inputs.memorySwap}m`);
  if (typeof inputs.shmSize === "number") a.push("--shm-size", `${inputs.shmSize}m`);
  if (inputs.init === true) a.push("--init");
  if (inputs.readOnly === true) a.push("--read-only");
  if (inputs.tty === true) a.push("--tty");
  if (inputs.stdinOpen === true) a.push("--interactive");
  if (inputs.rm === true) a.push("--rm");
  for (const e of stringList(inputs.envs, "envs")) a.push("--env", e);
  a.push(...labelArgs(inputs.labels));
  const caps = (inputs.capabilities ?? {}) as Obj;
  for (const c of stringList(caps.adds, "capabilities.adds")) a.push("--cap-add", c);
  for (const c of stringList(caps.drops, "capabilities.drops")) a.push("--cap-drop", c);
  for (const s of stringList(inputs.securityOpts, "securityOpts")) a.push("--security-opt", s);
  for (const g of stringList(inputs.groupAdds, "groupAdds")) a.push("--group-add", g);
  for (const d of stringList(inputs.dns, "dns")) a.push("--dns", d);
  for (const d of stringList(inputs.dnsOpts, "dnsOpts")) a.push("--dns-option", d);
  for (const d of stringList(inputs.dnsSearches, "dnsSearches")) a.push("--dns-search", d);
  for (const [k, v] of Object.entries((inputs.tmpfs ?? {}) as Record<string, string>))
    a.push("--tmpfs", v ? `${k}:${v}` : k);
  for (const [k, v] of Object.entries((inputs.sysctls ?? {}) as Record<string, string>))
    a.push("--sysctl", `${k}=${v}`);
  for (const [k, v] of Object.entries((inputs.logOpts ?? {}) as Record<string, string>))
    a.push("--log-opt", `${k}=${v}`);
  for (const [k, v] of Object.entries((inputs.storageOpts ?? {}) as Record<string, string>))
    a.push("--storage-opt", `${k}=${v}`);
  list(inputs.hosts, "hosts").forEach((h) => {
    a.push("--add-host", `${h.host}:${h.ip}`);
  });
  list(inputs.ulimits, "ulimits").forEach((u) => {
    a.push("--ulimit", `${u.name}=${u.soft}:${u.hard}`);
  });
  list(inputs.volumes, "volumes").forEach((v, i) => {
    if (v.fromContainer) {
      a.push("--volumes-from", String(v.fromContainer));
      return;
    }
    if (!v.containerPath) throw new Error(`input 'volumes[${i}].containerPath' is required`);
    const source = v.volumeName ?? v.hostPath;
    const spec = source ? `${source}:${v.containerPath}` : String(v.containerPath);
    a.push("--volume", v.readOnly === true && source ? `${spec}:ro` : spec);
  });
  list(inputs.mounts, "mounts").forEach((m, i) => {
    if (!m.type || !m.target) throw new Error(`input 'mounts[${i}]': type and target are required`);
    const parts = [`type=${m.type}`, `target=${m.target}`];
    if (m.source) parts.push(`source=${m.source}`);
    if (m.readOnly === true) parts.push("readonly");
    const bind = (m.bindOptions ?? {}) as Obj;
    if (bind.propagation) parts.push(`bind-propagation=${bind.propagation}`);
    const tmpfs = (m.tmpfsOptions ?? {}) as Obj;
    if (tmpfs.sizeBytes) parts.push(`tmpfs-size=${tmpfs.sizeBytes}`);
    if (tmpfs.mode) parts.push(`tmpfs-mode=${Number(tmpfs.mode).toString(8)}`);
    const vol = (m.volumeOptions ?? {}) as Obj;
    if (vol.noCopy === true) parts.push("volume-nocopy");
    a.push("--mount", parts.join(","));
  });
  list(inputs.ports, "ports").forEach((p, i) => {
    if (typeof p.internal !== "number")
      throw new Error(`input 'ports[${i}].internal' is required (a number)`);
    const ip = (p.ip as string | undefined) ?? "0.0.0.0";
    a.push("--publish", `${ip}:${p.external ?? ""}:${p.internal}/${p.protocol ?? "tcp"}`);
  });
  const hc = inputs.healthcheck as Obj | undefined;
  if (hc) {
    const tests = stringList(hc.tests, "healthcheck.tests");
    if (tests[0] === "NONE") a.push("--no-healthcheck");
    else if (tests[0] === "CMD-SHELL") a.push("--health-cmd", tests.slice(1).join(" "));
    else if (tests[0] === "CMD") a.push("--health-cmd", tests.slice(1).map(shq).join(" "));
    else if (tests.length)
      throw new Error(`input 'healthcheck.tests': expected CMD, CMD-SHELL or NONE first, got ${tests[0]}`);
    if (hc.interval) a.push("--health-interval", String(hc.interval));
    if (hc.timeout) a.push("--health-timeout", String(hc.timeout));
    if (hc.startPeriod) a.push("--health-start-period", String(hc.startPeriod));
    if (hc.retries) a.push("--health-retries", String(hc.retries));
  }
  const networks = list(inputs.networksAdvanced, "networksAdvanced");
  if (networks.length) {
    if (inputs.networkMode && !["bridge", "default"].includes(String(inputs.networkMode)))
      throw new Error(
        "inputs 'networkMode' and 'networksAdvanced' together are not supported by the rehearsal",
      );
    a.push(...networkArgs(networks[0], 0));
  } else if (inputs.networkMode) a.push("--network", String(inputs.networkMode));
  const entry = stringList(inputs.entrypoints, "entrypoints");
  if (entry.length) a.push("--entrypoint", entry[0]);
  a.push(String(inputs.image), ...entry.slice(1), ...stringList(inputs.command, "command"));
  return a;
}

function networkArgs(n: Obj, i: number, connect = false): string[] {
  if (typeof n.name !== "string") throw new Error(`input 'networksAdvanced[${i}].name' is required`);
  const a: string[] = connect ? [] : ["--network", n.name];
  if (n.ipv4Address) a.push(connect ? "--ip" : "--ip", String(n.ipv4Address));
  if (n.ipv6Address) a.push("--ip6", String(n.ipv6Address));
  for (const alias of stringList(n.aliases, `networksAdvanced[${i}].aliases`))
    a.push(connect ? "--alias" : "--network-alias", alias);
  if (n.macAddress) {
    if (connect)
      throw new Error(`input 'networksAdvanced[${i}].macAddress': only the first network can set it`);
    a.push("--mac-address", String(n.macAddress));
  }
  if (connect) a.push(n.name);
  return a;
}

/** The uploads as tar entries (content, contentBase64 or source; executable → 0744, else 0644; permissions wins). */
export function uploadFiles(inputs: Obj): TarFile[] {
  return list(inputs.uploads, "uploads").map((u, i) => {
    if (typeof u.file !== "string" || !u.file.startsWith("/"))
      throw new Error(`input 'uploads[${i}].file': expected an absolute path in the container`);
    const given = ["content", "contentBase64", "source"].filter((k) => u[k] !== undefined && u[k] !== null);
    if (given.length !== 1)
      throw new Error(
        `input 'uploads[${i}]': exactly one of content, contentBase64, source is required (got ${given.join(", ") || "none"})`,
      );
    const content =
      u.content !== undefined && u.content !== null
        ? Buffer.from(String(u.content), "utf8")
        : u.contentBase64 !== undefined && u.contentBase64 !== null
          ? Buffer.from(String(u.contentBase64), "base64")
          : readFileSync(String(u.source));
    const mode = u.permissions
      ? Number.parseInt(String(u.permissions), 8)
      : u.executable === true
        ? 0o744
        : 0o644;
    if (Number.isNaN(mode))
      throw new Error(`input 'uploads[${i}].permissions': expected octal, got ${u.permissions}`);
    const id = (v: unknown, what: string) => {
      if (v === undefined || v === null || v === "") return 0;
      if (!/^\d+$/.test(String(v)))
        throw new Error(`input 'uploads[${i}].${what}': the rehearsal takes numeric ids only`);
      return Number(v);
    };
    return { path: u.file.slice(1), content, mode, uid: id(u.owner, "owner"), gid: id(u.group, "group") };
  });
}

interface Inspect {
  Id: string;
  Name: string;
  Config: { Hostname: string; Healthcheck?: unknown };
  State: {
    Running: boolean;
    Status: string;
    ExitCode: number;
    Health?: { Status: string; Log?: { Output: string }[] };
  };
  NetworkSettings: {
    Networks: Record<
      string,
      {
        IPAddress: string;
        IPPrefixLen: number;
        Gateway: string;
        MacAddress: string;
        GlobalIPv6Address: string;
        GlobalIPv6PrefixLen: number;
        IPv6Gateway: string;
      }
    >;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  };
}

async function inspect(ctx: Pick<HandlerContext, "name" | "type" | "signal">, id: string): Promise<Inspect> {
  return JSON.parse(await docker(ctx, "inspect", ["container", "inspect", id, "--format", "{{json .}}"]));
}

const create: Handler = async (inputs, ctx) => {
  const args = containerCreateArgs(inputs, ctx.name);
  const files = uploadFiles(inputs);
  const name = (inputs.name as string | undefined) ?? ctx.name;
  const networks = list(inputs.networksAdvanced, "networksAdvanced");
  const id = await docker(ctx, "create", args);
  ctx.created(id);
  for (let i = 1; i < networks.length; i++)
    await docker(ctx, "network connect", ["network", "connect", ...networkArgs(networks[i], i, true), id]);
  if (files.length) await docker(ctx, "cp (uploads)", ["cp", "-", `${id}:/`], { stdin: tarArchive(files) });
  if (inputs.start !== false) {
    await docker(ctx, "start", ["start", id]);
    let state = await inspect(ctx, id);
    if (inputs.mustRun !== false && !state.State.Running)
      throw new Error(
        `container ${name} is not running after start (status ${state.State.Status}, exit code ${state.State.ExitCode})`,
      );
    if (inputs.wait === true) {
      if (!state.Config.Healthcheck)
        throw new Error(`input 'wait': container ${name} has no health check to wait for`);
      const timeout = (typeof inputs.waitTimeout === "number" ? inputs.waitTimeout : 60) * 1000;
      const start = Date.now();
      while (state.State.Health?.Status !== "healthy") {
        if (Date.now() - start > timeout || ctx.signal.aborted) {
          const last = state.State.Health?.Log?.at(-1)?.Output ?? "";
          throw new Error(
            `container ${name} not healthy after ${timeout / 1000} s (status ${state.State.Health?.Status}): ${last.trim()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 500));
        state = await inspect(ctx, id);
      }
    }
  }
  const state = await inspect(ctx, id);
  const networkDatas = Object.entries(state.NetworkSettings.Networks ?? {}).map(([networkName, n]) => ({
    networkName,
    ipAddress: n.IPAddress,
    ipPrefixLength: n.IPPrefixLen,
    gateway: n.Gateway,
    macAddress: n.MacAddress,
    globalIpv6Address: n.GlobalIPv6Address,
    globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
    ipv6Gateway: n.IPv6Gateway,
  }));
  const ports = list(inputs.ports, "ports").map((p) => {
    const bound = state.NetworkSettings.Ports?.[`${p.internal}/${p.protocol ?? "tcp"}`]?.[0];
    return {
      ...p,
      ip: p.ip ?? "0.0.0.0",
      protocol: p.protocol ?? "tcp",
      external: p.external ?? (bound ? Number(bound.HostPort) : undefined),
    };
  });
  return {
    id,
    outputs: {
      name,
      hostname: state.Config.Hostname,
      networkDatas,
      ports,
      exitCode: state.State.Running ? undefined : state.State.ExitCode,
    },
  };
};

/** The restart policy and resources `docker update` sets (funcs.go:1028-1069). */
export function containerUpdateArgs(inputs: Obj): string[] {
  const a = ["update"];
  const restart = String(inputs.restart ?? "no");
  a.push(
    "--restart",
    restart === "on-failure" && inputs.maxRetryCount ? `on-failure:${inputs.maxRetryCount}` : restart,
  );
  a.push("--cpu-shares", String(typeof inputs.cpuShares === "number" ? inputs.cpuShares : 0));
  a.push("--memory", `${typeof inputs.memory === "number" ? inputs.memory : 0}m`);
  a.push(
    "--memory-reservation",
    `${typeof inputs.memoryReservation === "number" ? inputs.memoryReservation : 0}m`,
  );
  if (inputs.cpuSet) a.push("--cpuset-cpus", String(inputs.cpuSet));
  if (typeof inputs.memorySwap === "number" && inputs.memorySwap !== 0)
    a.push("--memory-swap", inputs.memorySwap < 0 ? "-1" : `${inputs.memorySwap}m`);
  return a;
}

const UPDATED_IN_PLACE = [
  "restart",
  "maxRetryCount",
  "cpuShares",
  "memory",
  "memoryReservation",
  "cpuSet",
  "memorySwap",
  "deviceReadBps",
  "deviceReadIops",
  "deviceWriteBps",
  "deviceWriteIops",
];

const update: UpdateHandler = async (prior, inputs, ctx) => {
  const changed = (k: string) =>
    JSON.stringify(prior.inputs[k] ?? null) !== JSON.stringify(inputs[k] ?? null);
  if (prior.inputs.mustRun === false && inputs.mustRun !== false && inputs.start !== false)
    await docker(ctx, "start", ["start", prior.id]);
  if (UPDATED_IN_PLACE.some(changed)) {
    for (const k of ["deviceReadBps", "deviceReadIops", "deviceWriteBps", "deviceWriteIops"])
      if (inputs[k] !== undefined && inputs[k] !== null && (inputs[k] as unknown[]).length)
        throw new Error(`input '${k}' is not implemented by the rehearsal's container update`);
    await docker(ctx, "update", [...containerUpdateArgs(inputs), prior.id]);
  }
  // Everything else the provider only writes to state: the old outputs stand.
  return { id: prior.id, outputs: prior.outputs };
};

const del: DeleteHandler = async (prior, ctx) => {
  const grace = typeof prior.inputs.destroyGraceSeconds === "number" ? prior.inputs.destroyGraceSeconds : 0;
  if (prior.inputs.attach !== true)
    await dockerGone(ctx, "stop", ["stop", "--time", String(Math.max(0, grace)), prior.id]);
  const rm = ["rm", "--force"];
  if (prior.inputs.removeVolumes !== false) rm.push("--volumes");
  await dockerGone(ctx, "rm", [...rm, prior.id]);
};

export const dockerContainer: ResourceHandler = { create, update, delete: del };
