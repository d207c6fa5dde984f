// kill -9 at random points: the cloud or an edge is killed while applies arrive continuously (so
// during applies, plan delivery and application, worker starts and status reports), then started
// again on its data dir. After every crash its SQLite passes `PRAGMA integrity_check`; at the end
// nothing the API acknowledged is lost (every node runs the last acknowledged generation), every
// planned worker runs exactly once (no duplicate, no orphan of a service no longer planned), and the
// workers whose spec never changed kept their pids through every agent crash (adopted, not
// restarted). Short profile in `npm run test:faults` (LEVEE_FAULT_CRASHES, default 12); the long
// one: `LEVEE_FAULT_CRASHES=200 bun test --timeout 3600000 ./test/faults/crashes.fault.ts`.
// LEVEE_FAULT_LOG_DIR=DIR keeps every agent's log of the run there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Cluster, startCluster, type TestAgent } from "../harness/cluster.ts";
import { check, type Observations } from "./invariants.ts";
import { applyAcknowledged, integrity, seededRandom, workerProcesses } from "./observe.ts";

const CRASHES = Number(process.env.LEVEE_FAULT_CRASHES ?? 12);
const NODES = ["cloud", "edge1", "edge2"];

describe("kill -9 at random points", () => {
  let c: Cluster;
  const roots = () => c.all().map((a) => a.dataDir);
  const service = (name: string, env: Record<string, string> = {}) => ({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: {
      template: { command: ["sh", "-c", "exec sleep 100000"], env },
      workers: NODES.map((node) => ({ node })),
    },
  });
  const apply = (object: unknown) => applyAcknowledged(c.cloud.api, object, 5000);

  beforeAll(async () => {
    c = await startCluster({ edges: 2, readyTimeoutMs: 30_000 });
    expect(await apply(service("steady"))).toBe(true);
    expect(await apply(service("bump", { MARK: "0" }))).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await c?.destroy();
  });

  test(`${CRASHES} crashes: integrity, nothing acknowledged lost, no duplicate or orphan worker`, async () => {
    const seedValue = Number(process.env.LEVEE_FAULT_SEED ?? Date.now() % 100000);
    const rand = seededRandom(seedValue);
    const steady = async () => {
      const pids: Record<string, number> = {};
      for (const [key, list] of workerProcesses(roots(), "MARK"))
        if (key.includes("/steady/")) pids[key] = list[0] as number;
      return pids;
    };
    const deadline = Date.now() + 30_000;
    while (Object.keys(await steady()).length < NODES.length && Date.now() < deadline) await Bun.sleep(200);
    const start = await steady();
    expect(Object.keys(start)).toHaveLength(NODES.length);

    const acknowledged: number[] = [0];
    const integrityFailures: string[] = [];
    let running = true;
    const applies = (async () => {
      let mark = 1;
      while (running) {
        if (await apply(service("bump", { MARK: String(mark) }))) acknowledged.push(mark);
        mark++;
        await Bun.sleep(150 + rand() * 300);
      }
    })();
    for (let i = 0; i < CRASHES; i++) {
      const victim = c.all()[Math.floor(rand() * NODES.length)] as TestAgent;
      await Bun.sleep(rand() * 800);
      victim.logs.push(`=== test: SIGKILL (crash ${i}) at ${new Date().toISOString()} ===`);
      victim.kill("SIGKILL");
      await victim.process.exited;
      const result = integrity(victim.dataDir);
      if (result !== "ok") integrityFailures.push(`${victim.name} after crash ${i}: ${result}`);
      await victim.restart({ waitReady: true });
    }
    running = false;
    await applies;

    const last = acknowledged.at(-1) as number;
    const convergeBy = Date.now() + 60_000;
    const final = () => {
      const processes = workerProcesses(roots(), "MARK");
      const bump = [...processes.keys()].filter((k) => k.includes("/bump/"));
      return {
        processes,
        done: NODES.every((n) => bump.includes(`${n}/bump/0/${last}`)) && bump.length === NODES.length,
      };
    };
    while (!final().done && Date.now() < convergeBy) await Bun.sleep(250);
    const { processes } = final();
    const o: Observations = {
      acknowledged,
      finalGeneration: Object.fromEntries(
        NODES.map((n) => {
          const key = [...processes.keys()].find((k) => k.startsWith(`${n}/bump/0/`));
          return [n, key ? Number(key.split("/")[3]) : undefined];
        }),
      ),
      processScans: [...processes].map(([key, pids]) => {
        const [node, svc, index] = key.split("/");
        return { at: Date.now(), node: node ?? "", worker: `${svc}/${index}`, count: pids.length };
      }),
      steadyPids: { start, end: await steady() },
      requests: [],
      cutWindows: {},
      convergenceMs: [],
    };
    const verdict = check(o, 0);
    const orphans = [...processes.keys()].filter((k) => !/\/(steady|bump)\//.test(k));
    const staleBumps = [...processes.keys()].filter((k) => k.includes("/bump/") && !k.endsWith(`/${last}`));
    process.stderr.write(
      `crashes: ${JSON.stringify({ seed: seedValue, crashes: CRASHES, acknowledged: acknowledged.length - 1, last })}\n`,
    );
    // Every agent's output across its restarts, to read what happened (LEVEE_FAULT_LOG_DIR).
    const logDir = process.env.LEVEE_FAULT_LOG_DIR;
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      for (const a of c.all()) writeFileSync(join(logDir, `${a.name}.log`), `${a.logs.join("\n")}\n`);
    }
    // All at once, so that a failing run shows everything it broke.
    expect({
      integrityFailures,
      lostUpdates: verdict.lostUpdates,
      duplicates: verdict.duplicates,
      restarted: verdict.restartedByReconnect,
      orphans,
      staleBumps,
    }).toEqual({
      integrityFailures: [],
      lostUpdates: [],
      duplicates: [],
      restarted: [],
      orphans: [],
      staleBumps: [],
    });
  }, 3_600_000);
});
