// Control-plane scale benchmark: a real `levee cloud` (child process) and simulated edges
// (bench/sim-edges.ts) speaking the real sync protocol. Prints Markdown tables.
//
//   ./node_modules/.bin/bun bench/control-plane.ts [--bin dist/levee-linux-x64 | --src DIR]
//       [--bind 127.0.0.70] [--apply-sizes 100,1000] [--idle-sizes 100,1000,10000] [--applies 20]
//       [--storm 1000] [--idle-seconds 30] [--budget 540] [--report-status] [--keep-logs]
//       [--verbose] [--cpu-prof DIR] [--no-catalog]
//
// --src DIR runs DIR/src/cli/main.ts (e.g. a scratch copy with a change to measure); --verbose
// prints every apply; --cpu-prof DIR has bun write the cloud's CPU profile (.cpuprofile and .md)
// there when it exits; --no-catalog has the simulated edges subscribe only to their down topic,
// not (as `levee edge` does) also to the retained mesh catalog and their log-request topic.
// About 2.5 minutes on 2 cores.
//
// One cloud, grown in stages (100 → 1,000 → 10,000 joined and connected simulated nodes, every
// one labelled levee.bench/sim=true). At each stage: join the new nodes (POST /api/v1/join, one
// token with N uses), connect them (1,000 connects/s), wait until every one was welcomed and the
// cloud shows it Ready with its plan applied, then
//   - idle: cloud CPU (utime+stime from /proc/PID/stat) over --idle-seconds and VmRSS;
//   - apply (at --apply-sizes): a Service with nodeSelector {levee.bench/sim: "true"} (one worker
//     on every simulated node) is applied once (warm-up), then --applies times with a new value of
//     env BENCH_MARK. Per apply: the apply call's duration; from the apply's response to the ack
//     of the last node (each simulated edge notes when it sends the ack of the plan carrying the
//     new BENCH_MARK); and until GET /api/v1/nodes shows every node's appliedRevision equal to its
//     desiredRevision (polled every 50 ms once the simulator saw every ack);
//   - storm (at --storm): (1) every edge loses its connection at once (sockets closed without
//     DISCONNECT: the broker publishes their wills, the cloud marks them Disconnected) and
//     reconnects with the edge's backoff; time until every edge's hello was answered (welcome) and
//     until the API shows all Ready again; (2) the cloud is restarted (SIGTERM, start again on the
//     same data dir); time until it answers /readyz and until every edge's hello was answered
//     (its API shows the nodes Ready at once: the nodes table still says online, so only the
//     welcomes measure this one).
// Every wait has a timeout; the whole run stays within --budget seconds (the last stage is cut
// short if it would not fit: what it reached is reported). Cleans up every process and temp dir.
// Needs `ulimit -n` above the largest stage plus a few hundred on both sides (the cloud holds one
// socket per edge; the simulator's children split the edges): checked at start; when the limit
// is too low and prlimit(1) can raise it (root), the cloud is started under prlimit.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  joinSimNodes,
  now,
  type ProcessUsage,
  processUsage,
  SimFleet,
  type SimIdentity,
} from "./sim-edges.ts";

const REPO = join(import.meta.dir, "..");
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const list = (name: string, dflt: number[]): number[] =>
  flag(name) === undefined
    ? dflt
    : (flag(name) as string)
        .split(",")
        .filter((s) => s.trim() !== "")
        .map(Number);
const APPLY_SIZES = list("--apply-sizes", [100, 1000]);
const IDLE_SIZES = list("--idle-sizes", [100, 1000, 10_000]);
const STORM = Number(flag("--storm") ?? 1000);
const APPLIES = Number(flag("--applies") ?? 20);
const IDLE_S = Number(flag("--idle-seconds") ?? 30);
const BUDGET_S = Number(flag("--budget") ?? 540);
const REPORT_STATUS = args.includes("--report-status");
const CATALOG = !args.includes("--no-catalog");
const SELECTOR = { "levee.bench/sim": "true" };
const started = now();
const deadline = started + BUDGET_S * 1000;
const left = () => deadline - now();

// ---- cleanup: every process and the temp dir, whatever happens ---------------------------------
const tmp = mkdtempSync(join(tmpdir(), "levee-cp-bench-"));
const procs = new Set<Subprocess>();
const fleets: SimFleet[] = [];
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const f of fleets) f.kill();
  for (const p of procs) p.kill("SIGKILL");
  if (!args.includes("--keep-logs")) rmSync(tmp, { recursive: true, force: true });
  else console.error(`logs kept in ${tmp}`);
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
// A hard stop a minute past the budget, in case something hangs.
setTimeout(
  () => {
    console.error("benchmark exceeded its budget by 60 s; stopping");
    report();
    cleanup();
    process.exit(124);
  },
  BUDGET_S * 1000 + 60_000,
).unref();

// ---- machine, limits ---------------------------------------------------------------------------
function fdLimits(pid: number | "self" = "self"): { soft: number; hard: number } {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft = "0", hard = "0"] = line?.split(/\s+/).slice(3, 5) ?? [];
  const n = (s: string) => (s === "unlimited" ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: n(soft), hard: n(hard) };
}
const maxEdges = Math.max(...IDLE_SIZES, ...APPLY_SIZES, STORM);
const fdNeed = maxEdges + 512;
const fds = fdLimits();
let prlimit: string[] = [];
if (fds.soft < fdNeed) {
  if (Bun.which("prlimit") && (process.getuid?.() === 0 || fds.hard >= fdNeed)) {
    prlimit = ["prlimit", `--nofile=${fdNeed}:${fdNeed}`, "--"];
  } else {
    console.error(
      `warning: open-file limit ${fds.soft} < ${fdNeed} needed for ${maxEdges} edges; raise it (ulimit -n ${fdNeed}) or the largest stage will fail`,
    );
  }
}

const PROFILE_DIR = flag("--cpu-prof");
const cloudCommand: string[] = flag("--bin")
  ? [flag("--bin") as string]
  : [
      process.execPath,
      ...(PROFILE_DIR ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${PROFILE_DIR}`] : []),
      join(flag("--src") ?? REPO, "src/cli/main.ts"),
    ];
const VERBOSE = args.includes("--verbose");
const machine = `${cpus().length} CPUs (nproc), ${process.arch === "x64" ? "x86_64" : process.arch} (Linux ${release()}), bun ${Bun.version}; open files ${fds.soft}${prlimit.length ? ` (cloud under prlimit ${fdNeed})` : ""}`;
/** What ran: the command (bun for this bun, paths relative to the repo) and the source's git state. */
function describeCloud(): string {
  const shown = cloudCommand
    .map((c) => (c === process.execPath ? "bun" : c.replace(`${REPO}/`, "")))
    .join(" ");
  const dir = flag("--bin") ? REPO : (flag("--src") ?? REPO);
  const git = (cmd: string[]) => {
    const r = Bun.spawnSync(["git", "-C", dir, ...cmd], { stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : "";
  };
  const head = git(["rev-parse", "--short", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--", "src"]) !== "";
  const where = head
    ? `commit ${head}${dirty ? " + uncommitted changes in src/" : ""}`
    : `${dir} (not a git checkout)`;
  return `${shown} (${where})`;
}
const cloudDescription = describeCloud();
console.log(`Machine: ${machine}`);
console.log(`Cloud: ${cloudDescription}`);

// ---- the cloud process --------------------------------------------------------------------------
function portsFree(host: string, ports: number[]): boolean {
  for (const port of ports) {
    try {
      Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
    } catch {
      return false;
    }
  }
  return true;
}
function pickAddress(): string {
  if (flag("--bind")) return flag("--bind") as string;
  for (let n = 70; n < 100; n++) if (portsFree(`127.0.0.${n}`, [7400, 7401, 1883])) return `127.0.0.${n}`;
  throw new Error("no free loopback address in 127.0.0.70-99 for the cloud");
}

class Cloud {
  proc: Subprocess | undefined;
  readonly api: string;
  adminToken = "";
  private starts = 0;
  constructor(
    readonly address: string,
    readonly dataDir: string,
  ) {
    this.api = `http://${address}:7400`;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  async start(timeoutMs = 30_000): Promise<number> {
    const t0 = now();
    const log = join(tmp, `cloud-${++this.starts}.log`);
    this.proc = Bun.spawn(
      [
        ...prlimit,
        ...cloudCommand,
        "cloud",
        "--bind-address",
        this.address,
        "--node-name",
        "bench-cloud",
        "--data-dir",
        this.dataDir,
        "--log-level",
        "warn",
      ],
      { stdin: "ignore", stdout: Bun.file(log), stderr: Bun.file(log), env: cleanEnv() },
    );
    procs.add(this.proc);
    while (now() - t0 < timeoutMs) {
      if (this.proc.exitCode !== null)
        throw new Error(`cloud exited with ${this.proc.exitCode}: ${tail(log)}`);
      try {
        const res = await fetch(`${this.api}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) break;
      } catch {
        // not yet
      }
      await Bun.sleep(20);
    }
    if (now() - t0 >= timeoutMs) throw new Error(`cloud not ready in ${timeoutMs} ms: ${tail(log)}`);
    this.adminToken = readFileSync(join(this.dataDir, "admin.token"), "utf8").trim();
    return now() - t0;
  }

  /** SIGTERM, SIGKILL after graceMs; the ms it took. */
  async stop(graceMs = 15_000): Promise<number> {
    const p = this.proc;
    if (!p) return 0;
    const t0 = now();
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), graceMs);
    await p.exited;
    clearTimeout(timer);
    procs.delete(p);
    return now() - t0;
  }

  usage(): ProcessUsage {
    return processUsage(this.pid);
  }

  call(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.api}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(init.headers ?? {}) },
    });
  }
}

function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("LEVEE_")) delete env[key];
  return env;
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---- helpers ------------------------------------------------------------------------------------
interface NodeItem {
  metadata: { name: string; labels: Record<string, string> };
  status: { phase: string; online: boolean; plan: { desiredRevision: number; appliedRevision: number } };
}

/** Simulated nodes as the cloud API shows them: how many are Ready, and have applied their plan. */
async function cloudView(cloud: Cloud): Promise<{ total: number; ready: number; applied: number }> {
  const res = await cloud.call("/api/v1/nodes");
  const items = ((await res.json()) as { items: NodeItem[] }).items.filter(
    (n) => n.metadata.labels["levee.bench/sim"] === "true",
  );
  let ready = 0;
  let applied = 0;
  for (const n of items) {
    if (n.status.phase === "Ready" && n.status.online) ready++;
    if (n.status.plan.appliedRevision === n.status.plan.desiredRevision) applied++;
  }
  return { total: items.length, ready, applied };
}

async function pollCloud(
  cloud: Cloud,
  want: (v: { total: number; ready: number; applied: number }) => boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<number | undefined> {
  const t0 = now();
  while (now() - t0 < timeoutMs) {
    if (want(await cloudView(cloud))) return now();
    await Bun.sleep(intervalMs);
  }
  return undefined;
}

/** Several fleets (one per stage) seen as one. */
class Fleets {
  constructor(readonly all: SimFleet[]) {}
  /** Hello retries and duplicate plans, summed over every simulator process. */
  async resends(): Promise<{
    helloRetries: number;
    duplicates: number;
    connectFailures: number;
    catalogs: number;
    catalogBytes: number;
  }> {
    const all = await Promise.all(this.all.map((f) => f.counters()));
    return {
      catalogs: all.reduce((s, c) => s + c.catalogs, 0),
      catalogBytes: all.reduce((s, c) => s + c.catalogBytes, 0),
      helloRetries: all.reduce((s, c) => s + c.helloRetries, 0),
      duplicates: all.reduce((s, c) => s + c.duplicates, 0),
      connectFailures: all.reduce((s, c) => s + c.connectFailures, 0),
    };
  }
  get size(): number {
    return this.all.reduce((s, f) => s + f.size, 0);
  }
  welcomedSince(t: number): number {
    return this.all.reduce((s, f) => s + f.welcomedSince(t), 0);
  }
  connected(): number {
    return this.all.reduce((s, f) => s + f.connected(), 0);
  }
  acked(marker: string): number {
    return this.all.reduce((s, f) => s + f.ackedCount(marker), 0);
  }
  ackTimes(marker: string): number[] {
    return this.all.flatMap((f) => [...f.ackTimes(marker)]);
  }
  usage(): ProcessUsage[] {
    return this.all.flatMap((f) => f.usage());
  }
  /** The heartbeat interval of the latest welcome (any fleet). */
  heartbeatSeconds(): number {
    return Math.max(0, ...this.all.map((f) => f.heartbeatSeconds));
  }
  drop(): void {
    for (const f of this.all) f.drop();
  }
  async waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<boolean> {
    try {
      await (this.all[0] as SimFleet).waitFor(check, Math.max(0, timeoutMs), what);
      return true;
    } catch {
      return false;
    }
  }
}

/** Hello retries and failed connection attempts since `before` (for the storm rows). */
let resendsSince: (before: {
  helloRetries: number;
  connectFailures: number;
}) => Promise<{ helloRetries: number; connectFailures: number }>;

function pct(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}
const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : `${Math.round(v)}`);
const sec = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : (v / 1000).toFixed(1));
const int = (n: number) => n.toLocaleString("en-US");

function serviceManifest(marker: string): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "bench", labels: { app: "bench" } },
    spec: {
      template: {
        driver: "exec",
        command: ["sleep", "infinity"],
        env: { BENCH_MARK: marker, GREETING: "hello" },
        port: "auto",
        health: { tcp: true },
      },
      workers: [{ nodeSelector: SELECTOR, replicas: 1 }],
    },
  });
}

async function apply(cloud: Cloud, marker: string): Promise<{ sent: number; answered: number }> {
  const sent = now();
  const res = await cloud.call("/api/v1/apply", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: serviceManifest(marker),
  });
  const body = await res.text();
  const answered = now();
  if (!res.ok) throw new Error(`apply failed: HTTP ${res.status} ${body}`);
  return { sent, answered };
}

// ---- results ------------------------------------------------------------------------------------
interface StageRow {
  target: number;
  joined: number;
  joinMs: number;
  connectMs: number | undefined;
  connected: number;
  settledMs: number | undefined;
  heartbeatSeconds: number;
  rssMB: number;
  connectPeakRssMB: number;
  cpuPct: number;
  idleS: number;
  simRssMB: number;
  simCpuPct: number;
  /** While connecting: hellos repeated because no welcome came within 1 s (2 s, ...), and plans received twice. */
  helloRetries: number;
  duplicates: number;
  note: string;
}
interface ApplyRow {
  edges: number;
  applies: number;
  completed: number;
  callMs: number[];
  afterResponse: number[];
  afterRequest: number[];
  perNode: number[];
  confirmed: number[];
  cloudCpuS: number;
  simCpuS: number;
  peakRssMB: number;
}
interface StormRow {
  scenario: string;
  edges: number;
  cloudBackMs: number | undefined;
  welcomedMs: number | undefined;
  readyMs: number | undefined;
  cloudCpuS: number;
  helloRetries: number;
  connectFailures: number;
  note: string;
}
const stages: StageRow[] = [];
const applies: ApplyRow[] = [];
const storms: StormRow[] = [];

let peakRss = 0;
function sampleRss(cloud: Cloud): void {
  try {
    peakRss = Math.max(peakRss, cloud.usage().rssMB);
  } catch {
    // between restarts
  }
}

// ---- the run ------------------------------------------------------------------------------------
async function run(): Promise<void> {
  const address = pickAddress();
  const cloud = new Cloud(address, join(tmp, "cloud"));
  const startMs = await cloud.start();
  console.log(`cloud on ${address} ready in ${Math.round(startMs)} ms (pid ${cloud.pid})`);
  const sampler = setInterval(() => sampleRss(cloud), 500);
  const sizes = [...new Set([...APPLY_SIZES, ...IDLE_SIZES, ...(STORM > 0 ? [STORM] : [])])].sort(
    (a, b) => a - b,
  );
  const identities: SimIdentity[] = [];
  const group = new Fleets(fleets);
  resendsSince = async (before) => {
    const current = await group.resends();
    return {
      helloRetries: current.helloRetries - before.helloRetries,
      connectFailures: current.connectFailures - before.connectFailures,
    };
  };

  for (const [stageIndex, target] of sizes.entries()) {
    const last = stageIndex === sizes.length - 1;
    // The last stage gets what is left; earlier ones are expected to be quick.
    const reserve = last ? IDLE_S * 1000 + 40_000 : 0;
    console.log(`\n== stage: ${int(target)} edges (${Math.round(left() / 1000)} s of budget left)`);
    // join
    const names = Array.from(
      { length: target - identities.length },
      (_, k) => `sim-${identities.length + k}`,
    );
    /** (joined, time) every 500 joins: the rate at the end of the stage. */
    const progress: [number, number][] = [[0, now()]];
    const joinDeadline = now() + Math.max(10_000, left() - reserve - 60_000);
    const joined = await joinSimNodes({
      cloud: cloud.api,
      adminToken: cloud.adminToken,
      names,
      labels: SELECTOR,
      deadline: joinDeadline,
      onProgress: (n) => {
        progress.push([n, now()]);
        if (n % 1000 === 0) console.log(`  joined ${int(identities.length + n)}`);
      },
    });
    identities.push(...joined.identities);
    const joinRate = joined.identities.length / (joined.ms / 1000);
    const [a, b] = progress.slice(-2);
    const endRate = a && b && b[1] > a[1] ? ((b[0] - a[0]) * 1000) / (b[1] - a[1]) : joinRate;
    console.log(
      `  joined ${int(joined.identities.length)} in ${(joined.ms / 1000).toFixed(1)} s (${Math.round(joinRate)}/s)`,
    );
    // connect the new ones
    const before = await group.resends();
    const tConnect = now();
    peakRss = 0;
    if (joined.identities.length > 0) {
      const fleet = await SimFleet.start({
        identities: joined.identities,
        connectRatePerSec: 1000,
        reportStatus: REPORT_STATUS,
        catalog: CATALOG,
      });
      fleets.push(fleet);
    }
    const n = identities.length;
    const welcomedAll = await group.waitFor(
      () => group.welcomedSince(1) >= n,
      last
        ? Math.max(5_000, left() - IDLE_S * 1000 - 30_000)
        : Math.max(5_000, Math.min(180_000, left() - 60_000)),
      `${n} edges welcomed`,
    );
    const connectMs = welcomedAll ? now() - tConnect : undefined;
    console.log(
      `  connected ${int(group.connected())}, welcomed ${int(group.welcomedSince(1))}/${int(n)}` +
        (connectMs !== undefined ? ` after ${(connectMs / 1000).toFixed(1)} s` : " (timed out)"),
    );
    // settled: the cloud shows every connected node Ready with its plan applied
    const settledAt = welcomedAll
      ? await pollCloud(
          cloud,
          (v) => v.ready >= n && v.applied >= n,
          Math.min(60_000, Math.max(5_000, left() - IDLE_S * 1000 - 20_000)),
          250,
        )
      : undefined;
    const settledMs = settledAt !== undefined ? settledAt - tConnect : undefined;
    sampleRss(cloud);
    const connectPeakRss = peakRss;
    const after = await group.resends();
    if (after.catalogs > before.catalogs)
      console.log(
        `  catalog messages received while connecting: ${int(after.catalogs - before.catalogs)} (${((after.catalogBytes - before.catalogBytes) / 1e6).toFixed(1)} MB)`,
      );
    // idle
    await Bun.sleep(Math.min(5_000, Math.max(0, left() - IDLE_S * 1000 - 10_000)));
    const idleS = Math.max(5, Math.min(IDLE_S, (left() - 15_000) / 1000));
    const c0 = cloud.usage();
    const s0 = group.usage();
    const t0 = now();
    let maxRss = c0.rssMB;
    while (now() - t0 < idleS * 1000) {
      await Bun.sleep(1000);
      maxRss = Math.max(maxRss, cloud.usage().rssMB);
    }
    const c1 = cloud.usage();
    const s1 = group.usage();
    const wall = (now() - t0) / 1000;
    const simCpu = s1.reduce((s, u) => s + u.cpuSeconds, 0) - s0.reduce((s, u) => s + u.cpuSeconds, 0);
    const hb = group.heartbeatSeconds();
    stages.push({
      target,
      joined: n,
      joinMs: joined.ms,
      connectMs,
      connected: group.connected(),
      settledMs,
      heartbeatSeconds: hb,
      rssMB: maxRss,
      connectPeakRssMB: connectPeakRss,
      cpuPct: ((c1.cpuSeconds - c0.cpuSeconds) / wall) * 100,
      idleS: wall,
      simRssMB: s1.reduce((s, u) => s + u.rssMB, 0),
      simCpuPct: (simCpu / wall) * 100,
      helloRetries: after.helloRetries - before.helloRetries,
      duplicates: after.duplicates - before.duplicates,
      note:
        n < target
          ? `only ${int(n)} of ${int(target)} joined within the budget (${Math.round(endRate)} joins/s at the end)`
          : !welcomedAll
            ? `only ${int(group.welcomedSince(1))} of ${int(n)} welcomed within the budget`
            : settledMs === undefined
              ? "cloud did not show all Ready+applied in time"
              : "",
    });
    console.log(
      `  idle ${wall.toFixed(0)} s: cloud RSS ${maxRss.toFixed(0)} MB, CPU ${(((c1.cpuSeconds - c0.cpuSeconds) / wall) * 100).toFixed(1)} %`,
    );
    if (!welcomedAll) break;

    // apply → all acked
    if (APPLY_SIZES.includes(target) && n === target) {
      const row: ApplyRow = {
        edges: n,
        applies: APPLIES,
        completed: 0,
        callMs: [],
        afterResponse: [],
        afterRequest: [],
        perNode: [],
        confirmed: [],
        cloudCpuS: 0,
        simCpuS: 0,
        peakRssMB: 0,
      };
      const cpu0 = cloud.usage().cpuSeconds;
      const simCpu0 = group.usage().reduce((sum, u) => sum + u.cpuSeconds, 0);
      peakRss = 0;
      const perApplyTimeout = 30_000;
      for (let k = 0; k <= APPLIES && left() > 60_000; k++) {
        const marker = `s${target}-a${k}`;
        const { sent, answered } = await apply(cloud, marker);
        const ok = await group.waitFor(() => group.acked(marker) >= n, perApplyTimeout, `acks of ${marker}`);
        if (!ok) {
          console.log(`  apply ${k}: only ${group.acked(marker)}/${n} acks in ${perApplyTimeout} ms`);
          break;
        }
        const times = group.ackTimes(marker).filter((t) => t > 0);
        const lastAck = Math.max(...times);
        const confirmedAt = await pollCloud(cloud, (v) => v.applied >= n, 20_000, 50);
        if (k === 0) continue; // warm-up: the first plan with the service (or with this fleet)
        row.completed++;
        row.callMs.push(answered - sent);
        row.afterResponse.push(lastAck - answered);
        row.afterRequest.push(lastAck - sent);
        for (const t of times) row.perNode.push(t - answered);
        if (confirmedAt !== undefined) row.confirmed.push(confirmedAt - answered);
        if (VERBOSE) {
          const per = times.map((t) => t - answered);
          console.log(
            `  apply ${k}: call ${ms(answered - sent)} ms, first ack ${ms(Math.min(...per))}, median ${ms(pct(per, 0.5))}, last ${ms(lastAck - answered)}, cloud shows all applied ${ms(confirmedAt === undefined ? undefined : confirmedAt - answered)} ms`,
          );
        }
        await Bun.sleep(200);
      }
      row.cloudCpuS = cloud.usage().cpuSeconds - cpu0;
      row.simCpuS = group.usage().reduce((sum, u) => sum + u.cpuSeconds, 0) - simCpu0;
      row.peakRssMB = peakRss;
      applies.push(row);
      console.log(
        `  ${row.completed} applies: all acked after response p50 ${ms(pct(row.afterResponse, 0.5))} ms, p99 ${ms(pct(row.afterResponse, 0.99))} ms`,
      );
    }

    // storms
    if (STORM === target && n === target && left() > 90_000) {
      // (1) every edge drops its connection at once
      {
        const cpu0 = cloud.usage().cpuSeconds;
        const resends0 = await group.resends();
        const t0 = now();
        group.drop();
        const welcomed = await group.waitFor(
          () => group.welcomedSince(t0) >= n,
          Math.min(120_000, left() - 60_000),
          "all edges welcomed after the drop",
        );
        const tw = welcomed ? now() : undefined;
        const readyAt = welcomed
          ? await pollCloud(
              cloud,
              (v) => v.ready >= n && v.applied >= n,
              Math.min(60_000, left() - 50_000),
              100,
            )
          : undefined;
        storms.push({
          scenario: "every edge drops its connection (no DISCONNECT: wills), reconnects with backoff",
          edges: n,
          cloudBackMs: undefined,
          welcomedMs: tw !== undefined ? tw - t0 : undefined,
          readyMs: readyAt !== undefined ? readyAt - t0 : undefined,
          cloudCpuS: cloud.usage().cpuSeconds - cpu0,
          ...(await resendsSince(resends0)),
          note: welcomed ? "" : `only ${group.welcomedSince(t0)} of ${n} welcomed`,
        });
        console.log(`  storm (drop): all welcomed after ${sec(storms.at(-1)?.welcomedMs)} s`);
      }
      // (2) the cloud restarts
      if (left() > 60_000) {
        await Bun.sleep(2000);
        const resends0 = await group.resends();
        const t0 = now();
        const stopMs = await cloud.stop();
        const upMs = await cloud.start();
        const cpuStart = cloud.usage().cpuSeconds;
        const welcomed = await group.waitFor(
          () => group.welcomedSince(t0) >= n,
          Math.min(120_000, left() - 40_000),
          "all edges welcomed after the cloud restart",
        );
        const tw = welcomed ? now() : undefined;
        const readyAt = welcomed
          ? await pollCloud(
              cloud,
              (v) => v.ready >= n && v.applied >= n,
              Math.min(60_000, left() - 30_000),
              100,
            )
          : undefined;
        storms.push({
          scenario: `the cloud restarts (SIGTERM, stopped in ${(stopMs / 1000).toFixed(1)} s, started again on the same data dir)`,
          edges: n,
          cloudBackMs: stopMs + upMs,
          welcomedMs: tw !== undefined ? tw - t0 : undefined,
          readyMs: readyAt !== undefined ? readyAt - t0 : undefined,
          cloudCpuS: cloud.usage().cpuSeconds - cpuStart,
          ...(await resendsSince(resends0)),
          note: welcomed ? "" : `only ${group.welcomedSince(t0)} of ${n} welcomed`,
        });
        console.log(`  storm (cloud restart): all welcomed after ${sec(storms.at(-1)?.welcomedMs)} s`);
      }
    }
  }
  clearInterval(sampler);
  // graceful end: edges say offline, the cloud stops
  await Promise.race([Promise.all(fleets.map((f) => f.close())), Bun.sleep(10_000)]);
  await cloud.stop(PROFILE_DIR ? 60_000 : 5000); // a profile is written on exit
}

function report(): void {
  const out: string[] = [];
  out.push(`\nMachine: ${machine}`);
  out.push(
    `Cloud: ${cloudDescription}, \`cloud --log-level warn\`; simulated edges: bench/sim-edges.ts (lite MQTT client${REPORT_STATUS ? ", status reports on" : ""}). Total run ${((now() - started) / 1000).toFixed(0)} s.`,
  );
  if (applies.length > 0) {
    out.push(
      "\n**Apply → all ACKed** (ms, over the applies after a warm-up; with 20 applies p99 is the slowest one). " +
        "`call`: the apply request until its response; `last ack`: until the last node sent its ack, counted from the " +
        "response and from the request; `per-node`: every node's ack, from the response; `API`: until GET /api/v1/nodes " +
        "shows every node's appliedRevision = desiredRevision, from the response\n",
    );
    out.push(
      "| edges | applies | call p50 | call p99 | last ack p50 | last ack p99 | request → last ack p50 | request → last ack p99 | per-node p50 | per-node p99 | API p50 | API p99 | cloud CPU s | simulator CPU s | cloud peak RSS MB |",
    );
    out.push(
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of applies) {
      out.push(
        `| ${int(r.edges)} | ${r.completed} | ${ms(pct(r.callMs, 0.5))} | ${ms(pct(r.callMs, 0.99))} | ${ms(pct(r.afterResponse, 0.5))} | ${ms(pct(r.afterResponse, 0.99))} | ${ms(pct(r.afterRequest, 0.5))} | ${ms(pct(r.afterRequest, 0.99))} | ${ms(pct(r.perNode, 0.5))} | ${ms(pct(r.perNode, 0.99))} | ${ms(pct(r.confirmed, 0.5))} | ${ms(pct(r.confirmed, 0.99))} | ${r.cloudCpuS.toFixed(1)} | ${r.simCpuS.toFixed(1)} | ${r.peakRssMB.toFixed(0)} |`,
      );
    }
  }
  if (stages.length > 0) {
    out.push("\n**Connected edges at idle** (cloud CPU: % of one core over the idle window)\n");
    out.push(
      "| edges | join s (joins/s) | connect → all welcomed s | → all Ready+applied s | cloud peak RSS MB while connecting | heartbeat s | idle window s | cloud RSS MB (idle, max) | cloud CPU % (idle) | simulator RSS MB | simulator CPU % | hello retries / duplicate plans while connecting | note |",
    );
    out.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (const s of stages) {
      const added = s.joined - (stages[stages.indexOf(s) - 1]?.joined ?? 0);
      out.push(
        `| ${int(s.connected)} | ${sec(s.joinMs)} (${Math.round(added / (s.joinMs / 1000))}) | ${sec(s.connectMs)} | ${sec(s.settledMs)} | ${s.connectPeakRssMB.toFixed(0)} | ${s.heartbeatSeconds} | ${s.idleS.toFixed(0)} | ${s.rssMB.toFixed(0)} | ${s.cpuPct.toFixed(1)} | ${s.simRssMB.toFixed(0)} | ${s.simCpuPct.toFixed(1)} | ${int(s.helloRetries)} / ${int(s.duplicates)} | ${s.note} |`,
      );
    }
  }
  if (storms.length > 0) {
    out.push("\n**Reconnect storm** (s from the event)\n");
    out.push(
      "| scenario | edges | cloud answering again | all hellos answered | API: all Ready + applied | cloud CPU s | hello retries | failed connection attempts | note |",
    );
    out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (const s of storms) {
      out.push(
        `| ${s.scenario} | ${int(s.edges)} | ${sec(s.cloudBackMs)} | ${sec(s.welcomedMs)} | ${sec(s.readyMs)} | ${s.cloudCpuS.toFixed(1)} | ${int(s.helloRetries)} | ${int(s.connectFailures)} | ${s.note} |`,
      );
    }
  }
  console.log(out.join("\n"));
}

try {
  await run();
} catch (err) {
  console.error(`benchmark failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  report();
  cleanup();
}
process.exit();
