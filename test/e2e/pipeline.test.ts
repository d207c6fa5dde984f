// The Dayu-like pipeline of examples/dayu-pipeline on a real cluster: a cloud
// and 3 edges, the native manifest applied, 60 s of video chunks. Every generated task reaches the
// distributor (exactly once after dedup by task id), byte-exact, and no request is served on a node
// other than the one it was addressed to. Mid-run the processor moves from edge2 to edge3 by
// applying a changed manifest: the scheduler's candidates follow the catalog, tasks reach edge3 once
// its worker is ready, edge2 serves none after its worker stopped (its service port answers 503
// naming service and node), and no task is lost: a controller whose processor went away schedules
// the task again (at least once; the distributor counts duplicates and stores each task once).
// The JointMultiEdgeService form (pipeline-jmes.yaml, run through its ImageMap as processes) makes
// the same system: what `levee ctl convert` prints and what the cloud stores when it is applied
// match the native Services (nodes, mesh ports, code, settings, mounts), and its tasks flow on the
// addressed nodes, byte-exact.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { WorkerView } from "../../src/cloud/workers-view.ts";
import { loadDocuments } from "../../src/manifest/documents.ts";
import { parseManifests } from "../../src/manifest/manifest.ts";
import { resolveWorkerTemplate, type ServiceSpec } from "../../src/manifest/service.ts";
import {
  applyManifest,
  type Cluster,
  REPO_ROOT,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";

const DIR = join(REPO_ROOT, "examples/dayu-pipeline");
const MANIFEST = readFileSync(join(DIR, "pipeline.yaml"), "utf8");
const JMES_MANIFEST = readFileSync(join(DIR, "pipeline-jmes.yaml"), "utf8");
const RUN_MS = 60_000;
const MOVE_AT_MS = 25_000;
const DISTRIBUTOR_PORT = 30903;
const PROCESSOR_PORT = 30901;

type Worker = WorkerView;

interface GeneratorStats {
  source: string;
  generated: number;
  completed: number;
  failed: number;
  retries: number;
  inFlight: number;
  queued: number;
}

interface Result {
  taskId: string;
  source: string;
  node: string;
  addressedNode: string | null;
  transfer: "temp" | "upload";
  attempt: number;
  timestamps: Record<
    "generated" | "received" | "scheduled" | "arrived" | "processed" | "distributed",
    number
  >;
}

interface Stats {
  tasks: { received: number; duplicates: number; perSecond: number };
  latencyMs: Record<string, { p50: number | null; p99: number | null }>;
  ranOn: Record<string, number>;
  placement: Record<string, number>;
  transfers: Record<string, number>;
  generators: Record<string, { generated: number; received: number; missing: number; missingIds: string[] }>;
  byteMismatches: number;
  violations: number;
  violationSamples: unknown[];
  resources: Record<string, unknown>;
}

/** The manifest's objects with the processor's workers on `nodes`. */
function withProcessorOn(nodes: string[]): string {
  type Obj = { kind: string; metadata: { name: string }; spec: { workers: unknown[] } };
  const objects = loadDocuments(MANIFEST, "application/yaml").map((d) => d.value as Obj);
  const processor = objects.find((o) => o.kind === "Service" && o.metadata.name === "processor");
  if (!processor) throw new Error("pipeline.yaml has no processor Service");
  processor.spec.workers = nodes.map((node) => ({ node }));
  return JSON.stringify(objects);
}

async function workers(c: Cluster, service?: string): Promise<Worker[]> {
  const res = await c.cloud.api(`/api/v1/workers${service ? `?service=${service}` : ""}`);
  return ((await res.json()) as { items: Worker[] }).items;
}

/** Waits until the pipeline's 16 workers are ready; the failure lists them. */
async function pipelineReady(c: Cluster): Promise<void> {
  await waitUntil(
    "16 ready workers of the pipeline",
    async () => {
      const all = await workers(c);
      return all.length === 16 && all.every((w) => w.ready);
    },
    60_000,
  ).catch(async (err: Error) => {
    const all = await workers(c);
    throw new Error(
      `${err.message}: ${JSON.stringify(all.map((w) => [w.service, w.node, w.phase, w.message]))}`,
    );
  });
}

async function stats(c: Cluster): Promise<Stats> {
  return (await (await fetch(`http://${c.cloud.address}:${DISTRIBUTOR_PORT}/stats`)).json()) as Stats;
}

async function allResults(c: Cluster): Promise<Result[]> {
  const out: Result[] = [];
  for (;;) {
    const res = await fetch(`http://${c.cloud.address}:${DISTRIBUTOR_PORT}/results?since=${out.length}`);
    const page = (await res.json()) as { total: number; items: Result[] };
    out.push(...page.items);
    if (page.items.length === 0 || out.length >= page.total) return out;
  }
}

/** Each edge's generator, on the port its agent gave it (GET /v1/workers on the edge's agent). */
async function generator(edge: Cluster["edges"][number], path: string, method = "GET") {
  const res = await fetch(`${edge.agentUrl}/v1/workers?service=generator`);
  const [w] = ((await res.json()) as { items: { port: number }[] }).items;
  if (!w?.port) throw new Error(`no generator port on ${edge.name}`);
  return (await (await fetch(`http://127.0.0.1:${w.port}${path}`, { method })).json()) as GeneratorStats;
}

/** Lines of the pipeline's worker logs about retries and failures (what the retries were for). */
function workerLogNotes(c: Cluster): string[] {
  const notes: string[] = [];
  for (const agent of c.all()) {
    const root = join(agent.dataDir, "workers");
    for (const service of existsSync(root) ? readdirSync(root) : []) {
      const log = join(root, service, "0", "logs", "current.log");
      if (!existsSync(log)) continue;
      for (const line of readFileSync(log, "utf8").split("\n"))
        if (/failed|given up|another node|cannot/.test(line)) notes.push(`  ${line.slice(0, 400)}`);
    }
  }
  return notes;
}

/** Variables Sedna and Dayu's backend put into every component; not part of what the pipeline runs. */
const INJECTED = ["NAMESPACE", "LOG_LEVEL", "DATA_PATH_PREFIX", "VOLUME_NUM", "FILE_PREFIX", "GUNICORN_PORT"];

/**
 * What runs where, per service and node: the program, its settings, the mounts it finds by
 * variable, and (for services with a service port) that port, the listen port and the health check.
 * Left out, because the two forms differ there by design: how /temp is provided (a node's shared
 * dir, or Dayu's host path), the forward proxy (Dayu addresses nodes directly), Sedna's variables,
 * and the generator's own control port.
 */
function runningSystem(services: { metadata: { name: string }; spec: ServiceSpec }[]) {
  const out: Record<string, unknown> = {};
  for (const { metadata, spec } of services) {
    for (const worker of spec.workers) {
      const t = resolveWorkerTemplate(spec, worker);
      const env = Object.fromEntries(Object.entries(t.env).filter(([k]) => !INJECTED.includes(k)));
      out[`${metadata.name}@${worker.node}`] = {
        driver: t.driver,
        command: [...(t.command ?? []), ...t.args],
        env,
        mounts: t.mounts.map((m) => `${m.envName}${m.config ? `=config:${m.config.name}` : ""}`).sort(),
        ...(spec.mesh
          ? {
              mesh: { port: spec.mesh.port, protocol: spec.mesh.protocol, fallback: spec.mesh.fallback },
              port: t.port,
              health: t.health?.http,
            }
          : {}),
      };
    }
  }
  return out;
}

test("pipeline.yaml carries app/*.mjs as they are (bundle.mjs --check)", () => {
  const run = Bun.spawnSync(["node", join(DIR, "bundle.mjs"), "--check"], { stderr: "pipe" });
  // (pipeline-jmes.yaml carries the same Config: bundle.mjs writes and checks both.)
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
  // And the Config in it holds each file byte for byte.
  const config = loadDocuments(MANIFEST, "application/yaml")
    .map((d) => d.value as { kind: string; data: Record<string, string> })
    .find((o) => o.kind === "Config");
  const files = readdirSync(join(DIR, "app")).filter((name) => name.endsWith(".mjs"));
  expect(Object.keys(config?.data ?? {}).sort()).toEqual(files.sort());
  for (const name of files) expect(config?.data[name]).toBe(readFileSync(join(DIR, "app", name), "utf8"));
});

test("60 s of the pipeline; the processor moves from edge2 to edge3 mid-run; nothing lost, misrouted or corrupted", async () => {
  await withCluster({ edges: 3 }, async (c) => {
    await applyManifest(c, MANIFEST, "application/yaml");
    await pipelineReady(c);
    const started = Date.now();
    await waitUntil("the first results", async () => (await stats(c)).tasks.received > 0, 20_000);

    // ---- mid-run: the processor moves from edge2 to edge3
    await Bun.sleep(Math.max(0, started + MOVE_AT_MS - Date.now()));
    const before = await stats(c);
    expect(before.ranOn.edge2 ?? 0).toBeGreaterThan(0);
    expect(before.ranOn.edge3 ?? 0).toBe(0);
    const appliedAt = Date.now();
    await applyManifest(c, withProcessorOn(["cloud", "edge1", "edge3"]), "application/json");
    let readyAt = 0;
    await waitUntil(
      "the processor on cloud, edge1 and edge3 (ready), none on edge2",
      async () => {
        const now = await workers(c, "processor");
        const nodes = now.map((w) => w.node).sort();
        if (nodes.join() !== "cloud,edge1,edge3" || !now.every((w) => w.ready)) return false;
        readyAt = Date.now();
        return true;
      },
      30_000,
    );
    const edge2 = c.edges[1] as Cluster["edges"][number];
    const edge3 = c.edges[2] as Cluster["edges"][number];
    let stoppedAt = 0;
    await waitUntil(
      "edge2's processor to be gone",
      async () => {
        const res = await fetch(`${edge2.agentUrl}/v1/workers?service=processor`);
        const gone = ((await res.json()) as { items: unknown[] }).items.length === 0;
        if (gone) stoppedAt = Date.now();
        return gone;
      },
      30_000,
    );
    // Traffic follows: tasks run on edge3 soon after its worker is ready.
    await waitUntil("tasks processed on edge3", async () => ((await stats(c)).ranOn.edge3 ?? 0) > 0, 15_000);
    const firstOnEdge3 = Date.now();
    // No stale route: edge2's service port now refuses (no processor there), edge3's serves.
    const refused = await fetch(`http://${edge2.address}:${PROCESSOR_PORT}/health`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("x-levee-error")).toContain("processor");
    expect(refused.headers.get("x-levee-error")).toContain("edge2");
    const served = await fetch(`http://${edge3.address}:${PROCESSOR_PORT}/health`);
    expect(served.status).toBe(200);
    for (const agent of c.all()) {
      const routes = (await (await fetch(`${agent.agentUrl}/v1/routes/processor`)).json()) as {
        items: { state: string }[];
      };
      expect(routes.items.map((r) => r.state)).toEqual(routes.items.map(() => "applied"));
    }

    // ---- the end: stop generating, let the tasks in flight arrive
    await Bun.sleep(Math.max(0, started + RUN_MS - Date.now()));
    for (const edge of c.edges) await generator(edge, "/pause", "POST");
    const finals = new Map<string, GeneratorStats>();
    await waitUntil(
      "every generator to have no task in flight",
      async () => {
        for (const edge of c.edges) {
          const g = await generator(edge, "/stats");
          if (g.inFlight > 0 || g.queued > 0) return false;
          finals.set(edge.name, g);
        }
        return true;
      },
      90_000,
    );
    // The generators report on pause and every second; wait for the final counts to arrive.
    await waitUntil(
      "the distributor to know the generators' final counts",
      async () => {
        const s = await stats(c);
        return c.edges.every((e) => s.generators[e.name]?.generated === finals.get(e.name)?.generated);
      },
      10_000,
    );
    const end = await stats(c);
    const results = await allResults(c);
    const summary = {
      generated: Object.fromEntries([...finals].map(([k, g]) => [k, g.generated])),
      retries: Object.fromEntries([...finals].map(([k, g]) => [k, g.retries])),
      tasks: end.tasks,
      ranOn: end.ranOn,
      placement: end.placement,
      transfers: end.transfers,
      latencyMs: end.latencyMs,
      move: {
        readyAfterMs: readyAt - appliedAt,
        edge2GoneAfterMs: stoppedAt - appliedAt,
        firstOnEdge3AfterReadyMs: firstOnEdge3 - readyAt,
      },
    };
    process.stderr.write(`pipeline: ${JSON.stringify(summary)}\n`);
    const notes = workerLogNotes(c);
    if (notes.length > 0)
      process.stderr.write(`pipeline: retried or failed in the workers:\n${notes.join("\n")}\n`);

    // Every generated task reached the distributor; none was given up.
    for (const edge of c.edges) {
      const g = finals.get(edge.name) as GeneratorStats;
      expect(g.generated).toBeGreaterThan(200); // ~5 a second for ~60 s
      expect(g.failed).toBe(0);
      expect(g.completed).toBe(g.generated);
      expect(end.generators[edge.name]).toMatchObject({
        generated: g.generated,
        received: g.generated,
        missing: 0,
      });
    }
    const total = [...finals.values()].reduce((sum, g) => sum + g.generated, 0);
    expect(end.tasks.received).toBe(total);
    expect(results).toHaveLength(total);
    expect(new Set(results.map((r) => r.taskId)).size).toBe(total);
    // Byte-exact, on the addressed node.
    expect(end.byteMismatches).toBe(0);
    expect(end.violations).toBe(0);
    for (const r of results) expect(r.node).toBe(r.addressedNode as string);
    // Both ways of handing over a chunk were used: the node's shared /temp and an upload.
    expect(end.transfers.temp).toBeGreaterThan(0);
    expect(end.transfers.upload).toBeGreaterThan(0);
    expect(end.placement.sameNode).toBeGreaterThan(0);
    expect(end.placement.otherEdge).toBeGreaterThan(0);
    expect(end.placement.cloud).toBeGreaterThan(0);
    // Per-stage timestamps in order.
    for (const r of results) {
      const t = r.timestamps;
      expect([t.generated, t.received, t.scheduled, t.arrived, t.processed, t.distributed]).toEqual(
        [t.generated, t.received, t.scheduled, t.arrived, t.processed, t.distributed].sort((a, b) => a - b),
      );
    }
    // The move: edge2 processed nothing once its worker was gone; edge3 nothing before the apply.
    const onEdge2 = results.filter((r) => r.node === "edge2");
    const onEdge3 = results.filter((r) => r.node === "edge3");
    expect(onEdge2.length).toBeGreaterThan(0);
    expect(Math.max(...onEdge2.map((r) => r.timestamps.processed))).toBeLessThanOrEqual(stoppedAt);
    expect(onEdge3.length).toBeGreaterThan(0);
    expect(Math.min(...onEdge3.map((r) => r.timestamps.processed))).toBeGreaterThanOrEqual(appliedAt);
    // Every node reported its resources.
    expect(Object.keys(end.resources).sort()).toEqual(["cloud", "edge1", "edge2", "edge3"]);
  });
}, 240_000);

/** The native Services of pipeline.yaml, parsed (defaults filled in). */
function nativeServices(): { metadata: { name: string }; spec: ServiceSpec }[] {
  const native = parseManifests(MANIFEST, "application/yaml");
  if (!native.ok) throw new Error(JSON.stringify(native.issues));
  return native.objects.filter((o) => o.kind === "Service") as {
    metadata: { name: string };
    spec: ServiceSpec;
  }[];
}

test("levee ctl convert: the JointMultiEdgeService form stands for the same running system", async () => {
  const run = await runLevee(["ctl", "convert", "-f", join(DIR, "pipeline-jmes.yaml"), "-o", "json"]);
  expect(run.code, run.stderr).toBe(0);
  const items = (JSON.parse(run.stdout) as { items: { kind: string }[] }).items;
  // The converted Services, parsed like any manifest, against the native ones.
  const converted = parseManifests(
    JSON.stringify(items.filter((o) => o.kind === "Service")),
    "application/json",
  );
  if (!converted.ok) throw new Error(JSON.stringify(converted.issues));
  const services = converted.objects as { metadata: { name: string }; spec: ServiceSpec }[];
  expect(runningSystem(services)).toEqual(runningSystem(nativeServices()));
  // The code: the same Config in both files.
  // (in the namespace of the Dayu objects, which mount it from there).
  const config = (text: string) => {
    const found = loadDocuments(text, "application/yaml").find(
      (d) => (d.value as { kind: string }).kind === "Config",
    )?.value as { metadata: { namespace?: string } } | undefined;
    return found && { ...found, metadata: { ...found.metadata, namespace: undefined } };
  };
  expect(config(JMES_MANIFEST)).toEqual(config(MANIFEST));
  // What levee does not take from Dayu's manifest is said, not dropped (serviceAccountName it
  // takes: kubeApi).
  expect(run.stderr).toContain("dnsPolicy");
  expect(run.stderr).not.toContain("serviceAccountName");
});

test("the JointMultiEdgeService form runs the same system, and its tasks flow", async () => {
  const native = nativeServices();
  await withCluster({ edges: 3 }, async (c) => {
    const res = await c.cloud.api("/api/v1/apply", {
      method: "POST",
      headers: { "content-type": "application/yaml" },
      body: JMES_MANIFEST,
    });
    const answer = (await res.json()) as { results: { kind: string; name: string }[]; warnings?: unknown[] };
    expect(res.status, JSON.stringify(answer)).toBe(200);
    // Made of each JointMultiEdgeService: a Service of the same name.
    const made = answer.results.filter((r) => r.kind === "Service").map((r) => r.name);
    expect(made.sort()).toEqual(native.map((s) => s.metadata.name).sort());
    const stored = (await (await c.cloud.api("/api/v1/services")).json()) as {
      items: { metadata: { name: string }; spec: ServiceSpec }[];
    };
    expect(runningSystem(stored.items)).toEqual(runningSystem(native));

    await pipelineReady(c);
    await waitUntil(
      "tasks processed on cloud, edge1 and edge2",
      async () => {
        const s = await stats(c);
        return ["cloud", "edge1", "edge2"].every((n) => (s.ranOn[n] ?? 0) >= 10);
      },
      60_000,
    );
    const s = await stats(c);
    expect(s.byteMismatches).toBe(0);
    expect(s.violations).toBe(0);
    expect(s.transfers.temp).toBeGreaterThan(0); // the host path /temp of Dayu's manifest
    expect(s.transfers.upload).toBeGreaterThan(0);
    for (const r of await allResults(c)) expect(r.node).toBe(r.addressedNode as string);
  });
}, 180_000);
