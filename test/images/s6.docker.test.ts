// s6 as PID 1, for real: the s6-base image with a tiny demo service, and the consul image.
// A SIGKILLed service is back within a second; `docker stop` exits 0 inside the grace
// period without losing the service's last log line; orphans are reaped.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithDocker, docker, runContainer } from "../support/docker";
import { sleep } from "../support/time";
import {
  buildImages,
  cleanup,
  image,
  killAndMeasureRestart,
  labels,
  timedStop,
  tryExec,
  waitReadyOverASecond,
} from "./s6Support";

const SUITE = "s6";
const GRACE_SECONDS = 10;

describeWithDocker("s6 as PID 1 (s6-base, consul)", () => {
  let demoDir = "";

  beforeAll(() => {
    cleanup(SUITE);
    const out = buildImages(["s6-base", "consul"]);
    expect(out).toMatch(/flotilla\/s6-base:\S+\s+\d+ MB/);
    // A demo service: logs, and says goodbye on SIGTERM (to prove no log line is lost).
    demoDir = mkdtempSync("/tmp/flotilla-s6-demo-");
    writeFileSync(
      path.join(demoDir, "run"),
      [
        "#!/bin/sh",
        "exec 2>&1",
        'echo "demo started"',
        "trap 'echo \"demo stopping on TERM\"; exit 0' TERM",
        "while :; do sleep 1 & wait $!; done",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
  });

  afterAll(() => {
    cleanup(SUITE);
    if (demoDir) rmSync(demoDir, { recursive: true, force: true });
  });

  const runBase = (name: string): string => {
    runContainer({
      name,
      suite: SUITE,
      volumes: [`${demoDir}:/etc/services.d/demo:ro`],
      image: image("s6-base"),
    });
    return name;
  };

  it("runs s6-svscan as PID 1 and prefixes each service's output with its name", async () => {
    const c = runBase("flotilla-s6-pid1");
    await waitReadyOverASecond(c, "demo");
    expect(tryExec(c, ["cat", "/proc/1/comm"]).out.trim()).toBe("s6-svscan");
    expect(docker(["logs", c])).toMatch(/^\[demo\] demo started$/m);
  });

  it("rebuilds to the same image id when nothing changed (so the stacks' reference does not move)", () => {
    const before = docker(["image", "inspect", "-f", "{{.Id}}", image("s6-base")]);
    const out = buildImages(["s6-base"]);
    expect(out).toContain(before);
    expect(docker(["image", "inspect", "-f", "{{.Id}}", image("s6-base")])).toBe(before);
  });

  it("restarts a SIGKILLed service within a second (s6-base demo)", async () => {
    const c = "flotilla-s6-pid1";
    await waitReadyOverASecond(c, "demo");
    const ms = killAndMeasureRestart(c, "demo");
    console.log(`s6-base: demo service back ${ms} ms after kill -9`);
    expect(ms).toBeLessThan(1000);
    await waitReadyOverASecond(c, "demo/log");
    const logMs = killAndMeasureRestart(c, "demo/log");
    console.log(`s6-base: demo's logger back ${logMs} ms after kill -9`);
    expect(logMs).toBeLessThan(1000);
    // Lines written while the logger was being replaced are not lost (s6-svscan holds the pipe).
    await waitReadyOverASecond(c, "demo");
    expect(tryExec(c, ["s6-svc", "-r", "/run/service/demo"]).status).toBe(0);
    await waitReadyOverASecond(c, "demo");
    expect(docker(["logs", c]).match(/^\[demo\] demo started$/gm)?.length).toBeGreaterThanOrEqual(3);
  });

  it("reaps orphaned zombies", () => {
    const c = "flotilla-s6-pid1";
    // The inner sh exits at once, so its `sleep` is re-parented to PID 1, which must reap it
    // when it dies. Prints the orphan's parent pid and, after it died, the zombie count.
    const script = `sh -c 'sleep 0.5 & echo $! >/tmp/orphan'
      sleep 0.1; pid=$(cat /tmp/orphan)
      ppid=$(awk '/^PPid:/ { print $2 }' /proc/$pid/status)
      sleep 1.5
      zombies=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)
      echo "$ppid $zombies"`;
    const out = tryExec(c, ["sh", "-c", script]).out.trim();
    console.log(`s6-base: orphan's parent pid and zombie count after it died: ${out}`);
    expect(out).toBe("1 0");
  });

  it("stops cleanly on docker stop: exit code 0 within the grace period, last log line kept", async () => {
    const c = "flotilla-s6-pid1";
    await waitReadyOverASecond(c, "demo");
    const { ms, exitCode } = timedStop(c, GRACE_SECONDS);
    console.log(`s6-base: docker stop took ${ms} ms, exit code ${exitCode}`);
    expect(exitCode).toBe(0);
    expect(ms).toBeLessThan(GRACE_SECONDS * 1000);
    expect(docker(["logs", c])).toMatch(/^\[demo\] demo stopping on TERM$/m);
  });

  it("runs an image's pre-stop hook on docker stop while every service still runs, then stops them, once", async () => {
    // The hook an image ships (the mysql image's galera-leave): here it checks the demo
    // service is still up, takes 2 s, and counts its runs; a second SIGTERM meanwhile
    // must not run it again.
    const hook = path.join(demoDir, "..", `${path.basename(demoDir)}-pre-stop`);
    writeFileSync(
      hook,
      [
        "#!/bin/sh",
        'echo "hook started; demo up: $(s6-svstat -o up /run/service/demo)"',
        "sleep 2",
        'echo "hook done"',
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const c = "flotilla-s6-pre-stop";
    try {
      runContainer({
        name: c,
        suite: SUITE,
        volumes: [`${demoDir}:/etc/services.d/demo:ro`, `${hook}:/usr/lib/flotilla/pre-stop:ro`],
        image: image("s6-base"),
      });
      await waitReadyOverASecond(c, "demo");
      docker(["kill", "-s", "TERM", c]);
      await sleep(500);
      docker(["kill", "-s", "TERM", c]);
      const { ms, exitCode } = timedStop(c, GRACE_SECONDS);
      const logs = docker(["logs", c]);
      console.log(
        `s6-base: stop with a 2 s pre-stop hook took ${ms} ms after the second SIGTERM, exit ${exitCode}`,
      );
      expect(exitCode).toBe(0);
      expect(logs.match(/^\[pre-stop\] hook started; demo up: true$/gm)).toHaveLength(1);
      // The hook ran to its end before the services got their SIGTERM.
      const lines = logs.split("\n");
      const done = lines.indexOf("[pre-stop] hook done");
      const demoStop = lines.indexOf("[demo] demo stopping on TERM");
      expect(done).toBeGreaterThan(-1);
      expect(demoStop).toBeGreaterThan(done);
    } finally {
      rmSync(hook, { force: true });
    }
  });

  it("consul image: SIGKILLed agent back within a second, docker stop exits 0", async () => {
    const c = "flotilla-s6-consul";
    docker([
      "run",
      "-d",
      "--name",
      c,
      "--hostname",
      c,
      ...labels(SUITE),
      "-e",
      `CONSUL_RETRY_JOIN=${c}`,
      image("consul"),
    ]);
    await waitReadyOverASecond(c, "consul");
    const ms = killAndMeasureRestart(c, "consul");
    console.log(`consul: agent back ${ms} ms after kill -9`);
    expect(ms).toBeLessThan(1000);
    await waitReadyOverASecond(c, "consul/log");
    const logMs = killAndMeasureRestart(c, "consul/log");
    console.log(`consul: its logger back ${logMs} ms after kill -9`);
    expect(logMs).toBeLessThan(1000);
    await waitReadyOverASecond(c, "consul");
    const stop = timedStop(c, GRACE_SECONDS);
    console.log(`consul: docker stop took ${stop.ms} ms, exit code ${stop.exitCode}`);
    expect(stop.exitCode).toBe(0);
    expect(stop.ms).toBeLessThan(GRACE_SECONDS * 1000);
    expect(docker(["logs", c])).toMatch(/^\[consul\] .*agent: Endpoints down/m);
  });
});
