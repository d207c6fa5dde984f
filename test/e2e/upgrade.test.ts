// Agent upgrades from the cloud, end to end with compiled binaries built here: the current code
// (OLD), the same code reporting another version (NEW), and a binary that exits at start (BAD,
// test/fixtures/failing-levee.ts). Every agent runs its own copy, which the upgrade swaps.
// A cloud and 3 edges, each edge running one worker of a service with a mesh port, and a
// requester running all along (through the cloud's mesh port, and to each worker directly):
//   1. BAD: edge1 swaps, the new agent exits, the guard rolls edge1 back; the rollout stops
//      naming edge1, and edge2 and edge3 are never touched.
//   2. NEW with the cloud's copy of the binary tampered with: edge1 refuses it (sha256).
//   3. NEW with edge3 stopped: edge1 and edge2 upgrade one at a time (worker pids unchanged,
//      the requester answered throughout), edge3 is skipped, and upgraded once it is back.
//   4. NEW with --include-cloud: the cloud's own agent, last.
//   5. BAD again with edge1 run as under systemd (NOTIFY_SOCKET set, restarted whenever it exits,
//      as Restart=always does): the guard waits for the deadline, puts the old binary back, and
//      the next restart runs it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildTarget, type Target } from "../../build/build.ts";
import pkg from "../../package.json" with { type: "json" };
import type { UpgradeStatus } from "../../src/cloud/upgrade/upgrade-driver.ts";
import { buildFailingLevee } from "../fixtures/build-failing-levee.ts";
import { startAgent } from "../harness/agent.ts";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  loggedStep,
  makeTempDir,
  runLevee,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";
import { agentWorkers } from "../harness/workers.ts";

const TARGET: Target = process.arch === "arm64" ? "linux-arm64" : "linux-x64";
const [major, minor, patch] = pkg.version.split(".").map(Number) as [number, number, number];
const OLD = pkg.version;
const NEW = `${major}.${minor}.${patch + 1}`;
const BAD = `${major}.${minor}.${patch + 2}`;
const PORT = 19561;

let c: Cluster;
let bins: string;
const step = loggedStep(() => c);

/** The pids of the processes running the binary at `path` (also when it was renamed over). */
function pidsRunning(path: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const exe = readlinkSync(`/proc/${name}/exe`);
      if (exe === path || exe === `${path} (deleted)`) found.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

/** Every process running a binary under `bins` (agents started by an upgrade, guards). */
function killBinaries(): void {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/exe`).startsWith(bins)) process.kill(Number(name), "SIGKILL");
    } catch {
      // gone, or not ours
    }
  }
}

async function status(): Promise<UpgradeStatus> {
  return (await (await c.cloud.api("/api/v1/upgrades/current")).json()) as UpgradeStatus;
}

async function ctl(...args: string[]) {
  return runLevee(["ctl", "--server", c.cloud.apiUrl, "--token", c.cloud.adminToken, ...args], {
    timeoutMs: 60_000,
  });
}

/** Starts a rollout with `levee ctl upgrade --binary ARGS...` and waits until it has failed. */
async function failedRollout(binary: string, ...args: string[]): Promise<UpgradeStatus> {
  const r = await ctl("upgrade", "--binary", binary, ...args);
  expect(r.code).toBe(0);
  await waitUntil("the rollout to fail", async () => (await status()).rollout.state === "failed", 60_000);
  return status();
}

async function version(agentUrl: string): Promise<string | undefined> {
  const res = await fetch(`${agentUrl}/healthz`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as { version?: string }).version : undefined;
}

/** When edge `e` logged its upgrade's steps (the old agent's lines, then the new agent's agent.log). */
function steps(e: Cluster["edges"][0]): Record<string, string> {
  const lines = [...e.logs, ...readFileSync(join(e.dataDir, "upgrade", "agent.log"), "utf8").split("\n")];
  const at = (text: string) =>
    Date.parse(
      lines
        .filter((l) => l.includes(text))
        .at(-1)
        ?.split(" ")[0] ?? "",
    );
  const order = at("upgrade order");
  const s = (t: number) => `${((t - order) / 1000).toFixed(2)} s`;
  return {
    "downloaded, verified, swapped": s(at("agent binary swapped")),
    "old agent stopped": s(at("INFO  stopped")),
    "new agent started": s(at("starting levee edge")),
    "health gate passed": s(at("agent upgrade committed")),
  };
}

const pids = async (agentUrl: string) => (await agentWorkers(agentUrl, "who")).map((w) => w.pid);

/** Requests through the cloud's mesh port and to each worker directly, every 50 ms, counted. */
function requester(ports: Map<string, number>) {
  const counts = { mesh: { ok: 0, failed: 0 }, direct: { ok: 0, failed: 0 } };
  let running = true;
  const loop = (async () => {
    while (running) {
      const tries: Promise<void>[] = [
        fetch(`http://${c.cloud.address}:${PORT}/`, { signal: AbortSignal.timeout(3000) })
          .then((r) => void (r.ok ? counts.mesh.ok++ : counts.mesh.failed++))
          .catch(() => void counts.mesh.failed++),
      ];
      for (const [address, port] of ports)
        tries.push(
          fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(3000) })
            .then((r) => void (r.ok ? counts.direct.ok++ : counts.direct.failed++))
            .catch(() => void counts.direct.failed++),
        );
      await Promise.all(tries);
      await Bun.sleep(50);
    }
  })();
  return {
    counts,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

beforeAll(async () => {
  bins = makeTempDir("levee-upgrade-bins-");
  const started = performance.now();
  await Promise.all([
    buildTarget(TARGET, bins, "old", { outfile: join(bins, "levee-old") }),
    buildTarget(TARGET, bins, "new", { outfile: join(bins, "levee-new"), version: NEW }),
  ]);
  const bad = buildFailingLevee({ outfile: join(bins, "levee-bad"), version: BAD, target: TARGET });
  if (bad !== undefined) throw new Error(`cannot build the failing binary: ${bad}`);
  console.log(`built 3 binaries in ${Math.round(performance.now() - started)} ms`);
  for (const name of ["cloud", "edge1", "edge2", "edge3"]) {
    mkdirSync(join(bins, name));
    copyFileSync(join(bins, "levee-old"), join(bins, name, "levee"));
    Bun.spawnSync(["chmod", "755", join(bins, name, "levee")]);
  }
  c = await startCluster({
    edges: 3,
    command: (name) => [join(bins, name, "levee")],
    readyTimeoutMs: 30_000,
  });
  await applyManifest(
    c,
    httpWorkerService("who", [{ node: "edge1" }, { node: "edge2" }, { node: "edge3" }], {
      health: { http: "/health", interval: "300ms", failureThreshold: 1 },
    }).replace('"workers"', `"mesh":{"port":${PORT},"protocol":"http","fallback":"any"},"workers"`),
  );
  await waitUntil(
    "a ready worker on every edge",
    async () =>
      (await Promise.all(c.edges.map((e) => agentWorkers(e.agentUrl, "who")))).every((w) => w[0]?.ready),
    30_000,
  );
}, 120_000);

afterAll(async () => {
  if (bins) killBinaries();
  await c?.destroy();
});

describe("agent upgrades from the cloud", () => {
  test(
    "a binary that exits at start is rolled back on the first node; the rollout stops there",
    step(async () => {
      const before = await pids(c.edges[0]?.agentUrl ?? "");
      const s = await failedRollout(`${TARGET}=${join(bins, "levee-bad")}`, "--timeout", "20s");
      expect(s.rollout.reason).toContain("edge1 rolled-back");
      expect(s.rollout.reason).toContain("exited before passing its health gate");
      expect(s.nodes.map((n) => n.state)).toEqual(["rolled-back", "pending", "pending"]);
      for (const e of c.edges)
        await waitUntil(`${e.name} at ${OLD}`, async () => (await version(e.agentUrl)) === OLD, 30_000);
      expect(await pids(c.edges[0]?.agentUrl ?? "")).toEqual(before);
      // The kept binary is back in place.
      expect(readFileSync(join(bins, "edge1", "levee")).equals(readFileSync(join(bins, "levee-old")))).toBe(
        true,
      );
    }),
    120_000,
  );

  test(
    "a tampered binary is refused",
    step(async () => {
      const pushed = await ctl("artifact", "push", join(bins, "levee-new"), "--name", "levee-new");
      expect(pushed.code).toBe(0);
      const sha = pushed.stdout.trim().split("\n").at(-1) as string;
      const blob = join(c.cloud.dataDir, "artifacts", sha);
      const original = readFileSync(blob);
      const tampered = Buffer.from(original);
      tampered[tampered.length - 100] = (tampered[tampered.length - 100] ?? 0) ^ 0xff;
      writeFileSync(blob, tampered);
      try {
        const s = await failedRollout(`${TARGET}=${join(bins, "levee-new")}`);
        expect(s.rollout.reason).toContain("edge1 failed");
        expect(s.rollout.reason).toContain("wrong sha256");
        expect(await version(c.edges[0]?.agentUrl ?? "")).toBe(OLD);
      } finally {
        writeFileSync(blob, original);
      }
    }),
    120_000,
  );

  test(
    "3 edges in batches of 1, one offline meanwhile: workers keep their pids, the mesh answers, the offline one upgrades when back",
    step(async () => {
      const [edge1, edge2, edge3] = c.edges as [
        Cluster["edges"][0],
        Cluster["edges"][0],
        Cluster["edges"][0],
      ];
      const before = new Map<string, (number | null)[]>();
      const ports = new Map<string, number>();
      for (const e of c.edges) {
        const workers = await agentWorkers(e.agentUrl, "who");
        before.set(
          e.name,
          workers.map((w) => w.pid),
        );
        ports.set(e.address, workers[0]?.port as number);
      }
      await edge3.stop();
      await waitUntil("edge3 to be seen offline", async () => {
        const res = await c.cloud.api("/api/v1/nodes/edge3");
        return ((await res.json()) as { status?: { phase?: string } }).status?.phase !== "Ready";
      });
      const load = requester(ports);
      const started = performance.now();
      const r = await ctl(
        "upgrade",
        "--binary",
        `${TARGET}=${join(bins, "levee-new")}`,
        "--max-unavailable",
        "1",
      );
      expect(r.code).toBe(0);
      let firstDone: number | undefined;
      await waitUntil(
        "edge1 and edge2 upgraded, edge3 skipped",
        async () => {
          const s = await status();
          const states = s.nodes.map((n) => n.state);
          // One at a time: never two nodes in progress together.
          expect(
            states.filter((x) => !["pending", "offline", "done"].includes(x)).length,
          ).toBeLessThanOrEqual(1);
          if (firstDone === undefined && states[0] === "done") firstDone = performance.now() - started;
          return states.join() === "done,done,offline";
        },
        120_000,
      );
      console.log(
        `upgrade of one node (order, download, swap, restart, workers adopted): ${((firstDone ?? 0) / 1000).toFixed(1)} s`,
      );
      console.log(`edge1's own steps: ${JSON.stringify(steps(edge1))}`);
      expect((await status()).rollout.state).toBe("running");
      for (const e of [edge1, edge2]) {
        expect(await version(e.agentUrl)).toBe(NEW);
        expect(await pids(e.agentUrl)).toEqual(before.get(e.name) as (number | null)[]);
        expect(
          readFileSync(join(bins, e.name, "levee.previous")).equals(readFileSync(join(bins, "levee-old"))),
        ).toBe(true);
      }
      await edge3.restart();
      await waitUntil(
        "the rollout to be done",
        async () => (await status()).rollout.state === "done",
        120_000,
      );
      await waitUntil(
        "edge3 at the new version",
        async () => (await version(edge3.agentUrl)) === NEW,
        30_000,
      );
      expect(await pids(edge3.agentUrl)).toEqual(before.get("edge3") as (number | null)[]);
      await load.stop();
      console.log(`requests during the rollout: ${JSON.stringify(load.counts)}`);
      expect(load.counts.direct.failed).toBe(0);
      expect(load.counts.mesh.ok).toBeGreaterThan(50);
      // Through the cloud's mesh port too: a request sent to a node whose agent (its end of the
      // tunnel) is restarting waits for it (the tunnel dialer's restart grace).
      expect(load.counts.mesh.failed).toBe(0);
    }),
    300_000,
  );

  test(
    "the cloud's own agent only by its own command (--include-cloud), after every edge",
    step(async () => {
      const r = await ctl("upgrade", "--binary", `${TARGET}=${join(bins, "levee-new")}`, "--include-cloud");
      expect(r.code).toBe(0);
      await waitUntil(
        "the cloud at the new version",
        async () => (await version(c.cloud.agentUrl)) === NEW,
        60_000,
      );
      await waitUntil(
        "the rollout to be done",
        async () => (await status()).rollout.state === "done",
        60_000,
      );
      const s = await status();
      // The edges were at the version already; the cloud came last.
      expect(s.nodes.map((n) => [n.node, n.state, n.reason])).toEqual([
        ["edge1", "done", `already at ${NEW}`],
        ["edge2", "done", `already at ${NEW}`],
        ["edge3", "done", `already at ${NEW}`],
        ["cloud", "done", expect.stringContaining("ready with")],
      ]);
      const shown = await ctl("upgrade", "status");
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(`to ${NEW}: done`);
      const row = shown.stdout.split("\n").find((l) => l.startsWith("cloud "));
      expect(row?.split(/\s+/).slice(0, 4)).toEqual(["cloud", "done", OLD, NEW]);
    }),
    120_000,
  );

  test(
    "under systemd (emulated: NOTIFY_SOCKET set, the test restarts the agent whenever it exits): the guard rolls back at the deadline",
    step(async () => {
      const edge1 = c.edges[0] as Cluster["edges"][0];
      // edge1 runs as the guard started it: stop that one, then run it as systemd would.
      for (const pid of pidsRunning(join(bins, "edge1", "levee"))) process.kill(pid, "SIGTERM");
      await waitUntil("edge1 stopped", () => pidsRunning(join(bins, "edge1", "levee")).length === 0);
      const unit = await startAgent({
        name: "edge1",
        mode: "edge",
        address: edge1.address,
        dataDir: edge1.dataDir,
        args: ["--cloud", c.cloud.apiUrl],
        command: [join(bins, "edge1", "levee")],
        env: { NOTIFY_SOCKET: join(edge1.dataDir, "no-systemd-here.sock") },
        readyTimeoutMs: 30_000,
      });
      let starts = 1;
      let running = true;
      const restartAlways = (async () => {
        while (running) {
          await unit.process.proc.exited;
          if (!running) return;
          await Bun.sleep(300);
          starts++;
          await unit.restart({ waitReady: false });
        }
      })();
      try {
        const before = await pids(edge1.agentUrl);
        const s = await failedRollout(`${TARGET}=${join(bins, "levee-bad")}`, "--timeout", "5s");
        expect(s.rollout.reason).toContain(`edge1 rolled-back: the new agent ${BAD} was not ready`);
        expect(s.nodes.map((n) => n.state)).toEqual(["rolled-back", "pending", "pending"]);
        await waitUntil(
          "edge1 back at its version",
          async () => (await version(edge1.agentUrl)) === NEW,
          30_000,
        );
        expect(await pids(edge1.agentUrl)).toEqual(before);
        // The bad binary was started (and exited) again and again until the guard put the old one back.
        expect(starts).toBeGreaterThan(3);
      } finally {
        running = false;
        await unit.stop();
        await restartAlways;
      }
    }),
    120_000,
  );
});
