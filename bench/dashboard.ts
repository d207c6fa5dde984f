// Dashboard cost benchmark: a real `levee cloud` (child process), a fleet of simulated edges
// (bench/sim-edges.ts: the real sync protocol, each reporting its worker running and, while a
// dashboard watches, a traffic report every 2 s as nodes do), a Service with a worker on every
// simulated edge, then browser-like dashboard sessions. Prints a Markdown table.
//
//   ./node_modules/.bin/bun bench/dashboard.ts [--edges 1000] [--sessions 10] [--seconds 60] [--traffic 0]
//
// Measured: the first load of each page (login excluded: GET with the session cookie, the whole
// HTML; the median of 5 loads), then the cloud's CPU (utime+stime from /proc/PID/stat) over
// --seconds, first with no dashboard open, then with --sessions sessions open. A session does what
// the browser script does (src/cloud/dashboard/assets/client.js): it keeps the live stream
// (/ui/data/live) open and, on each change event naming a topic its page shows, refetches the
// page's live region (Levee-Partial); on a "traffic" change a traffic page refetches
// /ui/data/traffic (also every 5 s) and a map its link rates (/ui/data/links).
// The sessions are spread over the map, services, events and traffic pages. The extra CPU is
// reported in percent of one core.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { joinSimNodes, now, processUsage, SimFleet } from "./sim-edges.ts";

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const EDGES = flag("--edges", 1000);
const SESSIONS = flag("--sessions", 10);
const SECONDS = flag("--seconds", 60);
/** --traffic 0: the simulated edges send no traffic reports (the figures of before they did). */
const TRAFFIC = flag("--traffic", 1) !== 0;
const REPO = join(import.meta.dir, "..");
const tmp = mkdtempSync(join(tmpdir(), "levee-bench-dashboard-"));
const procs = new Set<Subprocess>();
const cleanup = () => {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
};
process.on("exit", cleanup);

function freeAddress(): string {
  for (let n = 100; n < 130; n++) {
    try {
      for (const port of [7400, 7401, 1883])
        Bun.listen({ hostname: `127.0.0.${n}`, port, socket: { data() {} } }).stop(true);
      return `127.0.0.${n}`;
    } catch {
      // in use
    }
  }
  throw new Error("no free loopback address in 127.0.0.100-129");
}

const address = freeAddress();
const api = `http://${address}:7400`;
const dataDir = join(tmp, "cloud");
const cloud = Bun.spawn(
  [
    process.execPath,
    join(REPO, "src/cli/main.ts"),
    "cloud",
    "--bind-address",
    address,
    "--node-name",
    "bench-cloud",
    "--data-dir",
    dataDir,
    "--log-level",
    "warn",
  ],
  { stdin: "ignore", stdout: Bun.file(join(tmp, "cloud.log")), stderr: Bun.file(join(tmp, "cloud.log")) },
);
procs.add(cloud);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = now();
  while (now() - t0 < timeoutMs) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

await waitFor("the cloud", async () => (await fetch(`${api}/readyz`)).ok, 30_000);
const adminToken = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${api}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, ...(init.headers ?? {}) },
  });

console.log(`joining ${EDGES} simulated edges ...`);
const names = Array.from({ length: EDGES }, (_, i) => `sim-${i}`);
const joined = await joinSimNodes({ cloud: api, adminToken, names, labels: { "levee.bench/sim": "true" } });
const fleet = await SimFleet.start({
  identities: joined.identities,
  connectRatePerSec: 1000,
  reportStatus: true,
  trafficReports: TRAFFIC,
});
const readyNodes = async () => {
  const items = ((await (await admin("/api/v1/nodes")).json()) as { items: { status: { phase: string } }[] })
    .items;
  return items.filter((n) => n.status.phase === "Ready").length;
};
await waitFor(`${EDGES + 1} nodes Ready`, async () => (await readyNodes()) >= EDGES + 1, 120_000);
const applied = await admin("/api/v1/apply", {
  method: "POST",
  body: JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "camera" },
    spec: {
      template: { command: ["run"] },
      workers: [{ nodeSelector: { "levee.bench/sim": "true" }, replicas: 1 }],
    },
  }),
});
if (!applied.ok) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
await waitFor(
  "every worker running",
  async () => {
    const items = (
      (await (await admin("/api/v1/workers?service=camera")).json()) as { items: { ready: boolean }[] }
    ).items;
    return items.length >= EDGES && items.every((w) => w.ready);
  },
  120_000,
);
await Bun.sleep(3000);

async function login(): Promise<string> {
  const res = await fetch(`${api}/ui/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
    body: new URLSearchParams({ token: adminToken }).toString(),
  });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (!cookie.startsWith("levee_session=")) throw new Error(`login: ${res.status}`);
  return cookie;
}

// First page loads.
const cookie = await login();
const PAGES: { path: string; topics: string[] }[] = [
  { path: "/ui", topics: ["nodes"] },
  { path: "/ui/services", topics: ["workers", "nodes"] },
  { path: "/ui/events", topics: ["events"] },
  { path: "/ui/traffic", topics: [] },
];
const loads: string[] = [];
for (const page of PAGES) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = now();
    bytes = (await (await fetch(`${api}${page.path}`, { headers: { cookie } })).arrayBuffer()).byteLength;
    times.push(now() - t0);
  }
  times.sort((a, b) => a - b);
  loads.push(
    `| first load of ${page.path} | ${times[2]?.toFixed(0)} ms (median of 5; ${(bytes / 1024).toFixed(0)} KiB) | ≤ 1 s |`,
  );
}

const cpuOver = async (seconds: number): Promise<number> => {
  const c0 = processUsage(cloud.pid).cpuSeconds;
  const t0 = now();
  await Bun.sleep(seconds * 1000);
  return ((processUsage(cloud.pid).cpuSeconds - c0) / ((now() - t0) / 1000)) * 100;
};

console.log(`idle, no dashboard open: ${SECONDS} s ...`);
const idle = await cpuOver(SECONDS);

// Sessions, as the browser script behaves.
let refetches = 0;
let dataFetches = 0;
const controllers: AbortController[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const page = PAGES[i % PAGES.length] as (typeof PAGES)[number];
  const sessionCookie = await login();
  const controller = new AbortController();
  controllers.push(controller);
  const refetch = async () => {
    refetches++;
    await (
      await fetch(`${api}${page.path}`, { headers: { cookie: sessionCookie, "levee-partial": "1" } })
    ).arrayBuffer();
  };
  void (async () => {
    const res = await fetch(`${api}/ui/data/live`, {
      headers: { cookie: sessionCookie },
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (!event.includes("event: change") || !data) continue;
        const topics = (JSON.parse(data) as { topics: string[] }).topics;
        if (topics.some((t) => page.topics.includes(t))) await refetch();
        const traffic = page.path === "/ui/traffic" ? "traffic" : page.path === "/ui" ? "links" : undefined;
        if (topics.includes("traffic") && traffic) {
          dataFetches++;
          await (
            await fetch(`${api}/ui/data/${traffic}`, { headers: { cookie: sessionCookie } })
          ).arrayBuffer();
        }
      }
    }
  })().catch(() => {});
  if (page.path === "/ui/traffic") {
    const timer = setInterval(
      () =>
        void fetch(`${api}/ui/data/traffic`, { headers: { cookie: sessionCookie } }).then((r) =>
          r.arrayBuffer(),
        ),
      5000,
    );
    controller.signal.addEventListener("abort", () => clearInterval(timer));
  }
}
console.log(`${SESSIONS} sessions open: ${SECONDS} s ...`);
const watched = await cpuOver(SECONDS);
for (const c of controllers) c.abort();

console.log("");
console.log(
  `Machine: ${cpus().length} CPUs, bun ${Bun.version}; ${EDGES} simulated edges (each a worker of one Service, reporting status${TRAFFIC ? ", and traffic while watched" : ""}), idle fleet`,
);
console.log("");
console.log("| what | measured | target |");
console.log("|---|---|---|");
for (const line of loads) console.log(line);
console.log(`| cloud CPU, no dashboard open | ${idle.toFixed(1)} % of a core | |`);
console.log(
  `| cloud CPU, ${SESSIONS} sessions open | ${watched.toFixed(1)} % of a core (${refetches} refetches, ${dataFetches} traffic/link fetches in ${SECONDS} s) | |`,
);
console.log(`| the dashboard's share | ${(watched - idle).toFixed(1)} % of a core | ≤ 5 % |`);
await fleet.close();
cloud.kill("SIGTERM");
await cloud.exited;
process.exit(0);
