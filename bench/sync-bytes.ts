// What sync costs on the wire: a real `levee cloud` and edges (test/harness), each edge running
// one worker, left idle for a measured window and then given one plan change. Reads every edge's
// levee_sync_bytes_total{direction,kind} (its agent API, so reading costs no MQTT) and the cloud's
// levee_sync_node_bytes_total{node,direction} (the broker's sockets) before and after. Prints
// Markdown tables:
//   - idle: bytes per node over the window, extrapolated to a day, by kind;
//   - one plan change (one Service edited: a new value of one env var): bytes the change cost
//     each node, down (cloud → node) and up, by kind, against the changed manifest's size.
//
//   ./node_modules/.bin/bun bench/sync-bytes.ts [--edges 2] [--idle-seconds 120] [--changes 3]
//
// Bytes are MQTT packets as encoded (src/protocol/sync-bytes.ts): fixed header, topic, packet id,
// payload; no TCP/IP or TLS framing. The broker's per-node count is the socket's, to cross-check.

import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  startCluster,
  waitUntil,
} from "../test/harness/cluster.ts";
import { sample } from "../test/harness/prometheus-text.ts";

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const EDGES = flag("--edges", 2);
const IDLE_SECONDS = flag("--idle-seconds", 120);
const CHANGES = flag("--changes", 3);

type Kinds = Map<string, number>;
interface NodeBytes {
  /** direction "sent"/"received" (the agent's view) → kind → bytes */
  sent: Kinds;
  received: Kinds;
  /** The broker's count for this node: up (from it) and down (to it). */
  brokerUp: number;
  brokerDown: number;
}

const SERIES =
  /^levee_sync_bytes_total\{direction="(sent|received)",kind="([a-z-]+)"\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm;

async function readNode(name: string, agentUrl: string, cloudText: string): Promise<NodeBytes> {
  const text = await (await fetch(`${agentUrl}/metrics`)).text();
  const out: NodeBytes = { sent: new Map(), received: new Map(), brokerUp: 0, brokerDown: 0 };
  for (const m of text.matchAll(SERIES)) out[m[1] as "sent" | "received"].set(m[2] as string, Number(m[3]));
  out.brokerUp = sample(cloudText, `levee_sync_node_bytes_total{node="${name}",direction="up"}`) ?? 0;
  out.brokerDown = sample(cloudText, `levee_sync_node_bytes_total{node="${name}",direction="down"}`) ?? 0;
  return out;
}

async function readAll(c: Cluster): Promise<Map<string, NodeBytes>> {
  const cloudText = await (await c.cloud.api("/metrics")).text();
  const all = new Map<string, NodeBytes>();
  for (const e of c.edges) all.set(e.name, await readNode(e.name, e.agentUrl, cloudText));
  return all;
}

function diff(a: Kinds, b: Kinds): Kinds {
  const out = new Map<string, number>();
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

const total = (k: Kinds) => [...k.values()].reduce((s, v) => s + v, 0);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const kinds = (k: Kinds) =>
  [...k]
    .sort((x, y) => y[1] - x[1])
    .map(([kind, v]) => `${kind} ${fmt(v)}`)
    .join(", ");

/** Every worker ready and running at least `generation` (as its node reported). */
async function workersAt(c: Cluster, generation: number): Promise<boolean> {
  const res = await c.cloud.api("/api/v1/workers?service=bench");
  const { items } = (await res.json()) as { items: { ready: boolean; generation?: number }[] };
  return items.length === EDGES && items.every((w) => w.ready && (w.generation ?? 0) >= generation);
}

async function generationNow(c: Cluster): Promise<number> {
  const res = await c.cloud.api("/api/v1/workers?service=bench");
  const { items } = (await res.json()) as { items: { generation?: number }[] };
  return Math.max(0, ...items.map((w) => w.generation ?? 0));
}

function manifest(c: Cluster, value: string): string {
  return httpWorkerService(
    "bench",
    c.edges.map((e) => ({ node: e.name, replicas: 1 })),
    { env: { BENCH_MARK: value } },
  );
}

const c = await startCluster({ edges: EDGES, readyTimeoutMs: 30_000 });
try {
  await applyManifest(c, manifest(c, "v0"));
  await waitUntil("every worker ready", () => workersAt(c, 0), 60_000);
  // Let status reports, acks and the catalog settle before measuring.
  await Bun.sleep(15_000);

  const before = await readAll(c);
  const t0 = performance.now();
  await Bun.sleep(IDLE_SECONDS * 1000);
  const after = await readAll(c);
  const seconds = (performance.now() - t0) / 1000;
  const day = 86_400 / seconds;
  console.log(`\n### Idle: ${EDGES} edges, ${seconds.toFixed(0)} s measured, extrapolated to a day\n`);
  console.log(
    "| node | sent/day | received/day | total/day | broker's count/day | by kind (window, bytes) |",
  );
  console.log("|---|---:|---:|---:|---:|---|");
  for (const [name, b] of before) {
    const a = after.get(name) as NodeBytes;
    const sent = diff(b.sent, a.sent);
    const received = diff(b.received, a.received);
    const broker = a.brokerUp - b.brokerUp + a.brokerDown - b.brokerDown;
    const all = new Map([...sent].map(([k, v]) => [`↑${k}`, v]));
    for (const [k, v] of received) all.set(`↓${k}`, v);
    console.log(
      `| ${name} | ${fmt(total(sent) * day)} | ${fmt(total(received) * day)} | ${fmt((total(sent) + total(received)) * day)} | ${fmt(broker * day)} | ${kinds(all)} |`,
    );
  }

  console.log(`\n### One plan change: env BENCH_MARK edited in one Service (${CHANGES} changes)\n`);
  console.log(
    "| change | manifest bytes | node | plan message (down) | plan / manifest | all down | all up | all down / manifest | by kind |",
  );
  console.log("|---|---:|---|---:|---:|---:|---:|---:|---|");
  for (let i = 1; i <= CHANGES; i++) {
    const value = `v${i}-${"x".repeat(8)}`;
    const body = manifest(c, value);
    const generation = (await generationNow(c)) + 1;
    const start = await readAll(c);
    await applyManifest(c, body);
    await waitUntil(`every worker at generation ${generation}`, () => workersAt(c, generation), 60_000);
    // The worker's status and its ack settle.
    await Bun.sleep(2_000);
    const end = await readAll(c);
    for (const [name, s] of start) {
      const e = end.get(name) as NodeBytes;
      const received = diff(s.received, e.received);
      const sent = diff(s.sent, e.sent);
      // Heartbeats in the window are idle cost, not the change's.
      received.delete("puback");
      for (const k of ["heartbeat", "keepalive"]) {
        received.delete(k);
        sent.delete(k);
      }
      const all = new Map([...sent].map(([k, v]) => [`↑${k}`, v]));
      for (const [k, v] of received) all.set(`↓${k}`, v);
      const size = Buffer.byteLength(body);
      const plan = (received.get("plan") ?? 0) + (received.get("plan-packed") ?? 0);
      console.log(
        `| ${i} | ${fmt(size)} | ${name} | ${fmt(plan)} | ${(plan / size).toFixed(2)} | ${fmt(total(received))} | ${fmt(total(sent))} | ${(total(received) / size).toFixed(2)} | ${kinds(all)} |`,
      );
    }
  }
} catch (err) {
  c.printLogs();
  throw err;
} finally {
  await c.destroy();
}
