// The one poller (Consul's sdk/testutil/retry): repeat a check until it passes or a
// deadline comes, and when it gives up, fail with what it was waiting for and the LAST
// reason the check gave, never a bare "timed out".

export interface RetryOptions {
  /** Pause between attempts; default 250 ms. */
  intervalMs?: number;
}

/** What `retry` throws when it gives up; `cause` is the check's last error. */
export class RetryError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RetryError";
  }
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Call `check` until it passes, at most `timeoutMs`. A check fails by throwing (say why:
 * that message is what a timeout reports) or by returning `undefined`, `null` or `false`;
 * any other value passes and is returned. An attempt still running at the deadline (or
 * one interval after it) is abandoned and counted as the last failure.
 */
export async function retry<T>(
  what: string,
  timeoutMs: number,
  check: () => T | Promise<T>,
  options: RetryOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const intervalMs = options.intervalMs ?? 250;
  const start = Date.now();
  const deadline = start + timeoutMs;
  let last: unknown = new Error("no attempt finished");
  let attempts = 0;
  for (;;) {
    attempts++;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("the last attempt was still running at the deadline")),
        // The last attempt gets at least one interval, so a deadline never cuts an answer short.
        Math.max(intervalMs, deadline - Date.now()),
      );
    });
    try {
      const value = await Promise.race([Promise.resolve().then(check), late]);
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
      last = new Error(`the check returned ${String(value)}`);
    } catch (err) {
      last = err;
    } finally {
      clearTimeout(timer);
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, left)));
  }
  throw new RetryError(
    `gave up after ${Date.now() - start} ms (${attempts} attempts) waiting for ${what}: ${describe(last)}`,
    attempts,
    { cause: last },
  );
}

/** Throw `message` unless `condition` holds: a check's way to say why it is not done yet. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new Error(typeof message === "function" ? message() : message);
}
