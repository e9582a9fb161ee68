// `npm run demo -- --stack dev|lab [--down]`: bring a stack up from nothing with the
// rehearsal executor (tools/executor), for people without a Pulumi CLI. It runs the
// program's own resources for real and leaves them running; `--down` removes what it made.
// A rehearsal, not a deployment: no Pulumi state, no diff, no update. `npm run up` is the
// real thing.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { execute, REPO_ROOT, teardown } from "./executor/executor";
import { Journal, journalPath } from "./executor/journal";
import { run } from "./executor/process";

const USAGE = `usage: npm run demo -- --stack <dev|lab> [--down]

Brings the stack up from nothing by running the Pulumi program under a rehearsal
executor that performs each resource for real (images, containers, commands over SSH),
then prints the URLs and where the passwords are. --down removes everything it made.

This is a rehearsal WITHOUT Pulumi state: create only, no diff, no update, no refresh.
\`npm run up\` (the Pulumi CLI) is the real thing.`;

export function parseArgs(argv: readonly string[]): { stack: string; down: boolean } {
  let stack: string | undefined;
  let down = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--stack") {
      stack = argv[++i];
      if (!stack) throw new Error("--stack needs a stack name (dev or lab)");
    } else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
    else if (a === "--down") down = true;
    else if (a === "-h" || a === "--help") throw new Error(USAGE);
    else throw new Error(`unknown argument '${a}'\n\n${USAGE}`);
  }
  if (!stack) throw new Error(`--stack is required\n\n${USAGE}`);
  if (!/^[a-z][a-z0-9-]*$/.test(stack))
    throw new Error(`--stack: expected a stack name like dev or lab, got '${stack}'`);
  return { stack, down };
}

/** A directory on a RAM-backed filesystem (tmpfs) for the secrets file, or undefined if none. */
export function ramDirectory(): string | undefined {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[2] === "tmpfs")
    .map((f) => f[1]);
  for (const candidate of ["/run", "/dev/shm"])
    if (mounts.includes(candidate)) return path.join(candidate, "flotilla");
  return undefined;
}

export function secretsFile(stack: string): string | undefined {
  const dir = ramDirectory();
  return dir ? path.join(dir, `${stack}.secrets.json`) : undefined;
}

/** Where the demo writes HAProxy's certificate (public), for `curl --cacert` while it is self-signed. */
export function certificateFile(stack: string): string {
  return path.join(REPO_ROOT, ".rehearsal", stack, "edge-certificate.pem");
}

async function setupMachine(): Promise<void> {
  const script = ["scripts/dev/setup-machine.sh", "scripts/setup-machine.sh"]
    .map((s) => path.join(REPO_ROOT, s))
    .find((s) => existsSync(s));
  if (!script) return;
  console.log(`demo: preparing this machine (${path.relative(REPO_ROOT, script)})`);
  const r = await run(["bash", script], { cwd: REPO_ROOT });
  if (r.code !== 0) throw new Error(`machine setup failed (exit code ${r.code}):\n${r.stderr.trim()}`);
}

async function main(): Promise<number> {
  const { stack, down } = parseArgs(process.argv.slice(2));
  console.log(
    "demo: a REHEARSAL without Pulumi state (create only, no diff/update/refresh); `npm run up` is the real thing.",
  );
  if (!existsSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`))) {
    console.error(`demo: no stack file Pulumi.${stack}.yaml in ${REPO_ROOT}`);
    return 1;
  }
  const secrets = secretsFile(stack);
  if (down) {
    const result = await teardown({ stack, log: (l) => console.log(l) });
    if (secrets) rmSync(secrets, { force: true });
    rmSync(certificateFile(stack), { force: true });
    console.log(
      result.undone || result.skipped.length
        ? `demo: stack '${stack}' removed`
        : `demo: nothing of stack '${stack}' to remove`,
    );
    return 0;
  }
  const journal = journalPath(REPO_ROOT, stack);
  if (Journal.exists(journal) && new Journal(journal, stack).entries.length > 0) {
    console.error(
      `demo: a rehearsal of stack '${stack}' is already up (${path.relative(REPO_ROOT, journal)}): run \`npm run demo -- --stack ${stack} --down\` first`,
    );
    return 1;
  }
  if (!secrets) {
    console.error(
      "demo: no RAM-backed filesystem (/run or /dev/shm as tmpfs) for the passwords: refusing to write them to disk",
    );
    return 1;
  }
  await setupMachine();
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigint);
  try {
    const result = await execute({ stack, log: (l) => console.log(l), signal: interrupt.signal });
    mkdirSync(path.dirname(secrets), { recursive: true, mode: 0o700 });
    chmodSync(path.dirname(secrets), 0o700);
    writeFileSync(secrets, `${JSON.stringify(result.secretOutputs, null, 2)}\n`, { mode: 0o600 });
    chmodSync(secrets, 0o600);
    console.log(`\ndemo: stack '${stack}' is up in ${result.seconds.toFixed(0)} s and left running.`);
    for (const [k, v] of Object.entries(result.outputs)) {
      if (v === "[secret]" || v === undefined || v === null) continue;
      if (k === "tlsCertificatePem" && typeof v === "string") {
        // A PEM block is no line for a terminal: it goes to a file, named here.
        const file = certificateFile(stack);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, v);
        console.log(
          `  ${k}: in ${path.relative(REPO_ROOT, file)} (e.g. curl --cacert ${path.relative(REPO_ROOT, file)} ...)`,
        );
        continue;
      }
      console.log(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    }
    console.log(
      `  passwords (${Object.keys(result.secretOutputs).join(", ")}): in ${secrets} (RAM only, mode 0600), e.g. jq -r .statsPassword ${secrets}`,
    );
    console.log(`  remove it all: npm run demo -- --stack ${stack} --down`);
    return 0;
  } catch (err) {
    console.error(
      `\ndemo: bringing up '${stack}' failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    console.error(
      `demo: what was created is journaled; \`npm run demo -- --stack ${stack} --down\` removes it`,
    );
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
