// MariaDB for real: an empty volume is initialised with the accounts from the secret
// files; the app user owns the app database and nothing else; root's password works;
// data survives re-creating the container on the same volume, which is never
// re-initialised; a non-empty data dir without a database is refused; no password
// shows in `docker inspect` or the logs.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithDocker, docker, runContainer, runOnce } from "../support/docker";
import {
  buildImages,
  cleanup,
  image,
  killAndMeasureRestart,
  labels,
  ramSecrets,
  timedStop,
  tryExec,
  waitFor,
  waitReadyOverASecond,
} from "./s6Support";

const SUITE = "mysql";
const VOLUME = "flotilla-mysql-data";
const NAME = "flotilla-mysql";

describeWithDocker("mysql image (MariaDB)", () => {
  // A quote and a backslash in the app password: the SQL quoting must hold.
  const rootPassword = randomBytes(18).toString("base64url");
  const appPassword = `${randomBytes(12).toString("base64url")}'q\\x`;
  const secrets = ramSecrets({ mysql_root_password: rootPassword, mysql_password: appPassword });

  const run = (name: string, volume: string, env: string[] = []): void => {
    runContainer({
      name,
      suite: SUITE,
      env: [...env, "MYSQL_DATABASE=appdb", "MYSQL_USER=app"],
      volumes: [`${volume}:/var/lib/mysql`, `${secrets.dir}:/run/secrets:ro`],
      image: image("mysql"),
    });
  };
  const healthy = (name: string): Promise<true> =>
    waitFor(`${name} healthy`, 120_000, () =>
      docker(["inspect", "-f", "{{.State.Health.Status}}", name]) === "healthy" ? true : undefined,
    );
  /** Run SQL with the client, the password passed on stdin as an option file (never argv). */
  const sql = (name: string, user: string, password: string, query: string, extra: string[] = []) =>
    tryExec(
      name,
      ["mariadb", "--defaults-extra-file=/dev/stdin", `--user=${user}`, "-N", "-B", ...extra, "-e", query],
      `[client]\npassword="${password.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"\n`,
    );

  beforeAll(() => {
    cleanup(SUITE);
    buildImages(["s6-base", "mysql"]);
    docker(["volume", "create", ...labels(SUITE), VOLUME]);
  });

  afterAll(() => {
    cleanup(SUITE);
    secrets.remove();
  });

  it("initialises an empty volume and turns healthy", async () => {
    const start = Date.now();
    run(NAME, VOLUME);
    await healthy(NAME);
    console.log(`mysql: empty volume initialised and healthy in ${Date.now() - start} ms`);
    const logs = docker(["logs", NAME]);
    expect(logs).toMatch(/^\[mysql\] data directory \/var\/lib\/mysql is empty: initialising$/m);
    expect(logs).toMatch(/^\[mysql-accounts\] accounts applied/m);
  });

  it("lets the app user use the app database over TCP, and nothing more", () => {
    const tcp = ["--host=127.0.0.1", "--protocol=tcp"];
    const use = sql(
      NAME,
      "app",
      appPassword,
      "CREATE TABLE appdb.t (x INT); INSERT INTO appdb.t VALUES (42); SELECT x FROM appdb.t;",
      tcp,
    );
    expect(use.out.trim()).toBe("42");
    const other = sql(NAME, "app", appPassword, "CREATE DATABASE other", tcp);
    expect(other.status).not.toBe(0);
    expect(other.out).toMatch(/Access denied/);
    expect(sql(NAME, "app", appPassword, "SELECT COUNT(*) FROM mysql.user", tcp).status).not.toBe(0);
    expect(sql(NAME, "app", "wrong-password", "SELECT 1", tcp).status).not.toBe(0);
  });

  it("accepts root's password from the secret (and refuses a wrong one)", () => {
    // As an unprivileged OS user, root's socket authentication does not apply: only the
    // password does. It travels on stdin into the client's environment (never argv).
    const asNobody = (password: string) =>
      tryExec(
        NAME,
        [
          "sh",
          "-c",
          'read -r MYSQL_PWD; export MYSQL_PWD; exec setpriv --reuid=nobody --regid=nogroup --clear-groups mariadb --user=root -N -e "SELECT CURRENT_USER()"',
        ],
        `${password}\n`,
      );
    const ok = asNobody(rootPassword);
    expect(ok.out.trim()).toBe("root@localhost");
    expect(asNobody("wrong").status).not.toBe(0);
  });

  it("keeps the data when the container is re-created on the same volume (files owned by another uid), without re-initialising", async () => {
    docker(["rm", "-f", NAME]);
    // As if the files came from another host or image: another owner id.
    runOnce({
      suite: SUITE,
      volumes: [`${VOLUME}:/data`],
      entrypoint: "chown",
      image: image("mysql"),
      command: ["-R", "12345:12345", "/data"],
    });
    run(NAME, VOLUME);
    await healthy(NAME);
    const logs = docker(["logs", NAME]);
    expect(logs).toMatch(/holds a database: keeping it/);
    expect(logs).toMatch(/handing its files to the mysql user/);
    expect(logs).not.toMatch(/initialising/);
    expect(sql(NAME, "app", appPassword, "SELECT x FROM appdb.t", ["--host=127.0.0.1"]).out.trim()).toBe(
      "42",
    );
  });

  it("restarts a SIGKILLed mariadbd within a second, and recovers its data", async () => {
    await waitReadyOverASecond(NAME, "mysql");
    const ms = killAndMeasureRestart(NAME, "mysql");
    console.log(`mysql: mariadbd back ${ms} ms after kill -9`);
    expect(ms).toBeLessThan(1000);
    await waitReadyOverASecond(NAME, "mysql");
    expect(sql(NAME, "app", appPassword, "SELECT x FROM appdb.t", ["--host=127.0.0.1"]).out.trim()).toBe(
      "42",
    );
  });

  it("refuses to initialise a data dir that is not empty but holds no database", async () => {
    const volume = "flotilla-mysql-foreign";
    docker(["volume", "create", ...labels(SUITE), volume]);
    runOnce({
      suite: SUITE,
      volumes: [`${volume}:/data`],
      entrypoint: "sh",
      image: image("mysql"),
      command: ["-c", "echo precious > /data/file"],
    });
    run("flotilla-mysql-foreign", volume);
    await waitFor("the refusal in the logs", 30_000, () =>
      /refusing to initialise/.test(docker(["logs", "flotilla-mysql-foreign"])) ? true : undefined,
    );
    const files = runOnce({
      suite: SUITE,
      volumes: [`${volume}:/data`],
      entrypoint: "ls",
      image: image("mysql"),
      command: ["-A", "/data"],
    });
    expect(files.split("\n")).toEqual(["file"]);
  });

  it("shows no password in docker inspect or the logs", () => {
    const seen = `${docker(["inspect", NAME])}\n${docker(["logs", NAME])}`;
    expect(seen.includes(rootPassword), "root password visible").toBe(false);
    expect(seen.includes(appPassword), "app password visible").toBe(false);
  });

  it("shuts MariaDB down cleanly on docker stop: exit code 0 within a 30 s grace period", () => {
    const { ms, exitCode } = timedStop(NAME, 30);
    console.log(`mysql: docker stop took ${ms} ms, exit code ${exitCode}`);
    expect(exitCode).toBe(0);
    expect(ms).toBeLessThan(30_000);
    expect(docker(["logs", NAME])).toMatch(/^\[mysql\] .*mariadbd: Shutdown complete$/m);
  });

  it("stops as fast with scheduled backups on (the stack's backup member): the backup loop's sleep ends with it", async () => {
    // Found in the dev stack: the loop's foreground `sleep 86400` outlived its shell and
    // held the container up until Docker's SIGKILL, 60 s on every MySQL restart.
    const name = `${NAME}-backups`;
    const volume = `${VOLUME}-backups`;
    docker(["volume", "create", ...labels(SUITE), volume]);
    run(name, volume, ["MYSQL_BACKUP_INTERVAL_SECONDS=86400"]);
    await healthy(name);
    await waitFor("the backup loop sleeping", 30_000, () =>
      /sleep 86400/.test(docker(["exec", name, "ps", "-eo", "args"])) ? true : undefined,
    );
    const { ms, exitCode } = timedStop(name, 30);
    console.log(`mysql with backups scheduled: docker stop took ${ms} ms, exit code ${exitCode}`);
    expect(exitCode).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });
});
