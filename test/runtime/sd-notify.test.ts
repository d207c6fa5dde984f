// What the agent tells systemd and when: READY=1 once, only with every check passing and the agent
// composed; STATUS= only when its text changes; nothing after STOPPING=1; a failing socket logged
// once, never thrown. With fakes for readiness and the socket.
import { describe, expect, test } from "bun:test";
import { Readiness } from "../../src/runtime/health.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { Notifier, startSystemdNotify } from "../../src/runtime/sd-notify.ts";
import { Lifecycle } from "../../src/runtime/shutdown.ts";

function fixture(failWith?: () => string | undefined) {
  const sent: string[] = [];
  const logs: string[] = [];
  const readiness = new Readiness();
  let join: true | string = "joining the cloud";
  readiness.add("store", () => true);
  readiness.add("join", () => join);
  const log = createLogger({ level: "debug", format: "json", write: (l) => logs.push(l) });
  const notifier = new Notifier(
    readiness,
    {
      send: async (message) => {
        const error = failWith?.();
        if (error === undefined) sent.push(message);
        return error;
      },
    },
    log,
  );
  return { sent, logs, notifier, setJoin: (v: true | string) => (join = v) };
}

describe("systemd notifier", () => {
  test("Starting with the failing checks, then READY=1 once with the status", async () => {
    const { sent, notifier, setJoin } = fixture();
    await notifier.tick();
    expect(sent).toEqual(["STATUS=Starting: join: joining the cloud"]);
    await notifier.tick();
    expect(sent).toHaveLength(1); // unchanged: not sent again
    setJoin(true);
    await notifier.tick();
    // Every check passes, but the agent has not said it is composed: no READY yet.
    expect(sent.at(-1)).toBe("STATUS=Starting");
    let workers = 4;
    notifier.describe(() => `${workers} workers, plan 12`);
    await notifier.tick();
    expect(sent.at(-1)).toBe("READY=1\nSTATUS=Ready: 4 workers, plan 12");
    workers = 5;
    await notifier.tick();
    expect(sent.at(-1)).toBe("STATUS=Ready: 5 workers, plan 12");
    setJoin("cloud unreachable");
    await notifier.tick();
    expect(sent.at(-1)).toBe("STATUS=Not ready: join: cloud unreachable (5 workers, plan 12)");
    setJoin(true);
    await notifier.tick();
    expect(sent.filter((m) => m.includes("READY=1"))).toHaveLength(1);
  });

  test("a failing summary shows in the status instead of throwing", async () => {
    const { sent, notifier, setJoin } = fixture();
    setJoin(true);
    notifier.describe(() => {
      throw new Error("database is locked");
    });
    await notifier.tick();
    expect(sent[0]).toBe("READY=1\nSTATUS=Ready: status unknown: database is locked");
  });

  test("watchdog pings until STOPPING=1, then nothing", async () => {
    const { sent, notifier } = fixture();
    await notifier.watchdog();
    await notifier.watchdog();
    await notifier.stopping();
    await notifier.watchdog();
    await notifier.tick();
    await notifier.stopping();
    expect(sent).toEqual(["WATCHDOG=1", "WATCHDOG=1", "STOPPING=1\nSTATUS=Stopping"]);
  });

  test("a socket that refuses is warned about once, and recovery is logged", async () => {
    let error: string | undefined = "sendto /run/x: ECONNREFUSED";
    const { sent, logs, notifier } = fixture(() => error);
    await notifier.watchdog();
    await notifier.watchdog();
    error = undefined;
    await notifier.watchdog();
    const levels = logs.map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(levels.map((l) => `${l.level} ${l.msg}`)).toEqual([
      "warn cannot notify systemd",
      "debug cannot notify systemd",
      "info notifying systemd again",
    ]);
    expect(sent).toEqual(["WATCHDOG=1"]);
  });

  test("without NOTIFY_SOCKET, or with a bad one, nothing is started", () => {
    const logs: string[] = [];
    const log = createLogger({ level: "debug", format: "json", write: (l) => logs.push(l) });
    const lifecycle = new Lifecycle(log);
    expect(startSystemdNotify({ readiness: new Readiness(), lifecycle, log, env: {} }).enabled).toBe(false);
    expect(logs).toEqual([]);
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: "x", WATCHDOG_USEC: "1000000", PATH: "/bin" };
    const bad = startSystemdNotify({ readiness: new Readiness(), lifecycle, log, env });
    expect(bad.enabled).toBe(false);
    // Read once and unset, so that programs the agent starts do not inherit them.
    expect(env).toEqual({ PATH: "/bin" });
    expect(logs.join("\n")).toContain("not notifying systemd");
  });
});
