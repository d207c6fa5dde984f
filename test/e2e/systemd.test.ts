// levee under systemd, with the test in systemd's place: NOTIFY_SOCKET is a datagram socket the
// test owns, WATCHDOG_USEC is set, JOURNAL_STREAM names the file the agent's stderr goes to.
// READY=1 arrives only once /readyz answers 200 (an edge whose cloud is down keeps saying why it
// is starting), WATCHDOG=1 keeps arriving, the STATUS= line tells workers and plan (and the
// cloud's nodes), STOPPING=1 comes at a clean stop, and journal lines carry their priority.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { requestJoinToken, waitReady } from "../../src/cli/agent-launcher.ts";
import { startAgent } from "../harness/agent.ts";
import {
  allocateSubnet,
  type Cluster,
  cleanEnv,
  leveeCommand,
  makeTempDir,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";
import { bindNotifySocket, type NotifySocket, PYTHON3 } from "../harness/notify-socket.ts";

const sockets: NotifySocket[] = [];
let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.destroy();
  for (const s of sockets) s.close();
});

/** Polls /readyz until stopped, keeping when each request was sent and what it answered. */
function watchReadyz(url: string) {
  const answers: { sentAt: number; status: number }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const sentAt = performance.now();
      const status = await fetch(url, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.status)
        .catch(() => 0);
      answers.push({ sentAt, status });
      await Bun.sleep(20);
    }
  })();
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const notifyEnv = (socket: NotifySocket) => ({
  NOTIFY_SOCKET: socket.address,
  WATCHDOG_USEC: "400000",
  WATCHDOG_PID: "",
  JOURNAL_STREAM: "",
});

describe.skipIf(!PYTHON3)("systemd notification", () => {
  test("an edge: Starting while its cloud is down, READY=1 after /readyz is 200, watchdog, STOPPING=1", async () => {
    cluster = await startCluster({ edges: 0 });
    const c = cluster;
    const token = await requestJoinToken(c.cloud.apiUrl, c.cloud.adminToken, 1);
    // The cloud goes away first: the edge cannot join, so it cannot be ready.
    await c.cloud.stop();
    const socket = await bindNotifySocket(makeTempDir("levee-notify-"));
    sockets.push(socket);
    const edge = await startAgent({
      name: "edge1",
      mode: "edge",
      address: `${c.subnet}.11`,
      dataDir: join(makeTempDir(), "edge1"),
      args: ["--cloud", c.cloud.apiUrl, "--token", token],
      env: notifyEnv(socket),
      readyTimeoutMs: 20_000,
      wait: false,
    });
    const readyz = watchReadyz(`${edge.agentUrl}/readyz`);
    try {
      await waitUntil("a Starting status naming the join", () =>
        socket.withField("STATUS").some((m) => /STATUS=Starting: .*join: /.test(m.text)),
      );
      await waitUntil("watchdog pings while starting", () => socket.withField("WATCHDOG").length >= 3, 5000);
      expect(socket.withField("READY")).toEqual([]);

      await c.cloud.restart();
      await waitReady(edge.process, 30_000);
      await waitUntil("READY=1", () => socket.withField("READY").length === 1, 10_000);
      const ready = socket.withField("READY")[0] as { at: number; text: string };
      expect(ready.text).toMatch(
        /^READY=1\nSTATUS=Ready: no workers, plan \d+$|^READY=1\nSTATUS=Ready: no workers, no plan yet$/,
      );
      // /readyz said 503 before; every request sent after READY=1 was answered 200.
      await Bun.sleep(300);
      await readyz.stop();
      expect(readyz.answers.some((a) => a.status === 503 && a.sentAt < ready.at)).toBe(true);
      const after = readyz.answers.filter((a) => a.sentAt >= ready.at);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((a) => a.status !== 200)).toEqual([]);

      // The watchdog keeps going at about half of WATCHDOG_USEC (400 ms → every 200 ms).
      const pings = socket.withField("WATCHDOG").length;
      await Bun.sleep(1000);
      expect(socket.withField("WATCHDOG").length - pings).toBeGreaterThanOrEqual(3);

      expect(await edge.stop()).toBe(0);
      await waitUntil("STOPPING=1", () => socket.withField("STOPPING").length === 1, 5000);
      expect(socket.withField("STOPPING")[0]?.text).toBe("STOPPING=1\nSTATUS=Stopping");
      // Nothing after STOPPING=1.
      expect(socket.messages.at(-1)?.text).toBe("STOPPING=1\nSTATUS=Stopping");
    } catch (err) {
      await readyz.stop();
      process.stderr.write(`----- edge1 -----\n${edge.logs.join("\n")}\n`);
      process.stderr.write(`----- notify -----\n${socket.messages.map((m) => m.text).join("\n--\n")}\n`);
      throw err;
    }
  }, 60_000);

  test("a cloud: READY=1 with the nodes in its status, on an abstract socket", async () => {
    const socket = await bindNotifySocket(makeTempDir("levee-notify-"), true);
    sockets.push(socket);
    const address = `${allocateSubnet()}.10`;
    const cloud = await startAgent({
      name: "cloud",
      mode: "cloud",
      address,
      dataDir: join(makeTempDir(), "cloud"),
      args: [],
      env: notifyEnv(socket),
      readyTimeoutMs: 15_000,
    });
    try {
      await waitUntil("READY=1", () => socket.withField("READY").length === 1, 10_000);
      expect(socket.withField("READY")[0]?.text).toMatch(
        /^READY=1\nSTATUS=Ready: nodes 1\/1 Ready; this node: no workers, (plan \d+|no plan yet)$/,
      );
      expect((await fetch(`http://${address}:7401/readyz`)).status).toBe(200);
      await waitUntil("watchdog pings", () => socket.withField("WATCHDOG").length >= 3, 5000);
    } finally {
      await cloud.stop();
    }
  }, 30_000);
});

test("journal priorities: with JOURNAL_STREAM naming its stderr, each line starts with <N> of its level", async () => {
  const dir = makeTempDir("levee-journal-");
  let runs = 0;
  /**
   * Runs an agent until its log shows `until`, stderr to a file, JOURNAL_STREAM naming that file
   * ("match"), another file ("other") or nothing ("none"). An edge whose cloud does not answer
   * warns that it retries; a cloud logs debug lines as its own node gets its plan.
   */
  const run = async (mode: "cloud" | "edge", journal: "match" | "other" | "none", until: string) => {
    const n = ++runs;
    const path = join(dir, `stderr-${n}`);
    const fd = openSync(path, "w");
    const st = fstatSync(fd, { bigint: true });
    const otherFd = openSync(join(dir, `other-${n}`), "w");
    const other = fstatSync(otherFd, { bigint: true });
    closeSync(otherFd);
    const stream =
      journal === "match" ? `${st.dev}:${st.ino}` : journal === "other" ? `${other.dev}:${other.ino}` : "";
    const address = `${allocateSubnet()}.${mode === "cloud" ? 10 : 11}`;
    const proc = Bun.spawn(
      [
        ...leveeCommand(),
        mode,
        ...(mode === "edge" ? ["--cloud", `http://${address}:9`, "--token", "lvjoin_x"] : []),
        "--node-name",
        "n1",
        "--bind-address",
        address,
        "--data-dir",
        join(dir, `data-${n}`),
        "--log-format",
        "text",
        "--log-level",
        "debug",
      ],
      {
        env: { ...process.env, ...cleanEnv(), JOURNAL_STREAM: stream, NOTIFY_SOCKET: "" },
        stdin: "ignore",
        stdout: "ignore",
        stderr: fd,
      },
    );
    closeSync(fd);
    try {
      await waitUntil(`"${until}" in the log`, () => readFileSync(path, "utf8").includes(until), 15_000);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  };

  const lines = [
    ...(await run("edge", "match", "cannot join yet")),
    ...(await run("cloud", "match", "plan acknowledged")),
  ];
  const priority: Record<string, string> = { ERROR: "<3>", WARN: "<4>", INFO: "<6>", DEBUG: "<7>" };
  const seen = new Set<string>();
  for (const line of lines) {
    const m = /^(<\d>)\S+ (ERROR|WARN|INFO|DEBUG) /.exec(line);
    expect(m, line).not.toBeNull();
    expect(m?.[1], line).toBe(priority[m?.[2] as string]);
    seen.add(m?.[2] as string);
  }
  expect([...seen].sort()).toEqual(["DEBUG", "INFO", "WARN"]);
  // Not the journal: the lines are as they always were.
  for (const journal of ["other", "none"] as const)
    for (const line of await run("edge", journal, "cannot join yet"))
      expect(line, line).toMatch(/^\d{4}-\d\d-\d\dT\S+ (ERROR|WARN|INFO|DEBUG) /);
}, 60_000);
