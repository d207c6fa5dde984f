// A real Mosquitto for tests (Debian's /usr/sbin/mosquitto), on its own loopback address and port,
// configured like a user would: around the levee.passwd and levee.acl that `levee ctl
// broker-config mosquitto` writes (or that the cloud keeps current with --mosquitto-config-dir).
// It logs to DIR/mosquitto.log (kept across restarts, printed when a test fails) and is killed
// when the test process ends, whatever the test did.
//
// Which broker the cluster harness uses: startCluster({ broker }), default LEVEE_TEST_BROKER
// (embedded | mosquitto), default embedded. A missing Mosquitto fails under CI, skips otherwise.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mosquittoConf } from "../../src/cloud/mosquitto-config.ts";
import { canConnect, runLevee, waitUntil } from "./process.ts";

export type BrokerKind = "embedded" | "mosquitto";
export const BROKER_KINDS: readonly BrokerKind[] = ["embedded", "mosquitto"];

export function mosquittoBinary(): string | undefined {
  return Bun.which("mosquitto", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin` }) ?? undefined;
}

/** Whether Mosquitto tests can run here; under CI a missing Mosquitto is an error, not a skip. */
export function mosquittoAvailable(): boolean {
  const found = mosquittoBinary() !== undefined;
  if (!found && process.env.CI)
    throw new Error(
      "mosquitto is not installed (apt-get install mosquitto): CI must run the Mosquitto tests",
    );
  return found;
}

/** The broker tests use unless they choose: LEVEE_TEST_BROKER, default embedded. */
export function defaultBroker(): BrokerKind {
  const wanted = process.env.LEVEE_TEST_BROKER ?? "embedded";
  if (wanted !== "embedded" && wanted !== "mosquitto")
    throw new Error(`LEVEE_TEST_BROKER must be embedded or mosquitto, not ${JSON.stringify(wanted)}`);
  if (wanted === "mosquitto" && !mosquittoAvailable())
    throw new Error("LEVEE_TEST_BROKER=mosquitto but mosquitto is not installed (apt-get install mosquitto)");
  return wanted;
}

export interface TestMosquitto {
  /** mqtt://ADDRESS:PORT */
  url: string;
  /** Holds levee.passwd, levee.acl, mosquitto.conf, mosquitto.log and mosquitto.pid. */
  dir: string;
  /** Starts it (again) with the same configuration; resolves when its port accepts connections. */
  start(): Promise<void>;
  /** SIGHUP: Mosquitto re-reads its password and ACL files. */
  reload(): void;
  stop(): Promise<void>;
  log(): string;
}

const running = new Set<Subprocess>();

/** Kills every Mosquitto a test left running (called by the harness's cleanup and on exit). */
export function cleanupMosquittos(): void {
  for (const proc of running) proc.kill("SIGKILL");
  running.clear();
}
process.on("exit", cleanupMosquittos);

/**
 * A Mosquitto listening on address:port with DIR/levee.passwd and DIR/levee.acl (which must exist
 * before start()). Not started yet.
 */
export function createMosquitto(options: { address: string; port: number; dir: string }): TestMosquitto {
  const { address, port, dir } = options;
  const bin = mosquittoBinary();
  if (!bin) throw new Error("mosquitto is not installed (apt-get install mosquitto)");
  const conf = join(dir, "mosquitto.conf");
  const logFile = join(dir, "mosquitto.log");
  const extra = [
    "persistence false",
    `log_dest file ${logFile}`,
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "log_timestamp_format %H:%M:%S",
    // Mosquitto started as root drops to the user "mosquitto" unless told to stay root.
    ...(process.getuid?.() === 0 ? ["user root"] : []),
    "",
  ];
  const base = mosquittoConf({
    listener: { port, host: address },
    passwordFile: join(dir, "levee.passwd"),
    aclFile: join(dir, "levee.acl"),
  });
  let proc: Subprocess | undefined;
  return {
    url: `mqtt://${address}:${port}`,
    dir,
    async start() {
      writeFileSync(conf, `${base}${extra.join("\n")}`);
      const runs = readLog(logFile).split(" running").length; // the log is kept across restarts
      const child = Bun.spawn([bin, "-c", conf], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      proc = child;
      running.add(child);
      void child.exited.then(() => running.delete(child));
      await waitUntil(
        `mosquitto on ${address}:${port}`,
        async () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`mosquitto exited (${child.signalCode ?? child.exitCode})`);
          // "running" is logged once its signal handlers are in place: a SIGHUP before would kill it
          return readLog(logFile).split(" running").length > runs && (await canConnect(address, port));
        },
        10_000,
      ).catch((err) => {
        throw new Error(`${(err as Error).message}\n----- mosquitto log -----\n${readLog(logFile)}`);
      });
      // For reload commands (kill -HUP "$(cat DIR/mosquitto.pid)"): written once it can take one.
      writeFileSync(join(dir, "mosquitto.pid"), `${child.pid}\n`);
    },
    reload() {
      proc?.kill("SIGHUP");
    },
    async stop() {
      const child = proc;
      proc = undefined;
      if (!child || child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await child.exited;
      clearTimeout(timer);
    },
    log: () => readLog(logFile),
  };
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "(no mosquitto log)";
  }
}

/**
 * `levee ctl broker-config mosquitto --out-dir DIR` against the cloud in cloudDataDir, as a user
 * would run it; retried while the cloud API is not answering yet.
 */
export async function writeBrokerFiles(cloudDataDir: string, dir: string, timeoutMs = 15_000): Promise<void> {
  let last = "";
  // Until the cloud wrote api.url, ctl would fall back to http://127.0.0.1:7400: someone else's.
  await waitUntil("the cloud's api.url", () => existsSync(join(cloudDataDir, "api.url")), timeoutMs);
  await waitUntil(
    "levee ctl broker-config mosquitto",
    async () => {
      const r = await runLevee([
        "ctl",
        "--data-dir",
        cloudDataDir,
        "broker-config",
        "mosquitto",
        "--out-dir",
        dir,
      ]);
      last = r.stderr.trim();
      return r.code === 0;
    },
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}: ${last}`);
  });
}

/** The cluster's MQTT broker: the cloud's embedded one, or a Mosquitto of the harness. */
export interface TestBroker {
  kind: BrokerKind;
  /** What the cloud and edges connect to, e.g. mqtt://127.0.7.10:1883 */
  url: string;
  /** Mosquitto: regenerate the files with `levee ctl broker-config mosquitto` and SIGHUP it (after joins). */
  sync(): Promise<void>;
  /** Mosquitto: stop and start the broker process. Embedded: nothing (it lives and dies with the cloud). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Mosquitto's log ("" for the embedded broker: its lines are in the cloud's log). */
  log(): string;
}

/** The cluster's broker object: Mosquitto driven the way a user would, or the embedded one (nothing to do). */
export function testBroker(
  mosquitto: TestMosquitto | undefined,
  cloudDataDir: string,
  embeddedUrl: string,
): TestBroker {
  if (!mosquitto) {
    const nothing = async () => {};
    return {
      kind: "embedded",
      url: embeddedUrl,
      sync: nothing,
      stop: nothing,
      start: nothing,
      log: () => "",
    };
  }
  return {
    kind: "mosquitto",
    url: mosquitto.url,
    async sync() {
      await writeBrokerFiles(cloudDataDir, mosquitto.dir);
      mosquitto.reload();
    },
    stop: () => mosquitto.stop(),
    start: () => mosquitto.start(),
    log: () => mosquitto.log(),
  };
}
