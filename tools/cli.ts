// What the command-line tools (npm run demo, npm run bench) do alike as processes: how they
// exit, and how they hear Ctrl-C.

/**
 * Run `main` as the command `name`: exit with the code it returns; when it throws, say
 * `<name>: <message>` on stderr and exit with `failureCode`.
 */
export function runAsCommand(name: string, main: () => Promise<number>, failureCode: number): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(failureCode);
    },
  );
}

/** Call `handler` on the first SIGINT or SIGTERM; the function returned stops listening. */
export function onInterrupt(handler: () => void): () => void {
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
