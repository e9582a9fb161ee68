// Waiting and timing in tests: a plain pause (a poll belongs to `retry`), and the figures'
// one way of printing a duration.

/** Resolve after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `ms` as seconds to a tenth (1234 → 1.2), as the suites' figures give durations. */
export const seconds = (ms: number): number => Math.round(ms / 100) / 10;
