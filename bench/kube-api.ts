// The Kubernetes API facade under a Dayu-sized load, with real agents: a cloud (127.0.0.86) and one
// edge (127.0.0.87), an ImageMap that runs `bench/sleep:` images as `sleep` processes, and
// JointMultiEdgeServices in namespace `bench` making --pods pods (--per-object edgeWorker pods
// each, all on the edge: one exec worker each), plus one Service with kubeApi on the edge whose
// token is the caller on the edge's listener (as a Dayu component in a pod would be). Measures
//   (1) GET /api/v1/namespaces/bench/pods (Accept: application/json, the full list) over one
//       kept-alive HTTPS connection, --requests sequential requests after a warm-up: on the edge's
//       listener (answered from the view shipped with the mesh catalog) with the worker's token,
//       on the cloud's with the admin token; with a labelSelector and a fieldSelector too; and
//       through the official Python client (Debian python3-kubernetes) list_namespaced_pod, timing
//       the call only (with and without building its model objects);
//   (2) a pod's change reaching a watch (?watch=true&resourceVersion=<the list's>) on both
//       listeners: one worker process SIGKILLed per trial (a different one each time); from the
//       kill to the pod's first MODIFIED event. A second series polls, every 5 ms, the edge's
//       GET /v1/workers (when the node noticed) and the cloud's GET /api/v1/workers (when the
//       cloud stored the node's status), to split that time;
//   and the edge agent's RSS and CPU with the pods running (idle, and per list request).
//
//   ./node_modules/.bin/bun bench/kube-api.ts [--pods 500] [--per-object 10] [--requests 200]
//       [--python-requests 20] [--trials 20] [--bin PATH] [--log-level warn] [--keep]
//       [--no-watch] [--cpu-prof DIR]
//
// --bin runs the agents from a compiled levee binary (default: bun src/cli/main.ts); --no-watch
// skips (2); --cpu-prof DIR has bun write the agents' CPU profiles there when they exit (read them
// with bench/cpuprofile-top.ts). About 3 minutes on 2 cores. Every process it started (agents,
// their workers) is stopped at the end; --keep keeps the data dirs and the agents' logs.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { waitUntil } from "../test/harness/process.ts";
import { killWorkersUnder } from "../test/harness/workers.ts";
import {
  cpuMs,
  type Listener,
  type ListResult,
  listLatency,
  listPods,
  pythonLatency,
  rssMb,
} from "./kube-lists.ts";
import { podChangeTrials, type Trial } from "./kube-pod-changes.ts";
import { openWatch } from "./kube-watch.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, fallback: number) => Number(flag(name) ?? fallback);
const PODS = num("--pods", 500);
const PER_OBJECT = num("--per-object", 10);
const REQUESTS = num("--requests", 200);
const PY_REQUESTS = num("--python-requests", 20);
const TRIALS = num("--trials", 20);
const LOG_LEVEL = flag("--log-level") ?? "warn";
const BIN = flag("--bin");
const KEEP = args.includes("--keep");
const PROFILE_DIR = flag("--cpu-prof");
const SKIP_WATCH = args.includes("--no-watch");
const CLOUD = "127.0.0.86";
const EDGE = "127.0.0.87";
const NS = "bench";
const ROOT = join(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "levee-bench-kube-"));
const procs: Subprocess[] = [];
const OBJECTS = Math.ceil(PODS / PER_OBJECT);

// ---- processes ----------------------------------------------------------------------------------
function spawnLevee(argv: string[], log?: string): Subprocess {
  // The agents (those with a log) under bun's sampling profiler, when asked.
  const profile = PROFILE_DIR && log ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const command = BIN
    ? [BIN, ...argv]
    : [process.execPath, ...profile, join(ROOT, "src/cli/main.ts"), ...argv];
  return Bun.spawn(command, {
    stdout: log ? Bun.file(log) : "pipe",
    stderr: log ? Bun.file(log) : "pipe",
    env: { ...process.env, LEVEE_PORT_REGISTRY: join(dir, "ports.db") },
  });
}

async function ctl(argv: string[]): Promise<string> {
  const proc = spawnLevee(["ctl", ...argv, "--data-dir", join(dir, "cloud")]);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`levee ctl ${argv.join(" ")}: ${err}`);
  return out;
}

function agent(name: string, address: string, mode: string[]): Subprocess {
  const proc = spawnLevee(
    [
      ...mode,
      "--node-name",
      name,
      "--bind-address",
      address,
      "--data-dir",
      join(dir, name),
      "--log-level",
      LOG_LEVEL,
      "--stop-workers-on-exit",
    ],
    join(dir, `${name}.log`),
  );
  procs.push(proc);
  return proc;
}

// ---- measurements -------------------------------------------------------------------------------
const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
};
const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const stats = (xs: number[]) =>
  `${f(pct(xs, 0.5), 2)} | ${f(pct(xs, 0.9), 2)} | ${f(pct(xs, 0.99), 2)} | ${f(Math.max(...xs), 2)}`;

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes JSON, read by path
type Any = any;

// ---- main ---------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const machine = `${cpus().length} CPUs (nproc), ${process.arch === "x64" ? "x86_64" : process.arch} (Linux ${release()}), bun ${Bun.version}`;
  const git = (cmd: string[]) =>
    Bun.spawnSync(["git", "-C", ROOT, ...cmd])
      .stdout.toString()
      .trim();
  const dirty = git(["status", "--porcelain", "--", "src"]) !== "" ? " + uncommitted changes in src/" : "";
  console.log(`Machine: ${machine}`);
  console.log(
    `Agents: ${BIN ?? "bun src/cli/main.ts"} (commit ${git(["rev-parse", "--short", "HEAD"])}${dirty})`,
  );
  const cloud = agent("cloud", CLOUD, ["cloud", "--max-workers-per-node", String(Math.max(1000, PODS + 10))]);
  await waitUntil("the cloud", async () => (await fetch(`http://${CLOUD}:7401/readyz`)).ok, 60_000);
  const joinToken = (await ctl(["token", "create", "--uses", "1"])).trim().split("\n").at(-1) as string;
  const adminToken = readFileSync(join(dir, "cloud", "admin.token"), "utf8").trim();
  const edge = agent("edge", EDGE, ["edge", "--cloud", `http://${CLOUD}:7400`, "--token", joinToken]);
  await waitUntil("the edge", async () => (await fetch(`http://${EDGE}:7401/readyz`)).ok, 60_000);

  const sedna = (i: number) => ({
    apiVersion: "sedna.io/v1alpha1",
    kind: "JointMultiEdgeService",
    metadata: { name: `processor-bench${String(i).padStart(3, "0")}-edge`, namespace: NS },
    spec: {
      edgeWorker: Array.from({ length: Math.min(PER_OBJECT, PODS - i * PER_OBJECT) }, () => ({
        template: { spec: { nodeName: "edge", containers: [{ name: "sleeper", image: "bench/sleep:1" }] } },
      })),
    },
  });
  const docs = [
    {
      apiVersion: "levee/v1",
      kind: "ImageMap",
      metadata: { name: "bench-sleep" },
      spec: { images: [{ imagePrefix: "bench/sleep:", command: ["sleep", "100000"] }] },
    },
    {
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "reader", namespace: NS },
      spec: {
        template: { command: ["sleep", "100000"], kubeApi: { serviceAccount: "reader" } },
        workers: [{ node: "edge" }],
      },
    },
    ...Array.from({ length: OBJECTS }, (_, i) => sedna(i)),
  ];
  const applied = await fetch(`http://${CLOUD}:7400/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(docs),
  });
  if (!applied.ok) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
  const tokenFile = join(dir, "edge", "workers", `reader.${NS}`, "0", "serviceaccount", "token");
  await waitUntil("the reader's token", async () => existsSync(tokenFile), 60_000);
  const listeners = {
    edge: {
      name: "edge",
      base: `https://${EDGE}:6443`,
      token: readFileSync(tokenFile, "utf8").trim(),
      ca: readFileSync(join(dir, "edge", "kube-api", "ca.crt"), "utf8"),
      pid: edge.pid,
    },
    cloud: {
      name: "cloud",
      base: `https://${CLOUD}:6443`,
      token: adminToken,
      ca: readFileSync(join(dir, "cloud", "kube-api", "ca.crt"), "utf8"),
      pid: cloud.pid,
    },
  };
  const t0 = performance.now();
  const running = (items: Any[]) =>
    items.filter(
      (p) => p.status.phase === "Running" && p.status.containerStatuses.every((c: Any) => c.state.running),
    ).length;
  await waitUntil(
    `${PODS} pods Running in the edge's view`,
    async () => {
      await Bun.sleep(250);
      const { items } = await listPods(listeners.edge, NS);
      process.stderr.write(`\rpods Running (edge's view): ${running(items)}/${PODS}   `);
      return running(items) === PODS;
    },
    300_000,
  );
  process.stderr.write(`\nall ${PODS} Running after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  await Bun.sleep(3000);

  // Idle, with every pod running (longer than the catalog's 30 s safety refresh).
  const idleS = 35;
  const idle0 = { edge: cpuMs(edge.pid), cloud: cpuMs(cloud.pid) };
  const rv0 = {
    edge: (await listPods(listeners.edge, NS)).rv,
    cloud: (await listPods(listeners.cloud, NS)).rv,
  };
  await Bun.sleep(idleS * 1000);
  const rv1 = {
    edge: (await listPods(listeners.edge, NS)).rv,
    cloud: (await listPods(listeners.cloud, NS)).rv,
  };
  const idleCpu = {
    edge: (cpuMs(edge.pid) - idle0.edge) / (idleS * 10),
    cloud: (cpuMs(cloud.pid) - idle0.cloud) / (idleS * 10),
  };
  const idleRss = { edge: rssMb(edge.pid), cloud: rssMb(cloud.pid) };

  // (1) list latency.
  const { items } = await listPods(listeners.cloud, NS);
  const label = `?labelSelector=${encodeURIComponent(`jointmultiedge.sedna.io/name=${items[0].metadata.labels["jointmultiedge.sedna.io/name"]}`)}`;
  const field = `?fieldSelector=${encodeURIComponent("spec.nodeName=edge")}`;
  const lists: ListResult[] = [];
  for (const l of [listeners.edge, listeners.cloud])
    for (const q of ["", label, field]) {
      lists.push(await listLatency(l, NS, q, REQUESTS));
      process.stderr.write(
        `list ${l.name} ${q || "(all)"}: p99 ${f(pct(lists.at(-1)?.times ?? [], 0.99), 2)} ms\n`,
      );
    }
  const peakRss = { edge: rssMb(edge.pid), cloud: rssMb(cloud.pid) };
  process.stderr.write("the Python client\n");
  const python = existsSync("/usr/bin/python3")
    ? {
        edge: await pythonLatency(listeners.edge, NS, PY_REQUESTS, dir),
        cloud: await pythonLatency(listeners.cloud, NS, PY_REQUESTS, dir),
      }
    : undefined;

  // (2) watch latency: the watches start from the list's resourceVersion.
  const openAt = async (l: Listener) =>
    openWatch(
      `${l.base}/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${(await listPods(l, NS)).rv}`,
      {
        headers: { authorization: `Bearer ${l.token}`, accept: "application/json" },
        tls: { ca: l.ca },
      } as RequestInit,
    );
  process.stderr.write("watches\n");
  const watches = { cloud: await openAt(listeners.cloud), edge: await openAt(listeners.edge) };
  await Bun.sleep(1000);
  const trials = (first: number, poll: boolean) =>
    podChangeTrials({
      pods: items.slice(first, first + TRIALS),
      watches,
      edgeAgent: `http://${EDGE}:7401`,
      cloudApi: `http://${CLOUD}:7400`,
      adminToken,
      poll,
    });
  const plain = SKIP_WATCH ? [] : await trials(0, false);
  process.stderr.write("watch trials without polling: done\n");
  const polled = SKIP_WATCH ? [] : await trials(TRIALS, true);
  watches.cloud.close();
  watches.edge.close();

  // ---- tables -----------------------------------------------------------------------------------
  const out: string[] = [
    "",
    `${PODS} pods (${OBJECTS} JointMultiEdgeServices × ${PER_OBJECT} edgeWorker pods, one \`sleep\` worker each) on the edge, namespace \`${NS}\`.`,
    "",
    `(1) GET /api/v1/namespaces/${NS}/pods, Accept: application/json, ${REQUESTS} sequential requests on one kept-alive HTTPS connection (Bun fetch) after 20 of warm-up; ms:`,
    "",
    "| listener (caller) | query | items | bytes | p50 | p90 | p99 | max | agent CPU ms/request |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...lists.map(
      (r) =>
        `| ${r.listener === "edge" ? "edge (worker token)" : "cloud (admin)"} | ${decodeURIComponent(r.query.replace(/^\?/, ""))} | ${r.items} | ${r.bytes} | ${stats(r.times)} | ${f(r.cpuPerRequest, 2)} |`,
    ),
  ];
  if (python)
    out.push(
      "",
      `The official Python client (python3-kubernetes), \`list_namespaced_pod("${NS}")\`, ${PY_REQUESTS} calls after 5 of warm-up, the call only; ms:`,
      "",
      "| listener | items | p50 | p90 | p99 | max | the same with _preload_content=False (HTTP only) p50 / p99 |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...(["edge", "cloud"] as const).map(
        (n) =>
          `| ${n} | ${python[n].count} | ${stats(python[n].full)} | ${f(pct(python[n].raw, 0.5), 2)} / ${f(pct(python[n].raw, 0.99), 2)} |`,
      ),
    );
  const col = (ts: Trial[], k: "cloud" | "edge" | "noticed" | "stored") =>
    ts.map((t) => t[k]).filter((x): x is number => x !== undefined);
  const minus = (ts: Trial[], a: "cloud" | "edge" | "stored", b: "noticed" | "stored") =>
    ts
      .filter((t) => t[a] !== undefined && t[b] !== undefined)
      .map((t) => (t[a] as number) - (t[b] as number));
  const row = (name: string, xs: number[]) =>
    `| ${name} | ${xs.length} | ${f(pct(xs, 0.5))} | ${f(pct(xs, 0.99))} | ${f(Math.max(...xs))} |`;
  const shown = [...plain, ...polled].reduce<Record<string, number>>((acc, t) => {
    acc[t.shown] = (acc[t.shown] ?? 0) + 1;
    return acc;
  }, {});
  out.push(
    "",
    `(2) A pod's change on a watch (?watch=true&resourceVersion=<the list's>, one watch per listener): a worker SIGKILLed, a different one per trial; ms (the edge watch's event showed ${Object.entries(
      shown,
    )
      .map(([k, v]) => `${k} ${v}×`)
      .join(", ")}):`,
    "",
    "| interval | trials | p50 | p99 | max |",
    "| --- | ---: | ---: | ---: | ---: |",
    row("kill → event, cloud's listener", col(plain, "cloud")),
    row("kill → event, edge's listener", col(plain, "edge")),
    `| *with the 5 ms polling of both agents' APIs:* | | | | |`,
    row("kill → the edge agent shows it (GET /v1/workers)", col(polled, "noticed")),
    row("kill → the cloud stored the node's status (GET /api/v1/workers)", col(polled, "stored")),
    row("kill → event, cloud's listener", col(polled, "cloud")),
    row("kill → event, edge's listener", col(polled, "edge")),
    row("node shows it → cloud stored it", minus(polled, "stored", "noticed")),
    row("cloud stored it → event, cloud's listener", minus(polled, "cloud", "stored")),
    row("cloud stored it → event, edge's listener", minus(polled, "edge", "stored")),
    "",
    "Agents with the pods running (VmRSS MB; CPU % of one core):",
    "",
    `| agent | RSS idle | RSS after the list runs | CPU idle (${idleS} s) | list resourceVersion before → after the idle ${idleS} s |`,
    "| --- | ---: | ---: | ---: | --- |",
    `| edge (${PODS} workers) | ${f(idleRss.edge)} | ${f(peakRss.edge)} | ${f(idleCpu.edge)} | ${rv0.edge} → ${rv1.edge} |`,
    `| cloud | ${f(idleRss.cloud)} | ${f(peakRss.cloud)} | ${f(idleCpu.cloud)} | ${rv0.cloud} → ${rv1.cloud} |`,
  );
  console.log(out.join("\n"));
}

try {
  await main();
} finally {
  for (const p of [...procs].reverse()) {
    p.kill("SIGTERM");
    await Promise.race([p.exited, Bun.sleep(30_000)]);
    p.kill("SIGKILL");
  }
  killWorkersUnder([dir]);
  if (KEEP) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
