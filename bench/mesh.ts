// The mesh with real agents, all in one run, side by side:
//   (a) same node, HTTP keep-alive, small requests: wrk → the worker directly; → HAProxy (nbthread 1)
//       → the worker; → levee (edge1's service port → edge1's worker)
//   (b) across nodes: wrk → edge2's worker directly; → edge1's forward proxy → tunnel (direct TLS)
//       → edge2 → its worker; the same through the cloud's relay (edge3 runs --mesh-relay-only)
//   (c) a 4 MB POST, time per request, on the same paths
//   and the agents' RSS: idle, peak during the wrk runs, peak during the POSTs (VmRSS every 0.25 s),
//   and edge1's CPU during each same-node wrk run (the agent that serves the port; near 0 when the
//   kernel's fast path carries the traffic).
// A cloud (127.0.0.80) and three edges (.81 .82 .83) are started (the compiled binary, or the source
// with --source) with their own data dirs; HAProxy listens on 127.0.0.84. Everything shares the machine's cores, wrk included.
//
//   apt-get install -y haproxy wrk
//   ./node_modules/.bin/bun bench/mesh.ts [--duration 10] [--connections 32] [--rounds 3] [--posts 20]
//     [--only relayed]   only the cases (and POSTs) whose name matches this regular expression
//     [--log-level debug] [--keep]   the agents' log level; keep the data dirs and logs (agent.log)
//     [--source]         run the agents from the source (bun src/cli/main.ts) instead of a binary that
//                        build/build.ts's buildTarget compiles into the temp dir first (what ships)
//     [--binary PATH]    run the agents from this levee binary
//     [--smol]           run the agents with bun's --smol (BUN_OPTIONS=--smol for a binary)
//     [--agent-env K=V]  (repeatable) environment for the agents only, e.g. BUN_JSC_forceMiniVMMode=0
//     [--threads 1,2]    per core count N: HAProxy nbthread N and an edge with --mesh-threads N
//                        (bench/mesh-threads.ts; edge1 runs --mesh-threads 1, the other edges auto)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { cpuMs } from "./kube-lists.ts";
import { type CaseFigures, caseNames, haproxyConfig, threadEdge, threadsTable } from "./mesh-threads.ts";
import { type WrkResult, wrk } from "./wrk.ts";

const args = process.argv.slice(2);
const num = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const DURATION = num("--duration", 10);
const CONNECTIONS = num("--connections", 32);
const ROUNDS = num("--rounds", 3);
const POSTS = num("--posts", 20);
const text = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ONLY = text("--only");
const LOG_LEVEL = text("--log-level") ?? "warn";
const KEEP = args.includes("--keep");
const SMOL = args.includes("--smol");
const SOURCE = args.includes("--source");
const AGENT_ENV = Object.fromEntries(
  args.flatMap((a, i) => (a === "--agent-env" ? [(args[i + 1] ?? "").split(/=(.*)/s).slice(0, 2)] : [])),
) as Record<string, string>;
const THREADS = (text("--threads") ?? "").split(",").filter(Boolean).map(Number);
/** The core counts beyond one: an edge and an HAProxy each. */
const EXTRA = THREADS.filter((n) => n > 1);
const wanted = (name: string) => ONLY === undefined || new RegExp(ONLY).test(name);
const PORT = 19500;
const HAPROXY = { host: "127.0.0.84", port: 19600 };
const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "levee-bench-mesh-"));
const procs: Subprocess[] = [];

let binary = text("--binary");

function levee(argv: string[], wait = true, log?: string): Promise<string> | Subprocess {
  const smol = SMOL && log !== undefined;
  const command = binary
    ? [binary, ...argv]
    : [BUN, ...(smol ? ["--smol"] : []), join(ROOT, "src/cli/main.ts"), ...argv];
  const proc = Bun.spawn(command, {
    // an agent's output goes to its log file (a pipe nobody reads would fill up and block it)
    stdout: log ? Bun.file(log) : "pipe",
    stderr: log ? Bun.file(log) : "pipe",
    env: {
      ...process.env,
      LEVEE_PORT_REGISTRY: join(dir, "ports.db"),
      ...(binary && smol ? { BUN_OPTIONS: `${process.env.BUN_OPTIONS ?? ""} --smol`.trim() } : {}),
      ...(log ? AGENT_ENV : {}),
    },
  });
  if (!wait) {
    procs.push(proc);
    return proc;
  }
  return (async () => {
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout as ReadableStream).text(),
      new Response(proc.stderr as ReadableStream).text(),
      proc.exited,
    ]);
    if (code !== 0) throw new Error(`levee ${argv.join(" ")}: ${err}`);
    return out;
  })();
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function agent(name: string, address: string, extra: string[]): Subprocess {
  return levee(
    [
      extra[0] as string,
      ...extra.slice(1),
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
    false,
    join(dir, `${name}.log`),
  ) as Subprocess;
}

interface Rss {
  rss: number;
  anon: number;
  file: number;
}

/** VmRSS and its anonymous (heap, malloc, JIT) and file-backed (the binary's pages) parts, MB. */
function rssOf(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) =>
    Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}
const mb = (r: Rss | undefined) =>
  r ? `${r.rss.toFixed(0)} (anon ${r.anon.toFixed(0)}, file ${r.file.toFixed(0)})` : "?";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function postTimes(url: string, init: RequestInit & { proxy?: string }): Promise<number> {
  const body = new Uint8Array(4 * 1024 * 1024).fill(7);
  const times: number[] = [];
  for (let i = 0; i < POSTS + 2; i++) {
    const started = performance.now();
    const res = await fetch(url, { ...init, method: "POST", body });
    const text = await res.text();
    if (text !== String(body.length)) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 200)}`);
    if (i >= 2) times.push(performance.now() - started);
  }
  return median(times);
}

async function main(): Promise<void> {
  if (!SOURCE && !binary) {
    const { buildTarget } = await import("../build/build.ts");
    binary = (await buildTarget("linux-x64", dir)).outfile;
  }
  const envText = Object.entries(AGENT_ENV)
    .map(([k, v]) => `, ${k}=${v}`)
    .join("");
  process.stderr.write(`agents: ${binary ?? "from the source"}${SMOL ? ", --smol" : ""}${envText}\n`);
  const cloud = agent("cloud", "127.0.0.80", ["cloud"]);
  await until("the cloud", async () => (await fetch("http://127.0.0.80:7401/readyz")).ok);
  const cloudFlags = ["--data-dir", join(dir, "cloud")];
  const token = (
    (await levee(["ctl", "token", "create", "--uses", String(3 + EXTRA.length), ...cloudFlags])) as string
  )
    .trim()
    .split("\n")
    .at(-1) as string;
  /** `levee edge` joining the cloud, with `extra` flags. */
  const edgeArgs = (...extra: string[]) => [
    "edge",
    "--cloud",
    "http://127.0.0.80:7400",
    "--token",
    token,
    ...extra,
  ];
  const edges = [
    agent("edge1", "127.0.0.81", edgeArgs("--mesh-threads", "1")),
    agent("edge2", "127.0.0.82", edgeArgs()),
    agent("edge3", "127.0.0.83", edgeArgs("--mesh-relay-only")),
    ...EXTRA.map((n) =>
      agent(threadEdge(n).name, threadEdge(n).address, edgeArgs("--mesh-threads", String(n))),
    ),
  ];
  const edgeNames = ["edge1", "edge2", "edge3", ...EXTRA.map((n) => threadEdge(n).name)];
  const manifest = join(dir, "bench.json");
  writeFileSync(
    manifest,
    JSON.stringify({
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "bench" },
      spec: {
        template: {
          // the workers run as they would without --smol and --agent-env
          command: [
            "env",
            ...Object.keys(AGENT_ENV).flatMap((k) => ["-u", k]),
            BUN,
            join(ROOT, "bench/mesh-worker.ts"),
          ],
          env: { BUN_OPTIONS: "" },
          port: "auto",
          health: { http: "/", interval: "1s" },
        },
        workers: edgeNames.map((node) => ({ node })),
        mesh: { port: PORT },
      },
    }),
  );
  await until("the edges to join", async () => {
    const nodes = (await levee(["ctl", "get", "nodes", ...cloudFlags])) as string;
    return edgeNames.every((e) => nodes.includes(e));
  });
  await levee(["ctl", "apply", "-f", manifest, "--wait", "--timeout", "60s", ...cloudFlags]);
  const portOf = async (address: string) =>
    (
      (await (await fetch(`http://${address}:7401/v1/workers?service=bench`)).json()) as {
        items: { port: number }[];
      }
    ).items[0]?.port as number;
  const w1 = await portOf("127.0.0.81");
  const w2 = await portOf("127.0.0.82");
  await until("routes applied", async () => {
    const r = await fetch(`http://127.0.0.81:${PORT}/`);
    return r.ok;
  });
  const pids = Object.fromEntries(
    ["cloud", ...edgeNames].map((n) => [
      n,
      Number(readFileSync(join(dir, n, "levee.pid"), "utf8").split(" ")[0]),
    ]),
  );
  /** HAProxy with `nbthread` threads on `port` in front of the worker on `workerPort`. */
  const startHaproxy = async (nbthread: number, port: number, workerPort: number) => {
    const cfg = join(dir, `haproxy-${nbthread}.cfg`);
    writeFileSync(cfg, haproxyConfig(nbthread, `${HAPROXY.host}:${port}`, workerPort));
    const proc = Bun.spawn(["haproxy", "-f", cfg], { stdout: "inherit", stderr: "inherit" });
    procs.push(proc);
    await until("haproxy", async () => (await fetch(`http://${HAPROXY.host}:${port}/`)).ok);
    return proc;
  };
  const haproxy = await startHaproxy(1, HAPROXY.port, w1);
  const threadCases: { group: string; name: string; url: string; cpuPid: number }[] = [];
  for (const n of EXTRA) {
    const edge = threadEdge(n);
    const proxy = await startHaproxy(n, HAPROXY.port + n, await portOf(edge.address));
    await until(`${edge.name}'s routes`, async () => (await fetch(`http://${edge.address}:${PORT}/`)).ok);
    const names = caseNames(n);
    threadCases.push(
      {
        group: "(d) cores",
        name: names.haproxy,
        url: `http://${HAPROXY.host}:${HAPROXY.port + n}/`,
        cpuPid: proxy.pid,
      },
      {
        group: "(d) cores",
        name: names.levee,
        url: `http://${edge.address}:${PORT}/`,
        cpuPid: pids[edge.name] as number,
      },
    );
  }

  await Bun.sleep(2000);
  const idle = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, rssOf(pid)]));
  // Peaks per phase: the wrk runs (small requests), then the 4 MB POSTs.
  const peakSmall: Record<string, Rss> = {};
  const peakPost: Record<string, Rss> = {};
  let peak = peakSmall;
  const sampler = setInterval(() => {
    for (const [n, pid] of Object.entries(pids)) {
      const now = rssOf(pid);
      if (now.rss > (peak[n]?.rss ?? 0)) peak[n] = now;
    }
  }, 250);

  const viaProxy = (agentAddress: string) => ({
    url: `http://${agentAddress}:7403/`,
    headers: ["X-Levee-Node: edge2", `Host: bench:${PORT}`],
  });
  const cases: { group: string; name: string; url: string; headers?: string[]; cpuPid?: number }[] = [
    { group: "(a) same node", name: "direct", url: `http://127.0.0.1:${w1}/` },
    {
      group: "(a) same node",
      name: "HAProxy",
      url: `http://${HAPROXY.host}:${HAPROXY.port}/`,
      cpuPid: haproxy.pid,
    },
    { group: "(a) same node", name: "levee", url: `http://127.0.0.81:${PORT}/`, cpuPid: pids.edge1 },
    { group: "(b) across nodes", name: "direct (edge2's worker)", url: `http://127.0.0.1:${w2}/` },
    { group: "(b) across nodes", name: "levee, direct tunnel", ...viaProxy("127.0.0.81") },
    { group: "(b) across nodes", name: "levee, relayed", ...viaProxy("127.0.0.83") },
    ...threadCases,
  ];
  const results = new Map<string, WrkResult[]>();
  const chosen = cases.filter((c) => wanted(c.name));
  // warm-up (pools, JIT, the relay's legs); --rounds 0: no wrk at all (the 4 MB POSTs only)
  if (ROUNDS > 0) for (const c of chosen) await wrk(c.url, c.headers ?? [], CONNECTIONS, DURATION);
  /** edge1's CPU during each run of a case, in % of one core. */
  const edgeCpu = new Map<string, number[]>();
  /** The CPU of the proxy process of a case (HAProxy, or the agent that serves the port), % of one core. */
  const proxyCpu = new Map<string, number[]>();
  /** The same per request, µs (less sensitive than req/s to other load on the machine). */
  const proxyUs = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of chosen) {
      const cpuBefore = cpuMs(pids.edge1 as number);
      const proxyBefore = c.cpuPid ? cpuMs(c.cpuPid) : 0;
      const started = performance.now();
      const r = await wrk(c.url, c.headers ?? [], CONNECTIONS, DURATION);
      const elapsed = performance.now() - started;
      const cpu = ((cpuMs(pids.edge1 as number) - cpuBefore) / elapsed) * 100;
      edgeCpu.set(c.name, [...(edgeCpu.get(c.name) ?? []), cpu]);
      if (c.cpuPid) {
        const usedMs = cpuMs(c.cpuPid) - proxyBefore;
        proxyCpu.set(c.name, [...(proxyCpu.get(c.name) ?? []), (usedMs / elapsed) * 100]);
        const perRequest = (usedMs * 1000) / (r.rps * (elapsed / 1000));
        proxyUs.set(c.name, [...(proxyUs.get(c.name) ?? []), perRequest]);
      }
      results.set(c.name, [...(results.get(c.name) ?? []), r]);
      process.stderr.write(
        `round ${round + 1} ${c.name}: ${r.rps.toFixed(0)} rps p99 ${r.p99} ms ${r.errors}; RSS peak MB ${Object.entries(
          peak,
        )
          .map(([n, r]) => `${n} ${r.rss.toFixed(0)}`)
          .join(" ")}\n`,
      );
    }
  }
  peak = peakPost;
  const posting = async (name: string, url: string, init: RequestInit & { proxy?: string } = {}) =>
    wanted(name) && POSTS > 0 ? await postTimes(url, init) : Number.NaN;
  const post = {
    direct: await posting("direct", `http://127.0.0.1:${w2}/`),
    haproxy: await posting("HAProxy", `http://${HAPROXY.host}:${HAPROXY.port}/`),
    sameNode: await posting("levee", `http://127.0.0.81:${PORT}/`),
    tunnel: await posting("levee, direct tunnel", `http://edge2:${PORT}/`, {
      proxy: "http://127.0.0.81:7403",
    }),
    relayed: await posting("levee, relayed", `http://edge2:${PORT}/`, { proxy: "http://127.0.0.83:7403" }),
  };
  clearInterval(sampler);

  const row = (name: string, base?: string) => {
    const rs = results.get(name) ?? [];
    const rps = median(rs.map((r) => r.rps));
    const baseRps = base ? median((results.get(base) ?? []).map((r) => r.rps)) : Number.NaN;
    const errors = rs
      .map((r) => r.errors)
      .filter(Boolean)
      .join("; ");
    return `| ${name} | ${rps.toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${base ? `${(rps / baseRps).toFixed(2)}×` : ""} | ${errors} |`;
  };
  const cpuOf = (name: string) => `${median(edgeCpu.get(name) ?? []).toFixed(1)} %`;
  const figures = (name: string): CaseFigures | undefined => {
    const rs = results.get(name);
    if (!rs) return undefined;
    return {
      rps: median(rs.map((r) => r.rps)),
      p99: median(rs.map((r) => r.p99)),
      cpu: median(proxyCpu.get(name) ?? []),
      cpuUs: median(proxyUs.get(name) ?? []),
    };
  };
  const out = [
    `wrk -t1 -c${CONNECTIONS} -d${DURATION}s, ${ROUNDS} rounds interleaved (medians); 4 MB POST: median of ${POSTS} sequential requests (keep-alive)`,
    "",
    "| (a) same node | rps | p50 ms | p99 ms | vs HAProxy | errors |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    row("direct", "HAProxy"),
    row("HAProxy", "HAProxy"),
    row("levee", "HAProxy"),
    "",
    `edge1's CPU during the same-node runs (% of one core; medians): direct ${cpuOf("direct")}, HAProxy ${cpuOf("HAProxy")}, levee ${cpuOf("levee")}`,
    "",
    "| (b) across nodes | rps | p50 ms | p99 ms | vs direct | errors |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    row("direct (edge2's worker)", "direct (edge2's worker)"),
    row("levee, direct tunnel", "direct (edge2's worker)"),
    row("levee, relayed", "direct (edge2's worker)"),
    "",
    ...(THREADS.length > 0
      ? [
          "(d) per core count: HAProxy nbthread N and levee --mesh-threads N in front of the same worker (same node, small keep-alive requests); CPU: the proxy process, % of one core",
          "",
          ...threadsTable(THREADS, figures),
          "",
        ]
      : []),
    "| (c) 4 MB POST | ms per request | vs direct |",
    "| --- | ---: | ---: |",
    `| direct to the worker | ${post.direct.toFixed(1)} | 1.00× |`,
    `| HAProxy, same node | ${post.haproxy.toFixed(1)} | ${(post.haproxy / post.direct).toFixed(2)}× |`,
    `| levee, same node (service port) | ${post.sameNode.toFixed(1)} | ${(post.sameNode / post.direct).toFixed(2)}× |`,
    `| levee, across nodes (forward proxy → tunnel) | ${post.tunnel.toFixed(1)} | ${(post.tunnel / post.direct).toFixed(2)}× |`,
    `| levee, across nodes, relayed | ${post.relayed.toFixed(1)} | ${(post.relayed / post.direct).toFixed(2)}× |`,
    "",
    `Agent RSS, MB (sampled every 0.25 s; ${binary ? "the compiled binary" : "from the source"}${SMOL ? ", --smol" : ""}${Object.entries(
      AGENT_ENV,
    )
      .map(([k, v]) => `, ${k}=${v}`)
      .join("")}):`,
    "",
    "| agent | idle (anon, file) | peak, small requests (anon, file) | peak, 4 MB POSTs (anon, file) |",
    "| --- | ---: | ---: | ---: |",
    ...Object.keys(pids).map((n) => `| ${n} | ${mb(idle[n])} | ${mb(peakSmall[n])} | ${mb(peakPost[n])} |`),
  ];
  console.log(out.join("\n"));
  void cloud;
  void edges;
}

try {
  await main();
} finally {
  for (const p of procs.reverse()) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  if (KEEP) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
