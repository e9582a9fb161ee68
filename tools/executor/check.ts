// The provider's Check: the inputs as the provider stores and diffs them, which may add
// to what the program gave. Only the docker Image adds anything here
// (pulumi-docker 237b7899 provider/provider.go Check :128-268): build.context defaults to
// ".", build.dockerfile to <context>/Dockerfile, build.platform to the host's
// ("linux/" + GOARCH, :210-235), and build.contextDigest is a hash of the build context
// (hashContext :606-650): the Dockerfile under the name "Dockerfile", then every file not
// excluded by <Dockerfile>.dockerignore or <context>/.dockerignore (:656-690), each as
// its relative path, its mode and the SHA-256 of its bytes (a symlink: of its target
// path). So an edited file, a chmod, a moved checkout (the absolute context path is an
// input) or another host architecture all change the inputs: an update (rebuild, push).
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import * as path from "node:path";

/** Go's fs.FileMode.String() for the file kinds a build context holds. */
export function goModeString(mode: number, kind: "file" | "symlink" | "none"): string {
  const rwx = "rwxrwxrwx";
  let perm = "";
  for (let i = 0; i < 9; i++) perm += mode & (1 << (8 - i)) ? rwx[i] : "-";
  return (kind === "symlink" ? "L" : "-") + perm;
}

/** A .dockerignore pattern as a matcher of slash-separated relative paths (a directory matches what is under it). */
function matcher(pattern: string): RegExp {
  const clean = pattern.replace(/^\.?\//, "").replace(/\/+$/, "");
  let re = "";
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i];
    if (c === "*" && clean[i + 1] === "*") {
      re += ".*";
      i++;
      if (clean[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}(/.*)?$`);
}

export function dockerIgnore(lines: readonly string[]): (rel: string) => boolean {
  const rules = lines
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) =>
      l.startsWith("!") ? { negate: true, re: matcher(l.slice(1)) } : { negate: false, re: matcher(l) },
    );
  return (rel) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(rel)) excluded = !r.negate;
    return excluded;
  };
}

/** The build context's digest, as hashContext computes it (same inputs, not necessarily the same bytes). */
export function contextDigest(context: string, dockerfile: string): string {
  const ignoreFile = [`${dockerfile}.dockerignore`, path.join(context, ".dockerignore")].find((f) =>
    existsSync(f),
  );
  const ignored = dockerIgnore(ignoreFile ? readFileSync(ignoreFile, "utf8").split("\n") : []);
  const acc = createHash("sha256");
  const add = (file: string, rel: string, st: Stats | undefined) => {
    const h = createHash("sha256");
    let kind: "file" | "symlink" | "none" = "none";
    if (st?.isSymbolicLink()) {
      kind = "symlink";
      h.update(path.resolve(path.dirname(file), readlinkSync(file)));
    } else if (!st || st.isFile()) {
      kind = st ? "file" : "none";
      h.update(readFileSync(file));
    }
    acc.update(rel);
    acc.update(goModeString(st ? st.mode & 0o777 : 0, st ? kind : "none"));
    acc.update(h.digest());
    acc.update(Buffer.from([0]));
  };
  add(dockerfile, "Dockerfile", undefined);
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (ignored(r)) continue;
      const full = path.join(dir, name);
      const st = lstatSync(full);
      if (st.isDirectory()) walk(full, r);
      else add(full, r, st);
    }
  };
  walk(context, "");
  return acc.digest("hex");
}

const GOARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
};

/** The inputs the provider stores and diffs for a resource of `type` (a copy; the program's are not changed). */
export function checkInputs(
  type: string,
  inputs: Record<string, unknown>,
  cwd = process.cwd(),
): Record<string, unknown> {
  if (type !== "docker:index/image:Image") return inputs;
  const build = { ...((inputs.build ?? {}) as Record<string, unknown>) };
  const context = typeof build.context === "string" ? build.context : ".";
  const dockerfile =
    typeof build.dockerfile === "string" ? build.dockerfile : path.posix.join(context, "Dockerfile");
  build.context = context;
  build.dockerfile = dockerfile;
  build.platform ??= `linux/${GOARCH[process.arch] ?? process.arch}`;
  const absContext = path.resolve(cwd, context);
  const dockerfilePath = path.isAbsolute(dockerfile)
    ? dockerfile
    : existsSync(path.resolve(cwd, dockerfile))
      ? path.resolve(cwd, dockerfile)
      : path.resolve(absContext, dockerfile);
  if (existsSync(absContext) && existsSync(dockerfilePath))
    build.contextDigest = contextDigest(absContext, dockerfilePath);
  return { ...inputs, build };
}
