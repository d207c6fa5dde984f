// Per-request JavaScript cost of the HTTP proxy engine (src/mesh/proxy/) alone: no sockets, no
// kernel, no other process. A client connection and one pooled upstream connection are in-memory
// Duplexes that accept every write at once; each request is one keep-alive request delivered to the
// client side, then its response delivered to the upstream side, all synchronously. What remains is
// the engine's own work per request (parse, route, rewrite, relay, pool), in ns. It is the measure
// precise enough to compare two versions of the engine (bench/proxy-engine.ts, through real sockets
// and wrk, is dominated by the kernel and the event loop and varies by several per cent run to run).
//
// Scenarios: get (a GET whose response goes to the client unchanged, the common case), rewrite (the
// response has hop-by-hop fields, so its head is rewritten), post (a POST with a small body that
// travels in the same write as the head).
//
//   ./node_modules/.bin/bun bench/proxy-engine-memory.ts [--requests 300000] [--rounds 5]
//       [--scenario get|rewrite|post|all]
//   ./node_modules/.bin/bun bench/proxy-engine-memory.ts --base DIR [--pairs 8] [options above]
//
// The first form measures this tree: per scenario, rounds of N requests after a warm-up, and the
// median round. With --base DIR (another checkout of levee, e.g. a `git worktree` of an older commit
// with node_modules linked) it compares: each pair runs DIR's engine and this tree's engine in two
// fresh processes one after the other (the order alternating), and reports each pair's medians and
// the ratio this/base, then the median of the ratios. On a shared machine run ≥ 8 pairs.
import { resolve } from "node:path";
import type { Duplex } from "../src/mesh/contracts.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const HERE = resolve(import.meta.dir, "..");
const requests = Number(flag("--requests") ?? 300_000);
const rounds = Number(flag("--rounds") ?? 5);
const scenarioFlag = flag("--scenario") ?? "all";
const SCENARIOS = ["get", "rewrite", "post"] as const;
type Scenario = (typeof SCENARIOS)[number];
const scenarios: Scenario[] = scenarioFlag === "all" ? [...SCENARIOS] : [scenarioFlag as Scenario];
for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`);

const REQUESTS: Record<Scenario, string> = {
  get: "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
  rewrite: "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
  post: 'POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"hello":"world"}',
};
const RESPONSES: Record<Scenario, string> = {
  get: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world\n",
  rewrite:
    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 12\r\n\r\nhello world\n",
  post: "HTTP/1.1 201 Created\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world\n",
};

const EMPTY = new Uint8Array(0);

/** Bytes each response must at least have brought the client (its status line and body). */
const MIN_RESPONSE = 29;

type Handler = ((...a: never[]) => void) | null;

/** A Duplex in memory: every write is taken at once (counted), events are delivered by the bench. */
class MemoryDuplex implements Duplex {
  data: ((chunk: Uint8Array) => void) | null = null;
  written = 0;
  readonly remoteAddress = "127.0.0.1";
  write(chunk: Uint8Array): boolean {
    this.written += chunk.byteLength;
    return true;
  }
  end(): void {}
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
  }
  pause(): void {}
  resume(): void {}
  onData(handler: (chunk: Uint8Array) => void): void {
    this.data = handler;
  }
  onDrain(_: Handler): void {}
  onEnd(_: Handler): void {}
  onClose(_: Handler): void {}
}

interface Round {
  wallNs: number;
  cpuNs: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * Calls a Duplex's data handler. A socket's handlers are called from native code, never inlined
 * into a caller; calling them through one site that has seen many functions keeps the JIT from
 * inlining the engine into the benchmark's loop (which it would, unlike anything in production).
 */
function deliver(handler: (chunk: Uint8Array) => void, chunk: Uint8Array): void {
  handler(chunk);
}
const others = Array.from({ length: 16 }, (_, i) => (chunk: Uint8Array) => chunk.byteLength + i);
for (let i = 0; i < 100_000; i++) deliver(others[i & 15] as (chunk: Uint8Array) => void, EMPTY);

/** Runs one scenario against the engine of `tree`: the rounds' ns per request. */
async function measure(tree: string, scenario: Scenario): Promise<Round[]> {
  const { createHttpProxy } = await import(`${tree}/src/mesh/proxy/http-proxy.ts`);
  const upstream = new MemoryDuplex();
  const client = new MemoryDuplex();
  const proxy = createHttpProxy({
    dialer: { dial: async () => upstream },
    route: () => ({ kind: "dial", target: { kind: "local", service: "s", index: 0, port: 1 }, done() {} }),
  });
  proxy.serve(client, { remoteAddress: "127.0.0.1" });
  const req = Buffer.from(REQUESTS[scenario]);
  const res = Buffer.from(RESPONSES[scenario]);
  const toClient = client.data as (chunk: Uint8Array) => void;
  toClient(req);
  await Bun.sleep(5); // the first request dials
  const toUpstream = upstream.data as (chunk: Uint8Array) => void;
  toUpstream(res);
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      deliver(toClient, req);
      deliver(toUpstream, res);
    }
  };
  run(50_000); // warm-up: the JIT's tiers
  const out: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const before = client.written;
    const c0 = process.cpuUsage();
    const t0 = Bun.nanoseconds();
    run(requests);
    const wall = Bun.nanoseconds() - t0;
    const cpu = process.cpuUsage(c0);
    if (client.destroyed || upstream.destroyed || client.written - before < requests * MIN_RESPONSE)
      throw new Error(`responses missing in ${scenario}: ${client.written - before} bytes`);
    out.push({ wallNs: wall / requests, cpuNs: ((cpu.user + cpu.system) * 1000) / requests });
  }
  proxy.close();
  return out;
}

const fmt = (n: number) => n.toFixed(0).padStart(7);

if (args.includes("--child")) {
  // One process, one tree, one scenario: the median round as JSON.
  const tree = flag("--tree") ?? HERE;
  const result = await measure(tree, scenarios[0] as Scenario);
  console.log(
    JSON.stringify({
      wallNs: median(result.map((r) => r.wallNs)),
      cpuNs: median(result.map((r) => r.cpuNs)),
    }),
  );
  process.exit(0);
}

const base = flag("--base");
if (base === undefined) {
  console.log(`engine: ${HERE}; ${rounds} rounds of ${requests} requests after 50000 to warm up`);
  console.log("scenario  round   wall ns/req   CPU ns/req");
  for (const scenario of scenarios) {
    const result = await measure(HERE, scenario);
    result.forEach((r, i) => {
      console.log(
        `${scenario.padEnd(9)} ${String(i + 1).padStart(5)}   ${fmt(r.wallNs)}       ${fmt(r.cpuNs)}`,
      );
    });
    const wall = median(result.map((r) => r.wallNs));
    const cpu = median(result.map((r) => r.cpuNs));
    console.log(`${scenario.padEnd(9)} median   ${fmt(wall)}       ${fmt(cpu)}`);
  }
  process.exit(0);
}

// --- A/B: base DIR against this tree, fresh processes, order alternating ---
const pairs = Number(flag("--pairs") ?? 8);

async function child(tree: string, scenario: Scenario): Promise<{ wallNs: number; cpuNs: number }> {
  const proc = Bun.spawn(
    [
      process.execPath,
      import.meta.path,
      "--child",
      "--tree",
      tree,
      "--scenario",
      scenario,
      "--requests",
      String(requests),
      "--rounds",
      String(rounds),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const text = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`the benchmark of ${tree} failed`);
  return JSON.parse(text);
}

console.log(
  `base: ${base}\nthis: ${HERE}\n${pairs} pairs; each run: median of ${rounds} rounds of ${requests} requests`,
);
for (const scenario of scenarios) {
  console.log(`\n${scenario}: ns per request (wall; CPU)`);
  console.log("pair   base wall   this wall   this/base   base CPU   this CPU   this/base");
  const wallRatios: number[] = [];
  const cpuRatios: number[] = [];
  const rows: { b: { wallNs: number; cpuNs: number }; t: { wallNs: number; cpuNs: number } }[] = [];
  for (let p = 0; p < pairs; p++) {
    let b: { wallNs: number; cpuNs: number };
    let t: { wallNs: number; cpuNs: number };
    if (p % 2 === 0) {
      b = await child(base, scenario);
      t = await child(HERE, scenario);
    } else {
      t = await child(HERE, scenario);
      b = await child(base, scenario);
    }
    rows.push({ b, t });
    wallRatios.push(t.wallNs / b.wallNs);
    cpuRatios.push(t.cpuNs / b.cpuNs);
    console.log(
      `${String(p + 1).padStart(4)}   ${fmt(b.wallNs)}     ${fmt(t.wallNs)}      ${(t.wallNs / b.wallNs).toFixed(3)}    ${fmt(b.cpuNs)}    ${fmt(t.cpuNs)}     ${(t.cpuNs / b.cpuNs).toFixed(3)}`,
    );
  }
  const m = (f: (r: (typeof rows)[number]) => number) => fmt(median(rows.map(f)));
  console.log(
    `median ${m((r) => r.b.wallNs)}     ${m((r) => r.t.wallNs)}      ${median(wallRatios).toFixed(3)}    ${m((r) => r.b.cpuNs)}    ${m((r) => r.t.cpuNs)}     ${median(cpuRatios).toFixed(3)}`,
  );
}
process.exit(0);
