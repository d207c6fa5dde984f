// kill -9 aimed at the moments that move bytes rather than state: an edge downloading an artifact
// (and the cloud serving it), log streams flowing from edges through the cloud, and mesh traffic
// relayed by the cloud (every edge is --mesh-relay-only), including a second kill while the
// restarted agent is still connecting and shaking hands with the relay. After every kill the
// victim's SQLite passes `PRAGMA integrity_check`; a log stream whose node or cloud died ends
// (no client hangs); at the end every node is Ready on its latest plan, each edge runs the last
// applied artifact (its cache holds exactly that verified file, no partial download), every
// worker runs once (no duplicate, no orphan), the workers whose spec never changed kept their
// pids through every crash, and relayed requests and new log streams work again.
// Short profile in `npm run test:faults` (LEVEE_FAULT_POINTS, default 12); the long one:
// `LEVEE_FAULT_POINTS=210 bun test --timeout 3600000 ./test/faults/crash-points.fault.ts`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BUN,
  type Cluster,
  makeTempDir,
  runLevee,
  startCluster,
  type TestAgent,
} from "../harness/cluster.ts";
import { applyAcknowledged, integrity, seededRandom, workerProcesses } from "./observe.ts";

const POINTS = Number(process.env.LEVEE_FAULT_POINTS ?? 12);
const EDGES = ["edge1", "edge2"];
const PORT = 19700;
const ARTIFACT_BYTES = 32 * 1024 * 1024;

type Kind = "artifact" | "logs" | "relay";

/** Reads a follow stream until it ends or `stop` is aborted; counts the lines it got. */
function follow(url: string, token: string) {
  const stop = new AbortController();
  const state = { lines: 0, ended: false, status: 0, error: "" };
  const done = (async () => {
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
      state.status = res.status;
      if (!res.body) return;
      const decoder = new TextDecoder();
      for await (const chunk of res.body) state.lines += decoder.decode(chunk).split("\n").length - 1;
    } catch (err) {
      // aborted by the test, or broken by a kill: both end the stream
      state.error = String(err);
    } finally {
      state.ended = true;
    }
  })();
  return { state, stop, done };
}

describe("kill -9 during downloads, log streams and relay handshakes", () => {
  let c: Cluster;
  const artifacts: { name: string; sha256: string }[] = [];
  const roots = () => c.all().map((a) => a.dataDir);
  const agent = (name: string) => c.all().find((a) => a.name === name) as TestAgent;
  const service = (name: string, template: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: { template, workers: EDGES.map((node) => ({ node })), ...extra },
  });
  const model = (a: { name: string; sha256: string }) =>
    service("model", {
      command: ["sh", "-c", "exec sleep 100000"],
      env: { MARK: a.sha256 },
      mounts: [{ artifact: { ...a, size: ARTIFACT_BYTES }, envName: "MODEL_PATH" }],
    });
  const apply = (object: unknown) => applyAcknowledged(c.cloud.api, object, 10_000);
  const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await Promise.resolve(check()).catch(() => false)) return;
      await Bun.sleep(200);
    }
    throw new Error(
      `timed out waiting for ${what}\n${c
        .all()
        .flatMap((a) => a.logs.slice(-30))
        .join("\n")}`,
    );
  };
  // edge1's forward proxy → the tunnel through the cloud's relay → edge2's web worker.
  const relayed = async (): Promise<boolean> => {
    const res = await fetch(`http://${agent("edge1").address}:7403/`, {
      headers: { "x-levee-node": "edge2", host: `web:${PORT}`, connection: "close" },
      signal: AbortSignal.timeout(2000),
    }).catch(() => undefined);
    return res?.status === 200 && ((await res.json()) as { node?: string }).node === "edge2";
  };
  const converged = async (): Promise<boolean> => {
    const res = await c.cloud.api("/api/v1/nodes").catch(() => undefined);
    if (!res?.ok) return false;
    const nodes = (await res.json()) as {
      items: { status: { phase: string; plan: { desiredRevision: number; appliedRevision: number } } }[];
    };
    const ready = nodes.items.every(
      (n) => n.status.phase === "Ready" && n.status.plan.appliedRevision === n.status.plan.desiredRevision,
    );
    // A restarted cloud shows its nodes as they were until they are silent too long; the edges'
    // own /readyz says whether they are connected again.
    const connected = await Promise.all(
      c.edges.map(async (e) => (await fetch(`${e.agentUrl}/readyz`).catch(() => undefined))?.status === 200),
    );
    return ready && connected.every(Boolean);
  };

  beforeAll(async () => {
    c = await startCluster({ edges: 2, edgeArgs: ["--mesh-relay-only"], readyTimeoutMs: 30_000 });
    const dir = makeTempDir("levee-crash-artifacts-");
    for (const name of ["model-a.bin", "model-b.bin"]) {
      const bytes = randomBytes(ARTIFACT_BYTES);
      writeFileSync(join(dir, name), bytes);
      const pushed = await runLevee(
        [
          "ctl",
          "artifact",
          "push",
          join(dir, name),
          "--server",
          c.cloud.apiUrl,
          "--token",
          c.cloud.adminToken,
        ],
        { timeoutMs: 60_000 },
      );
      expect(pushed.code, pushed.stderr).toBe(0);
      artifacts.push({ name, sha256: createHash("sha256").update(bytes).digest("hex") });
    }
    expect(await apply(model(artifacts[0] as { name: string; sha256: string }))).toBe(true);
    expect(
      await apply(
        service("talker", {
          command: [BUN, "-e", "let i = 0; setInterval(() => console.log('line', i++), 100)"],
        }),
      ),
    ).toBe(true);
    expect(
      await apply({
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: {
          template: { command: [BUN, join(import.meta.dir, "../fixtures/http-worker.ts")], port: "auto" },
          workers: [{ node: "edge2" }],
          mesh: { port: PORT, protocol: "http" },
        },
      }),
    ).toBe(true);
    await until("every node Ready on its plan", converged);
    await until("a request relayed to web", relayed);
  }, 180_000);

  afterAll(async () => {
    await c?.destroy();
  });

  test(`${POINTS} kills during downloads, log streams and relay handshakes: the invariants hold`, async () => {
    const seed = Number(process.env.LEVEE_FAULT_SEED ?? Date.now() % 100000);
    const rand = seededRandom(seed);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)] as T;
    const unchanged = () => {
      const pids: Record<string, number[]> = {};
      for (const [key, list] of workerProcesses(roots())) if (!key.includes("/model/")) pids[key] = list;
      return pids;
    };
    await until("talker and web workers running", () => Object.keys(unchanged()).length === 3);
    const start = unchanged();

    const problems: string[] = [];
    const kills: Record<string, number> = {};
    let current = 0;
    let kill = 0;
    const crash = async (victim: TestAgent, why: string) => {
      victim.kill("SIGKILL");
      await victim.process.exited;
      kill++;
      kills[why] = (kills[why] ?? 0) + 1;
      process.stderr.write(`kill ${kill}: ${victim.name} (${why})\n`);
      const result = integrity(victim.dataDir);
      if (result !== "ok") problems.push(`${victim.name} after kill ${kill} (${why}): ${result}`);
    };

    for (let i = 0; kill < POINTS; i++) {
      const kind = (["artifact", "logs", "relay"] as const)[i % 3] as Kind;
      const victim = agent(pick(["cloud", ...EDGES]));
      if (kind === "artifact") {
        // A new artifact for every edge: the kill lands in plan delivery, the download or the start.
        current = 1 - current;
        if (!(await apply(model(artifacts[current] as { name: string; sha256: string }))))
          problems.push(`apply of artifact ${current} refused`);
        await Bun.sleep(rand() * 600);
        await crash(victim, `artifact/${victim.mode}`);
        await victim.restart({ waitReady: true });
      } else if (kind === "logs") {
        // Logs are read only from a node the cloud sees Ready (a restarted cloud needs a moment).
        await until("every node Ready before the log streams", converged);
        const streams = EDGES.map((node) =>
          follow(`${c.cloud.apiUrl}/api/v1/logs/talker?node=${node}&follow=true&tail=1`, c.cloud.adminToken),
        );
        await until("log lines flowing", () => streams.every((s) => s.state.lines > 0), 20_000).catch(
          (err) => {
            throw new Error(`${JSON.stringify(streams.map((s) => s.state))} ${err}`);
          },
        );
        await Bun.sleep(rand() * 500);
        await crash(victim, `logs/${victim.mode}`);
        // The streams whose source died end; none hangs.
        const dead = victim.mode === "cloud" ? streams : [streams[EDGES.indexOf(victim.name)]];
        await until(
          `the log streams broken by killing ${victim.name} end`,
          () => dead.every((s) => s?.state.ended),
          20_000,
        ).catch(() => problems.push(`a log stream outlived the kill of ${victim.name} (kill ${kill})`));
        for (const s of streams) s.stop.abort();
        await Promise.all(streams.map((s) => s.done));
        await victim.restart({ waitReady: true });
      } else {
        // Relayed traffic, then the victim killed twice: once while requests flow, once while the
        // restarted agent is still connecting (MQTT, catalog, the tunnel through the relay).
        let flowing = true;
        const traffic = (async () => {
          while (flowing) await relayed();
        })();
        await Bun.sleep(rand() * 500);
        await crash(victim, `relay/${victim.mode}`);
        await victim.restart({ waitReady: false });
        await Bun.sleep(100 + rand() * 900);
        if (kill < POINTS) {
          await crash(victim, `relay-handshake/${victim.mode}`);
          await victim.restart({ waitReady: false });
        }
        await until(
          `${victim.name} ready after its kill`,
          async () => (await fetch(`${victim.agentUrl}/readyz`)).ok,
          30_000,
        );
        flowing = false;
        await traffic;
      }
    }

    await until(
      "every node Ready on its latest plan, relayed requests answered",
      async () => (await converged()) && (await relayed()),
    );
    const last = artifacts[current] as { sha256: string };
    await until("the last artifact everywhere", () =>
      EDGES.every((node) => workerProcesses(roots(), "MARK").has(`${node}/model/0/${last.sha256}`)),
    );
    for (const edge of c.edges) {
      const cache = readdirSync(join(edge.dataDir, "cache", "artifacts"));
      if (cache.join() !== last.sha256)
        problems.push(`${edge.name}'s artifact cache holds ${cache.join(", ")}`);
      const bytes = await Bun.file(join(edge.dataDir, "cache", "artifacts", last.sha256)).bytes();
      if (createHash("sha256").update(bytes).digest("hex") !== last.sha256)
        problems.push(`${edge.name}'s artifact is corrupt`);
    }
    const processes = workerProcesses(roots(), "MARK");
    const duplicates = [...processes].filter(([, pids]) => pids.length > 1).map(([key]) => key);
    const unexpected = [...processes.keys()].filter(
      (k) => !/\/(talker|web)\/0\/$/.test(k) && !k.endsWith(`/model/0/${last.sha256}`),
    );
    // New log streams work again.
    for (const node of EDGES) {
      const s = follow(
        `${c.cloud.apiUrl}/api/v1/logs/talker?node=${node}&follow=true&tail=1`,
        c.cloud.adminToken,
      );
      await until(`a new log stream from ${node}`, () => s.state.lines > 0, 20_000).catch(() =>
        problems.push(`no log line from ${node} after the kills`),
      );
      s.stop.abort();
      await s.done;
    }
    process.stderr.write(`crash-points: ${JSON.stringify({ seed, kills, total: kill })}\n`);
    expect({ problems, duplicates, unexpected, restarted: unchanged() }).toEqual({
      problems: [],
      duplicates: [],
      unexpected: [],
      restarted: start,
    });
  }, 3_600_000);
});
