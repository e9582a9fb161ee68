// Images are deployed by digest (`name@sha256:<64 hex>`), never by a mutable tag: what
// the preview showed is exactly what runs, and a re-pushed tag cannot change production.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { parseAllDocuments } from "yaml";
import { isRecord, type Props, str, TYPES } from "./util";

const DIGEST = /@sha256:[0-9a-f]{64}$/;
/** A bare image id (what `docker:index/remoteImage:RemoteImage.imageId` gives) is immutable too. */
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

export function isPinned(image: string): boolean {
  return DIGEST.test(image) || IMAGE_ID.test(image);
}

/** `docker stack deploy` (or `docker deploy`) anywhere in a shell command. */
const STACK_DEPLOY = /\bdocker\s+(?:stack\s+deploy|deploy)\b/;

/** Heredoc bodies in a shell script (`<<EOF ... EOF`, `<<-'EOF'`, `<<"EOF"`). */
export function heredocs(script: string): string[] {
  const bodies: string[] = [];
  const re = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1[^\n]*\n([\s\S]*?)\n\s*\2\s*(?:\n|$)/g;
  for (const m of script.matchAll(re)) bodies.push(m[3]);
  return bodies;
}

/**
 * The parts of a text that may be a compose document: the text itself, and what follows
 * each `%%<name>` marker line (a stdin stream that carries other data first, such as
 * `NAME=<base64>` secret lines, then `%%compose` and the document).
 */
export function composeCandidates(text: string): string[] {
  const parts = [text];
  for (const m of text.matchAll(/^%%[A-Za-z0-9_-]+[ \t]*\r?$/gm)) {
    parts.push(text.slice((m.index ?? 0) + m[0].length + 1));
  }
  return parts;
}

/** Every compose document (a YAML mapping with `services`) found in the given texts, once each. */
export function composeDocuments(texts: string[]): Props[] {
  const docs = new Map<string, Props>();
  for (const text of texts.flatMap(composeCandidates)) {
    if (!/services\s*:/.test(text)) continue;
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) continue;
      const value: unknown = doc.toJS();
      if (isRecord(value) && isRecord(value.services)) docs.set(JSON.stringify(value), value);
    }
  }
  return [...docs.values()];
}

/** Scripts a command line carries base64-encoded (`bash -c "$(printf %s <b64> | base64 -d)"`). */
export function embeddedScripts(commandLine: string): string[] {
  const scripts: string[] = [];
  for (const m of commandLine.matchAll(/[A-Za-z0-9+/]{40,}={0,2}/g)) {
    const text = Buffer.from(m[0], "base64").toString("utf8");
    // Keep only what decodes to text (a script), not random bytes.
    if (/^[\t\n\r\x20-\x7e]*$/.test(text)) scripts.push(text);
  }
  return scripts;
}

/** Problems with the images of one compose document: one line per unpinned service image. */
export function composeImageProblems(doc: Props): string[] {
  const problems: string[] = [];
  const services = isRecord(doc.services) ? doc.services : {};
  for (const [name, service] of Object.entries(services)) {
    const image = isRecord(service) ? str(service.image) : undefined;
    if (image === undefined) problems.push(`service '${name}' has no image`);
    else if (!isPinned(image))
      problems.push(`service '${name}' uses image '${image}' (not pinned by digest)`);
  }
  return problems;
}

function commandTexts(p: Props): { scripts: string[]; documents: string[] } {
  const lines = [str(p.create), str(p.update)].filter((s): s is string => s !== undefined);
  const scripts = [...lines, ...lines.flatMap(embeddedScripts)];
  const environment = isRecord(p.environment) ? Object.values(p.environment).map(str) : [];
  const documents = [str(p.stdin), ...environment, ...scripts.flatMap(heredocs)].filter(
    (s): s is string => s !== undefined,
  );
  return { scripts, documents };
}

export const imagesPinnedByDigest: ResourceValidationPolicy = {
  name: "images-pinned-by-digest",
  description:
    "Every deployed image (compose documents given to `docker stack deploy`, Docker services and containers) is referenced by digest, not by a mutable tag.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use the pushed image's repoDigest (`registry/name@sha256:...`), e.g. docker.RegistryImage's sha256Digest or docker.Image's repoDigest.",
  validateResource: (args, reportViolation) => {
    const p = args.props;
    switch (args.type) {
      case TYPES.dockerService: {
        const spec =
          isRecord(p.taskSpec) && isRecord(p.taskSpec.containerSpec) ? p.taskSpec.containerSpec : {};
        const image = str(spec.image) ?? "";
        if (!isPinned(image))
          reportViolation(`service '${args.name}' uses image '${image}' (not pinned by digest)`);
        return;
      }
      case TYPES.dockerContainer: {
        const image = str(p.image) ?? "";
        if (!isPinned(image))
          reportViolation(`container '${args.name}' uses image '${image}' (not pinned by digest)`);
        return;
      }
      case TYPES.localCommand:
      case TYPES.remoteCommand: {
        const { scripts, documents } = commandTexts(p);
        // Any compose document a command is handed is checked, whatever its script does;
        // a `docker stack deploy` with no document in sight is refused as unverifiable.
        const docs = composeDocuments(documents);
        if (docs.length === 0 && scripts.some((s) => STACK_DEPLOY.test(s))) {
          reportViolation(
            `command '${args.name}' runs 'docker stack deploy' but its compose document is not among its inputs (pass it as stdin with '-c -'), so its images cannot be checked`,
          );
          return;
        }
        for (const problem of docs.flatMap(composeImageProblems)) {
          reportViolation(`command '${args.name}' deploys a stack whose ${problem}`);
        }
        return;
      }
    }
  },
};
