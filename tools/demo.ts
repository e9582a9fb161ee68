// `npm run demo -- --stack dev|lab [--down] [--replace <name|urn>]`: bring a stack up
// with the rehearsal executor (tools/executor), for people without a Pulumi CLI. It runs
// the program's own resources for real and leaves them running. The first run creates
// everything; a later one is the second `pulumi up`: from the rehearsal's state it
// updates, replaces and deletes what the engine and the providers would, and says so
// step by step. `--down` is the destroy. `npm run up` (the Pulumi CLI) is the real thing.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs as parseArgv } from "node:util";
import { onInterrupt, runAsCommand } from "./cli";
import { type ExecuteResult, execute, REPO_ROOT, teardown } from "./executor/executor";
import { run } from "./executor/process";

export const USAGE = `usage: npm run demo -- --stack <dev|lab> [--down [--unprotect --confirm <stack>]] [--replace <name|urn>]...
       npm run destroy -- --stack <dev|lab> [--unprotect --confirm <stack>]

Runs the Pulumi program under a rehearsal executor that performs each resource for real
(images, containers, commands over SSH), then prints the URLs and where the passwords are.
The first run brings the stack up from nothing; on a stack that is already up it is the
second \`pulumi up\`: each resource is left alone, updated in place or replaced as the
engine and its provider would decide, what left the program is deleted, and the plan
summary and every step are printed.

  --stack S       the stack (Pulumi.S.yaml)
  --down          destroy (\`npm run destroy\` is the same): delete what the rehearsal made,
                  dependents first, except the protected resources (the lab's MariaDB
                  data volumes) and what they need, like pulumi destroy --exclude-protected:
                  the next up finds the data again
  --unprotect     with --down: delete the protected ones too (the data is lost); only
                  with --confirm and the stack's name typed again
  --confirm S     with --unprotect: the stack's name, again
  --replace X     replace resource X (its name or URN) even if unchanged, like pulumi up --replace
  -h, --help      this text

The rehearsal keeps its own state in .rehearsal/<stack>/ (secrets encrypted); no
refresh, no preview. \`npm run up\` (the Pulumi CLI) is the real thing.`;

export interface DemoArgs {
  stack: string;
  down: boolean;
  unprotect: boolean;
  replace: string[];
  help: boolean;
}

/** The command line, parsed by node:util; every mistake is one line naming the argument, then the usage. */
export function parseArgs(argv: readonly string[]): DemoArgs {
  let values: {
    stack?: string;
    down?: boolean;
    unprotect?: boolean;
    confirm?: string;
    replace?: string[];
    help?: boolean;
  };
  try {
    ({ values } = parseArgv({
      args: [...argv],
      options: {
        stack: { type: "string" },
        down: { type: "boolean" },
        unprotect: { type: "boolean" },
        confirm: { type: "string" },
        replace: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const e = err as Error & { code?: string };
    const arg = /'([^']+)'/.exec(e.message)?.[1];
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new Error(`unknown argument '${arg}'\n\n${USAGE}`);
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new Error(
        e.message.includes("--replace")
          ? "--replace needs a resource name or URN"
          : e.message.includes("--confirm")
            ? "--confirm needs the stack's name"
            : "--stack needs a stack name (dev or lab)",
      );
    throw err;
  }
  const { stack, down = false, unprotect = false, confirm, replace = [], help = false } = values;
  if (help) return { stack: stack ?? "", down, unprotect, replace, help: true };
  if (!stack) throw new Error(`--stack is required\n\n${USAGE}`);
  if (!/^[a-z][a-z0-9-]*$/.test(stack))
    throw new Error(`--stack: expected a stack name like dev or lab, got '${stack}'`);
  if (down && replace.length) throw new Error("--replace goes with an up, not with --down");
  if (unprotect && !down) throw new Error("--unprotect goes with --down");
  if (confirm !== undefined && !unprotect) throw new Error("--confirm goes with --unprotect");
  if (unprotect && confirm !== stack)
    throw new Error(
      `--unprotect deletes the protected resources (the MariaDB data volumes: every row): type the stack's name again, --confirm ${stack}${confirm === undefined ? "" : ` (got '${confirm}')`}`,
    );
  return { stack, down, unprotect, replace, help: false };
}

/** The steps of a run as lines for the terminal: what changed first, the unchanged ones counted. */
export function stepLines(result: Pick<ExecuteResult, "steps">): string[] {
  const lines: string[] = [];
  for (const s of result.steps) {
    if (s.op === "same") continue;
    const detail =
      s.op === "replace"
        ? ` [${s.order}; ${s.replaceKeys?.join(", ")}]`
        : s.op === "update"
          ? ` [${s.changedKeys?.join(", ")}]`
          : s.op === "delete" && s.replaced
            ? " [the replaced original]"
            : s.op === "delete" && s.because
              ? ` [before replacing ${s.because.split("::").pop()}]`
              : "";
    lines.push(`  ${s.op.padEnd(7)} ${s.type} ${s.name}${detail}`);
  }
  const same = result.steps.filter((s) => s.op === "same").length;
  if (same) lines.push(`  same    ${same} resource(s)`);
  return lines;
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

/** What a deployment needs of this machine (`--engine`: any running Docker engine, the base image). */
async function setupMachine(): Promise<void> {
  const script = "scripts/dev/setup-machine.sh";
  console.log(`demo: preparing this machine (${script} --engine)`);
  const r = await run(["bash", path.join(REPO_ROOT, script), "--engine"], { cwd: REPO_ROOT });
  if (r.code !== 0) throw new Error(`machine setup failed (exit code ${r.code}):\n${r.stderr.trim()}`);
}

async function main(): Promise<number> {
  const { stack, down, unprotect, replace, help } = parseArgs(process.argv.slice(2));
  if (help) {
    console.log(USAGE);
    return 0;
  }
  console.log(
    "demo: a REHEARSAL with its own state (no refresh, no preview); `npm run up` is the real thing.",
  );
  if (!existsSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`))) {
    console.error(`demo: no stack file Pulumi.${stack}.yaml in ${REPO_ROOT}`);
    return 1;
  }
  const secrets = secretsFile(stack);
  if (down) {
    const result = await teardown({
      stack,
      log: (l) => console.log(l),
      unprotect,
      excludeProtected: !unprotect,
    });
    if (secrets) rmSync(secrets, { force: true });
    rmSync(certificateFile(stack), { force: true });
    console.log(
      result.undone || result.skipped.length
        ? `demo: stack '${stack}' removed`
        : `demo: nothing of stack '${stack}' to remove`,
    );
    return 0;
  }
  if (!secrets) {
    console.error(
      "demo: no RAM-backed filesystem (/run or /dev/shm as tmpfs) for the passwords: refusing to write them to disk",
    );
    return 1;
  }
  await setupMachine();
  const interrupt = new AbortController();
  const stopListening = onInterrupt(() => interrupt.abort());
  try {
    const result = await execute({ stack, log: (l) => console.log(l), signal: interrupt.signal, replace });
    console.log("\ndemo: steps:");
    for (const line of stepLines(result)) console.log(line);
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
      `demo: what was made is in the rehearsal's state; run again to continue, or \`npm run demo -- --stack ${stack} --down\` to remove it`,
    );
    return 1;
  } finally {
    stopListening();
  }
}

if (require.main === module) runAsCommand("demo", main, 2);
