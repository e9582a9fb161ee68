// The README and docs against the program: every count they state (resources, VMs, volumes,
// floating IPs, server groups, images, stacks, what runs where) is rendered here from the
// program evaluated under mocks and must equal the block the page holds; links and named
// test files exist; the config reference is the schema's; the npm verbs describe
// themselves; the Prerequisites the README promises hold (setup-machine.sh with stub tools).
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_DOC_PATH, updatedConfigDoc } from "../scripts/dev/write-config-docs";
import { openstackInvokes, swarmScriptOutputs } from "./openstack/invokes";
import { type Evaluation, evaluateStack, ROOT } from "./support/pulumi";
import { tempDir } from "./support/tempDir";

const ARTIFACTS = path.join(ROOT, "test", "artifacts");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
/** The README and every page under docs/. */
const PAGES = [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

// ---------------------------------------------------------------------------------------
// Facts from the program

const INSTANCE = "openstack:compute/instance:Instance";
const IMAGE = "docker:index/image:Image";
const STACK_COMPONENT = /^flotilla:stacks:\w+Stack$/;

interface ComposeService {
  deploy?: {
    mode?: string;
    replicas?: number;
    placement?: {
      constraints?: string[];
      preferences?: { spread?: string }[];
      max_replicas_per_node?: number;
    };
  };
}

/** The compose documents the stacks' deploy commands carry on stdin (after `%%compose`). */
function deployedDocuments(ev: Evaluation): Record<string, { services: Record<string, ComposeService> }> {
  const docs: Record<string, { services: Record<string, ComposeService> }> = {};
  const deploys = [...ev.byType("command:remote:Command"), ...ev.byType("command:local:Command")].filter(
    (c) => /-deploy$/.test(c.name),
  );
  for (const d of deploys) {
    const stdin = String(d.inputs.stdin ?? "");
    const at = stdin.indexOf("%%compose\n");
    if (at < 0) throw new Error(`${d.name}: no compose document on stdin`);
    docs[d.name] = parseYaml(stdin.slice(at + "%%compose\n".length));
  }
  return docs;
}

/** Resources in a stable order: by name, numbers by value (worker-2 before worker-10). */
const byName = (a: { name: string }, b: { name: string }) =>
  a.name.localeCompare(b.name, "en", { numeric: true });

/** Table rows as markdown. */
const table = (header: string[], rows: string[][], align: string[] = header.map(() => "---")) =>
  [`| ${header.join(" | ")} |`, `|${align.join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join(
    "\n",
  );

/** What the helion stack asks of the cloud's quotas. */
function helionQuotas(ev: Evaluation): string {
  const vms = ev.byType(INSTANCE).sort(byName);
  const byFlavor = new Map<string, { role: string; count: number }>();
  for (const vm of vms) {
    const flavor = String(vm.inputs.flavorName);
    const role = String((vm.inputs.metadata as Record<string, string>)["flotilla-role"]);
    const seen = byFlavor.get(`${role} ${flavor}`) ?? { role, count: 0 };
    seen.count++;
    byFlavor.set(`${role} ${flavor}`, seen);
  }
  const flavors = [...byFlavor.entries()].map(
    ([key, v]) => `${v.count} × \`${key.split(" ")[1]}\` (${v.role})`,
  );
  const volumes = ev.byType("openstack:blockstorage/volume:Volume");
  const gigabytes = volumes.reduce((sum, v) => sum + Number(v.inputs.size), 0);
  const fips = ev.byType("openstack:networking/floatingIp:FloatingIp").sort(byName);
  const groups = ev.byType("openstack:compute/serverGroup:ServerGroup").sort(byName);
  const members = (group: string) =>
    vms.filter((vm) =>
      ((vm.inputs.schedulerHints as { group?: string }[] | undefined) ?? []).some(
        (h) => h.group === `${group}-id`,
      ),
    ).length;
  const count = (type: string) => ev.byType(type).length;
  return table(
    ["quota", "helion needs"],
    [
      ["instances", `${vms.length}: ${flavors.join(", ")}`],
      ["cores, RAM", "what those flavors add up to (`openstack flavor show <flavor>`)"],
      [
        "volumes, gigabytes",
        `${volumes.length}, ${gigabytes} GiB (one per Galera member, \`mysql.volumeSizeGb\` each)`,
      ],
      [
        "floating IPs",
        `${fips.length} (${fips.map((f) => f.name.replace(/^flotilla-|-fip$/g, "")).join(", ")})`,
      ],
      [
        "server groups, members per group",
        `${groups.length} anti-affinity (${groups.map((g) => `${g.inputs.name}: ${members(g.name)}`).join(", ")})`,
      ],
      [
        "security groups, rules",
        `${count("openstack:networking/secGroup:SecGroup")}, ${count("openstack:networking/secGroupRule:SecGroupRule")} (beside the default egress rules each new group gets)`,
      ],
      [
        "networks, subnets, routers, ports",
        [
          "openstack:networking/network:Network",
          "openstack:networking/subnet:Subnet",
          "openstack:networking/router:Router",
          "openstack:networking/port:Port",
        ]
          .map(count)
          .join(", "),
      ],
      ["key pairs", String(count("openstack:compute/keypair:Keypair"))],
    ],
  );
}

/** Resources, machines, images and stacks per committed stack file. */
function programTotals(evs: Record<string, Evaluation>): string {
  const rows = Object.entries(evs).map(([stack, ev]) => {
    const vms = ev.byType(INSTANCE).length;
    const labVms = ev
      .byType("docker:index/container:Container")
      .filter((c) => /-(bastion|manager-\d+|worker-\d+)$/.test(c.name)).length;
    const images = ev
      .byType(IMAGE)
      .filter((i) => i.parent.endsWith("flotilla:images:Images::flotilla")).length;
    const stacks = ev.resources.filter((r) => STACK_COMPONENT.test(r.type)).length;
    const machines = vms ? `${vms} VMs` : labVms ? `${labVms} VM containers` : "this machine's engine";
    return [`\`${stack}\``, String(ev.resources.length), machines, String(images), String(stacks)];
  });
  return table(["stack", "resources", "machines", "images built", "stacks deployed"], rows, [
    "---",
    "---:",
    "---",
    "---:",
    "---:",
  ]);
}

/** OpenStack resources of the helion stack, by type. */
function helionOpenstackResources(ev: Evaluation): string {
  const counts = new Map<string, number>();
  for (const r of ev.resources.filter((r) => r.type.startsWith("openstack:")))
    counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return table(
    ["OpenStack resource", "count"],
    [...counts.entries()]
      .map(([type, n]) => [`\`${type.split(":").pop()}\``, String(n)])
      .sort((a, b) => a[0].localeCompare(b[0])),
    ["---", "---:"],
  );
}

/** Which services each kind of helion node runs, from the deployed documents' placement. */
function helionPlacement(ev: Evaluation): string {
  interface Node {
    role: string;
    labels: string[];
  }
  const nodes: Node[] = ev
    .byType(INSTANCE)
    .sort(byName)
    .map((vm) => vm.inputs.metadata as Record<string, string>)
    .filter((m) => m["flotilla-role"] !== "bastion")
    .map((m) => ({ role: m["flotilla-role"], labels: m["flotilla-labels"].split(",").filter(Boolean) }));
  const holds = (node: Node, constraint: string): boolean => {
    const m = /^node\.(role|labels\.(\w+)) == (\S+)$/.exec(constraint);
    if (!m) throw new Error(`a placement constraint this check does not read: ${constraint}`);
    if (m[1] === "role") return node.role === m[3];
    // A Galera member's own label: one db node each (the plan gives them in order).
    if (m[2] === "db_member") return node.labels.includes("db");
    return m[3] === "true" && node.labels.includes(m[2]);
  };
  const placed: { service: string; how: string; fits: (n: Node) => boolean }[] = [];
  for (const doc of Object.values(deployedDocuments(ev))) {
    for (const [name, service] of Object.entries(doc.services)) {
      const deploy = service.deploy ?? {};
      const constraints = deploy.placement?.constraints ?? [];
      const member = constraints.some((c) => c.startsWith("node.labels.db_member"));
      const how =
        deploy.mode === "global"
          ? "every node"
          : member
            ? "one member per node"
            : deploy.placement?.max_replicas_per_node === 1
              ? `${deploy.replicas}, one per node`
              : deploy.placement?.preferences?.some((p) => p.spread === "node.id") && !constraints.length
                ? `${deploy.replicas} replicas, spread over every node`
                : `${deploy.replicas} replica${deploy.replicas === 1 ? "" : "s"}`;
      const shown = member ? name.replace(/-\d+$/, "-N") : name;
      if (!placed.some((p) => p.service === shown))
        placed.push({ service: shown, how, fits: (n) => constraints.every((c) => holds(n, c)) });
    }
  }
  const groups = new Map<string, { node: Node; count: number }>();
  for (const node of nodes) {
    const key = `${node.role} ${node.labels.join(",")}`;
    const group = groups.get(key) ?? { node, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  return table(
    ["nodes", "services that run there (how many)"],
    [...groups.values()].map(({ node, count }) => [
      `${count} ${node.role}${count > 1 ? "s" : ""}${node.labels.length ? ` (${node.labels.map((l) => `\`${l}\``).join(", ")})` : ""}`,
      placed
        .filter((p) => p.fits(node))
        .map((p) => `\`${p.service}\` (${p.how})`)
        .sort()
        .join(", "),
    ]),
  );
}

const MARK = /<!-- program-facts:([a-z-]+) [^>]*-->\n([\s\S]*?)\n<!-- program-facts:end -->/g;

/** Every checked block in the README and docs: page, id, text. */
function blocks(): { page: string; id: string; text: string }[] {
  return PAGES.flatMap((page) => [...read(page).matchAll(MARK)].map((m) => ({ page, id: m[1], text: m[2] })));
}

describe("what the README and docs say the program declares", () => {
  const evs: Record<string, Evaluation> = {};
  let rendered: Record<string, string>;
  beforeAll(async () => {
    evs.dev = await evaluateStack("dev");
    evs.helion = await evaluateStack("helion", {
      invokes: openstackInvokes,
      mockOutputs: swarmScriptOutputs,
    });
    evs.lab = await evaluateStack("lab", { mockOutputs: swarmScriptOutputs });
    rendered = {
      "helion-quotas": helionQuotas(evs.helion),
      "program-totals": programTotals(evs),
      "helion-openstack-resources": helionOpenstackResources(evs.helion),
      "helion-placement": helionPlacement(evs.helion),
    };
    // The expected blocks, to paste into a page the check below finds stale.
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(
      path.join(ARTIFACTS, "program-facts.md"),
      Object.entries(rendered)
        .map(([id, text]) => `<!-- program-facts:${id} -->\n${text}\n<!-- program-facts:end -->\n`)
        .join("\n"),
    );
  }, 120_000);

  it("each checked block equals the program's facts (when stale: paste from test/artifacts/program-facts.md)", () => {
    const found = blocks();
    expect(found.map((b) => b.id)).toEqual(expect.arrayContaining(Object.keys(rendered)));
    for (const b of found) {
      expect(Object.keys(rendered), `${b.page}: unknown block program-facts:${b.id}`).toContain(b.id);
      expect(b.text, `${b.page}: program-facts:${b.id} is stale`).toBe(rendered[b.id]);
    }
  });

  it("the README shows the quotas a helion deploy needs and what runs on which node", () => {
    const readme = blocks()
      .filter((b) => b.page === "README.md")
      .map((b) => b.id);
    expect(readme).toEqual(expect.arrayContaining(["helion-quotas", "helion-placement"]));
  });

  it("the README's diagram draws each kind of node the placement table names", () => {
    const diagram = /```mermaid\n([\s\S]*?)```/.exec(read("README.md"))?.[1] ?? "";
    expect(diagram).not.toBe("");
    for (const row of rendered["helion-placement"].split("\n").slice(2)) {
      const nodes = row.split(" | ")[0].replace(/^\| /, "").replace(/`/g, "");
      expect(diagram, `the diagram has no box for "${nodes}"`).toContain(nodes);
    }
  });

  it("the stack outputs table names every output the program exports", () => {
    const page = read("docs/config.md");
    for (const ev of Object.values(evs))
      for (const output of Object.keys(ev.outputs)) expect(page, output).toContain(`| \`${output}\` |`);
  });
});

// ---------------------------------------------------------------------------------------
// Pages

describe("the README", () => {
  const readme = read("README.md");

  it("is at most 200 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(200);
  });

  it("has the sections a newcomer looks for", () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    for (const section of [
      "Prerequisites",
      "Quickstart",
      "Deploying to OpenStack",
      "Updating a deployment",
      "Operations",
      "Teardown",
      "Troubleshooting",
      "Tests",
      "License",
    ])
      expect(headings, section).toContain(section);
  });

  it("names every image and every stack of the catalogs", async () => {
    const { IMAGE_NAMES } = await import("../components/images/catalog");
    const { STACKS } = await import("../components/stacks/catalog");
    for (const name of [...IMAGE_NAMES.filter((n) => n !== "s6-base"), ...STACKS])
      expect(readme, name).toMatch(new RegExp(`\\b${name}\\b`, "i"));
  });
});

describe("the catalogs' pages", () => {
  it("docs/images.md has a row for every image of the catalog", async () => {
    const { IMAGE_NAMES } = await import("../components/images/catalog");
    const page = read("docs/images.md");
    for (const name of IMAGE_NAMES) expect(page, name).toContain(`| \`flotilla/${name}:<version>\``);
  });

  it("docs/stacks.md has a row for every stack of the catalog", async () => {
    const { STACKS } = await import("../components/stacks/catalog");
    const page = read("docs/stacks.md");
    for (const name of STACKS) expect(page, name).toMatch(new RegExp(`^\\| ${name} \\|`, "m"));
  });
});

describe("links and named files in the README and docs", () => {
  it.each(PAGES)("%s: every relative link points at a file that exists", (page) => {
    const text = read(page);
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split("#")[0];
      if (!target || /^[a-z]+:/.test(target)) continue;
      expect(existsSync(path.join(ROOT, path.dirname(page), target)), `${page} links to ${m[1]}`).toBe(true);
    }
  });

  it.each(PAGES)("%s: every test file it names exists", (page) => {
    for (const m of read(page).matchAll(/\b(test\/[\w./-]+\.test\.ts)\b/g))
      expect(existsSync(path.join(ROOT, m[1])), `${page} names ${m[1]}`).toBe(true);
  });
});

describe("the config reference", () => {
  it("docs/config.md holds the table generated from the schema (run `npm run schema` when stale)", () => {
    const page = readFileSync(CONFIG_DOC_PATH, "utf8");
    expect(page).toBe(updatedConfigDoc(page));
    expect(page).toContain("| `openstack.flavors.worker` |");
  });
});

// ---------------------------------------------------------------------------------------
// Verbs

describe("the npm verbs", () => {
  const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;

  it.each(Object.keys(scripts))(
    "npm run lists %s with a one-line description, and its command is valid sh",
    (name) => {
      const script = scripts[name];
      const m = /^: ([^;]+); (.+)$/.exec(script);
      expect(m, `${name}: "${script}" does not start with ': <description>; '`).not.toBeNull();
      expect(m?.[1].length).toBeGreaterThan(10);
      const check = spawnSync("sh", ["-n", "-c", `${script} --some-argument`], { encoding: "utf8" });
      expect(check.stderr).toBe("");
      expect(check.status).toBe(0);
    },
  );

  it.each([
    ["npm run demo -- --help", ["npx", "tsx", "tools/demo.ts", "--help"], /^usage: npm run demo -- /],
    ["npm run up -- --help", ["bash", "scripts/dev/up-dev.sh", "up", "--help"], /^usage: npm run up /],
    [
      "npm run preview -- --help",
      ["bash", "scripts/dev/up-dev.sh", "preview", "--help"],
      /^usage: npm run preview /,
    ],
    [
      "setup-machine.sh --help",
      ["bash", "scripts/dev/setup-machine.sh", "--help"],
      /^usage: setup-machine\.sh /,
    ],
  ])("%s prints its usage and exits 0", (_, argv, usage) => {
    const r = spawnSync(argv[0], argv.slice(1), {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, FLOTILLA_SKIP_SETUP: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(usage);
  });

  it("a bad argument to the demo gets one line naming it", () => {
    const r = spawnSync("npx", ["tsx", "tools/demo.ts", "--stack", "dev", "--donw"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toContain("--donw");
  });
});

// ---------------------------------------------------------------------------------------
// Prerequisites: setup-machine.sh, run with stub tools in place of apt, dpkg, id and docker

describe("the README's Prerequisites: any Docker engine, root or the docker group", () => {
  const dir = tempDir("flotilla-setup-");

  const REAL_TOOLS = [
    "bash",
    "grep",
    "sort",
    "cat",
    "sed",
    "seq",
    "sleep",
    "tail",
    "timeout",
    "dirname",
    "nohup",
    "head",
    "mkdir",
    "touch",
    "ln",
    "rm",
  ];
  const found = new Map<string, string>();
  /** Where this machine has a tool (looked up once). */
  const which = (tool: string): string => {
    if (!found.has(tool))
      found.set(tool, execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim());
    return found.get(tool) as string;
  };

  interface Machine {
    uid: number;
    apt: boolean;
    /** Debian packages installed before the run. */
    installed: string[];
    /** docker.io or docker-ce: the engine's binaries exist (installed by apt-get when docker.io is). */
    engine: "none" | "installed" | "cli-only";
    /** How `docker info` answers while the engine has not been started by the run. */
    info: "answers" | "denied" | "stopped";
  }

  /** Run setup-machine.sh on a machine made of stubs; returns its exit code, output and the tools' calls. */
  function runSetup(name: string, machine: Machine, args: string[]) {
    const home = path.join(dir, name);
    const bin = path.join(home, "bin");
    const stash = path.join(home, "stash");
    mkdirSync(bin, { recursive: true });
    mkdirSync(stash, { recursive: true });
    for (const tool of REAL_TOOLS) symlinkSync(which(tool), path.join(bin, tool));
    const log = path.join(home, "calls");
    const state = path.join(home, "state");
    mkdirSync(state);
    writeFileSync(path.join(state, "installed"), `${machine.installed.join("\n")}\n`);
    const stub = (file: string, body: string) => {
      writeFileSync(file, `#!${which("bash")}\necho "${path.basename(file)} $*" >>${log}\n${body}\n`);
      chmodSync(file, 0o755);
    };
    stub(path.join(bin, "id"), `case "$1" in -u) echo ${machine.uid} ;; -un) echo alice ;; esac`);
    // docker: `info` answers once a dockerd ran, or as the machine says; images exist.
    const docker = path.join(machine.engine === "none" ? stash : bin, "docker");
    stub(
      docker,
      `if [ "$1" = info ]; then
  [ -e ${state}/dockerd-up ] && exit 0
  case ${machine.info} in
    answers) exit 0 ;;
    denied) echo "permission denied while trying to connect to the Docker daemon socket" >&2; exit 1 ;;
    *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1 ;;
  esac
fi
exit 0`,
    );
    stub(path.join(machine.engine === "installed" ? bin : stash, "dockerd"), `touch ${state}/dockerd-up`);
    if (machine.apt) {
      stub(
        path.join(bin, "dpkg-query"),
        `grep -qxF "\${@: -1}" ${state}/installed && printf 'install ok installed'; exit 0`,
      );
      stub(
        path.join(bin, "apt-get"),
        `[ "$1" = install ] || exit 0
for p in "$@"; do
  echo "$p" >>${state}/installed
  if [ "$p" = docker.io ]; then [ -e ${bin}/docker ] || ln -s ${stash}/docker ${bin}/docker; ln -sf ${stash}/dockerd ${bin}/dockerd; fi
done`,
      );
      stub(path.join(bin, "apt-cache"), "exit 1");
    }
    const r = spawnSync(path.join(bin, "bash"), [path.join(ROOT, "scripts/dev/setup-machine.sh"), ...args], {
      encoding: "utf8",
      env: {
        PATH: bin,
        HOME: home,
        DOCKERD_LOG: path.join(home, "dockerd.log"),
        DOCKERD_PIDFILE: path.join(home, "dockerd.pid"),
      },
      timeout: 60_000,
    });
    const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
    const installs = calls.filter((c) => c.startsWith("apt-get install")).join("\n");
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, installs };
  }

  const testPackages = read("scripts/dev/apt-packages.txt")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  it("CI's machine (root, Debian, nothing installed): installs every package, docker.io among them, and starts dockerd", () => {
    const r = runSetup("ci", { uid: 0, apt: true, installed: [], engine: "none", info: "stopped" }, []);
    expect(r.status, r.stderr).toBe(0);
    for (const p of testPackages) expect(r.installs, p).toContain(` ${p}`);
    expect(r.calls).toContain(
      "dockerd --storage-driver=overlay2 --log-driver=json-file --log-opt max-size=10m --log-opt max-file=3",
    );
    expect(r.stdout).toMatch(/^dockerd: started/m);
    expect(r.stdout).toMatch(/^base image: debian:trixie-slim already present/m);
  });

  it("root on a machine with only a docker CLI (a client is no engine): installs docker.io and starts dockerd", () => {
    const r = runSetup(
      "cli-only",
      { uid: 0, apt: true, installed: ["docker-ce-cli"], engine: "cli-only", info: "stopped" },
      ["--engine"],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.installs).toContain(" docker.io");
    expect(r.stdout).toMatch(/^dockerd: started/m);
  });

  it("root with Docker's docker-ce, engine stopped: never installs docker.io over it, starts the engine it has", () => {
    const r = runSetup(
      "docker-ce",
      {
        uid: 0,
        apt: true,
        installed: ["docker-ce", "docker-ce-cli", "iptables"],
        engine: "installed",
        info: "stopped",
      },
      ["--engine"],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.installs).not.toContain("docker.io");
    expect(r.installs).toContain("debootstrap");
    expect(r.stdout).toMatch(/^dockerd: started/m);
  });

  it("root with docker-ce for the test suites: every test package but docker.io", () => {
    const r = runSetup(
      "docker-ce-full",
      { uid: 0, apt: true, installed: ["docker-ce", "docker-ce-cli"], engine: "installed", info: "answers" },
      [],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.installs).not.toContain("docker.io");
    for (const p of testPackages.filter((p) => p !== "docker.io")) expect(r.installs, p).toContain(` ${p}`);
    expect(r.stdout).toMatch(/^dockerd: already running/m);
  });

  it("a user in the docker group, engine running, nothing else installed: deploys without root", () => {
    const r = runSetup(
      "docker-group",
      { uid: 1000, apt: true, installed: [], engine: "installed", info: "answers" },
      ["--engine"],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.installs).toBe("");
    expect(r.stdout).toMatch(
      /^setup: not installed \(needs root\): debootstrap ca-certificates openssh-client/m,
    );
    expect(r.stdout).toMatch(/^dockerd: already running/m);
    expect(r.stdout).toMatch(/^base image: /m);
  });

  it("a user outside the docker group: one line saying how to join it", () => {
    const r = runSetup(
      "denied",
      { uid: 1000, apt: true, installed: ["docker.io"], engine: "installed", info: "denied" },
      ["--engine"],
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      "setup: the Docker engine refuses alice: add it to the docker group (sudo usermod -aG docker alice, then log in again), or run as root",
    ]);
  });

  it("a user on a machine with no engine: one line naming the packages root must install", () => {
    const r = runSetup(
      "no-engine",
      { uid: 1000, apt: true, installed: [], engine: "none", info: "stopped" },
      ["--engine"],
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("sudo apt-get install docker.io iptables");
  });

  it("a machine without apt and without an engine: one line saying what to install", () => {
    const r = runSetup("not-debian", { uid: 0, apt: false, installed: [], engine: "none", info: "stopped" }, [
      "--engine",
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("install Docker Engine");
  });

  it("a machine without apt whose engine answers: deploys", () => {
    const r = runSetup(
      "not-debian-engine",
      { uid: 1000, apt: false, installed: [], engine: "installed", info: "answers" },
      ["--engine"],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^dockerd: already running/m);
  });
});
