// Property paths as the Pulumi engine writes them (`triggers[*]`, `build.args`,
// `labels["a.b"]`) and the three things the engine does with them: which paths differ
// between two values (its detailed diff), whether a `replaceOnChanges` path covers a
// changed one, and `ignoreChanges` (put the old value back before diffing).
// Semantics from pulumi/pulumi sdk/go/common/resource/properties_path.go
// (ParsePropertyPath; Contains at :314, where `*` matches any key or index and a shorter
// path is never contained; Reset at :574).

export type Segment = string | number;

/** `a.b[0]["c.d"][*]` → ["a", "b", 0, "c.d", "*"]. Throws on a malformed path. */
export function parsePath(text: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  const fail = () => new Error(`malformed property path '${text}'`);
  while (i < text.length) {
    const c = text[i];
    if (c === "[") {
      const close = text.indexOf("]", i);
      if (close < 0) throw fail();
      const inner = text.slice(i + 1, close);
      if (inner.startsWith('"')) {
        // A quoted key may hold "]": find the closing quote first.
        let j = i + 2;
        let key = "";
        while (j < text.length && text[j] !== '"') {
          if (text[j] === "\\") j++;
          key += text[j++];
        }
        if (text[j + 1] !== "]") throw fail();
        out.push(key);
        i = j + 2;
        continue;
      }
      if (inner === "*") out.push("*");
      else if (/^\d+$/.test(inner)) out.push(Number(inner));
      else throw fail();
      i = close + 1;
    } else if (c === ".") {
      if (out.length === 0) throw fail();
      i++;
    } else {
      let j = i;
      while (j < text.length && text[j] !== "." && text[j] !== "[") j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  if (out.length === 0) throw fail();
  return out;
}

/** The engine's form of a path: `a.b[0]`, keys that need it quoted (`labels["a.b"]`). */
export function formatPath(path: readonly Segment[]): string {
  return path
    .map((s, i) => {
      if (typeof s === "number") return `[${s}]`;
      if (s === "*") return "[*]";
      if (!/^[A-Za-z0-9_]+$/.test(s)) return `["${s.replace(/"/g, '\\"')}"]`;
      return i === 0 ? s : `.${s}`;
    })
    .join("");
}

/** PropertyPath.Contains: `*` matches any one key or index; `other` must be at least as long. */
export function pathContains(pattern: readonly Segment[], other: readonly Segment[]): boolean {
  if (other.length < pattern.length) return false;
  return pattern.every((p, i) => p === "*" || p === other[i]);
}

export type DiffKind = "add" | "delete" | "update";
export interface PathDiff {
  path: Segment[];
  kind: DiffKind;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const absent = (v: unknown) => v === undefined || v === null;

/**
 * The leaf paths where two plain values differ, as the engine's object diff reports
 * them (sdk/go/common/resource/properties_diff.go, turned into paths by
 * plugin.NewDetailedDiffFromObjectDiff): a key or element only on one side is an add or
 * a delete at its own path; arrays compare element by element.
 */
export function diffPaths(oldValue: unknown, newValue: unknown, path: Segment[] = []): PathDiff[] {
  if (absent(oldValue) && absent(newValue)) return [];
  if (absent(oldValue)) return [{ path, kind: "add" }];
  if (absent(newValue)) return [{ path, kind: "delete" }];
  if (Array.isArray(oldValue) && Array.isArray(newValue)) {
    const out: PathDiff[] = [];
    for (let i = 0; i < Math.max(oldValue.length, newValue.length); i++)
      out.push(...diffPaths(oldValue[i], newValue[i], [...path, i]));
    return out;
  }
  if (isObject(oldValue) && isObject(newValue)) {
    const out: PathDiff[] = [];
    for (const k of new Set([...Object.keys(oldValue), ...Object.keys(newValue)]))
      out.push(...diffPaths(oldValue[k], newValue[k], [...path, k]));
    return out;
  }
  if (Array.isArray(oldValue) || Array.isArray(newValue) || isObject(oldValue) || isObject(newValue))
    return [{ path, kind: "update" }];
  return oldValue === newValue ? [] : [{ path, kind: "update" }];
}

/** Deep equality of plain (JSON-like) values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  return diffPaths(a, b).length === 0;
}

function getAt(value: unknown, path: readonly Segment[]): { found: boolean; value?: unknown } {
  let cur: unknown = value;
  for (const s of path) {
    if (Array.isArray(cur) && typeof s === "number" && s < cur.length) cur = cur[s];
    else if (isObject(cur) && typeof s === "string" && s in cur) cur = cur[s];
    else return { found: false };
  }
  return { found: true, value: cur };
}

/** Expand `*` segments against the keys and indices present in `value`. */
function expand(value: unknown, path: readonly Segment[], prefix: Segment[] = []): Segment[][] {
  const star = path.indexOf("*");
  if (star < 0) return [[...prefix, ...path]];
  const head = path.slice(0, star);
  const at = getAt(value, head);
  if (!at.found) return [];
  const keys: Segment[] = Array.isArray(at.value)
    ? at.value.map((_, i) => i)
    : isObject(at.value)
      ? Object.keys(at.value)
      : [];
  return keys.flatMap((k) => expand(at.value, path.slice(star + 1), [...prefix, ...head, k]));
}

/**
 * ignoreChanges: each path of `newInputs` takes the value it has in `oldInputs` (deleted
 * when absent there), as processIgnoreChanges (step_generator.go:3076) and the
 * go-provider's diff (infer/resource.go:1159) do. Returns a copy; paths it cannot apply
 * (an element added or removed) are returned in `invalid`, as the engine notes them.
 */
export function applyIgnoreChanges(
  oldInputs: Record<string, unknown>,
  newInputs: Record<string, unknown>,
  ignoreChanges: readonly string[],
): { inputs: Record<string, unknown>; invalid: string[] } {
  const out = structuredClone(newInputs);
  const invalid: string[] = [];
  for (const text of ignoreChanges) {
    let pattern: Segment[];
    try {
      pattern = parsePath(text);
    } catch {
      invalid.push(text);
      continue;
    }
    const concrete = new Map<string, Segment[]>();
    for (const p of [...expand(oldInputs, pattern), ...expand(out, pattern)]) concrete.set(formatPath(p), p);
    for (const p of concrete.values()) {
      const old = getAt(oldInputs, p);
      const parent = getAt(out, p.slice(0, -1));
      if (!parent.found || parent.value === null || typeof parent.value !== "object") {
        if (old.found) invalid.push(text);
        continue;
      }
      const container = parent.value as Record<string | number, unknown>;
      const last = p[p.length - 1];
      if (Array.isArray(container) && (typeof last !== "number" || last >= container.length)) {
        // An element added or removed: the engine cannot ignore that (properties_path.go Reset).
        invalid.push(text);
        continue;
      }
      if (old.found) container[last] = structuredClone(old.value);
      else if (Array.isArray(container)) invalid.push(text);
      else delete container[last];
    }
  }
  return { inputs: out, invalid };
}
