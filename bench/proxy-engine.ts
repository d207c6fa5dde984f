// Micro benchmark of the mesh proxy engine (src/mesh/proxy/) alone: no agents, no catalog, one static
// route. Three ways to reach the same upstream (a small Bun.serve HTTP server, its own process):
//   direct   wrk → upstream
//   haproxy  wrk → HAProxy (Debian package; nbthread 1, mode http, keep-alive both sides,
//            http-reuse always, option forwardfor) → upstream
//   levee    wrk → levee's HTTP proxy engine (its own process; X-Forwarded-For/-Proto/-Host added,
//            pooled keep-alive upstream connections) → upstream
//   splice   wrk → levee's TCP proxy (one upstream connection per client connection, bytes spliced,
//            no HTTP parsing): the floor of a Bun socket data path, for scale
// Each is measured with `wrk -t1 -cC -dDs --latency` (after a warm-up), rounds interleaved, medians
// reported; then a 4 MB POST (sequential requests from this process, keep-alive) through each.
// Everything shares the machine's cores, wrk included: on 2 cores the three processes compete.
//
//   apt-get install -y haproxy wrk
//   ./node_modules/.bin/bun bench/proxy-engine.ts [--duration 10] [--connections 32] [--rounds 3]
//       [--posts 30] [--cpu-prof DIR]
//
// --cpu-prof DIR has bun write the levee process's CPU profile there (summarise it with
// bench/cpuprofile-top.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { wrk as runWrk } from "./wrk.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const role = flag("--role");
const HOST = "127.0.0.1";

// --- orchestration ---

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: string;
  /** CPU time of the proxy process per request, µs (utime + stime over the run). */
  cpuUs: number;
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function wrk(url: string, seconds: number, connections: number): Promise<WrkResult> {
  return { ...(await runWrk(url, [], connections, seconds)), cpuUs: Number.NaN };
}

async function waitPort(port: number): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`http://${HOST}:${port}/`);
      await r.text();
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await Bun.sleep(50);
    }
  }
}

/** A port nobody listens on right now (the kernel's pick). */
function freePort(): number {
  const probe = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};

async function postTimes(url: string, body: Uint8Array, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count + 3; i++) {
    const t0 = performance.now();
    const r = await fetch(url, { method: "POST", body });
    const text = await r.text();
    if (text !== String(body.byteLength)) throw new Error(`POST through ${url}: unexpected answer ${text}`);
    if (i >= 3) times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const seconds = Number(flag("--duration") ?? 10);
  const connections = Number(flag("--connections") ?? 32);
  const rounds = Number(flag("--rounds") ?? 3);
  const posts = Number(flag("--posts") ?? 30);
  const profileDir = flag("--cpu-prof");
  for (const tool of ["wrk", "haproxy"])
    if (Bun.which(tool) === null) {
      process.stderr.write(`${tool} is not installed (apt-get install -y haproxy wrk)\n`);
      process.exit(2);
    }
  const ports = { upstream: freePort(), haproxy: freePort(), levee: freePort(), splice: freePort() };
  const dir = mkdtempSync(join(tmpdir(), "levee-proxy-bench-"));
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(
    cfg,
    [
      "global",
      "  nbthread 1",
      "  maxconn 4000",
      "defaults",
      "  mode http",
      "  option http-keep-alive",
      "  option forwardfor",
      "  timeout connect 5s",
      "  timeout client 60s",
      "  timeout server 60s",
      "  timeout http-keep-alive 60s",
      "frontend fe",
      `  bind ${HOST}:${ports.haproxy}`,
      "  default_backend be",
      "backend be",
      "  http-reuse always",
      `  server s1 ${HOST}:${ports.upstream}`,
      "",
    ].join("\n"),
  );
  const self = new URL(import.meta.url).pathname;
  const bun = process.execPath;
  const procs: Subprocess[] = [];
  const spawn = (cmd: string[]) => {
    const p = Bun.spawn(cmd, { stdout: "inherit", stderr: "inherit" });
    procs.push(p);
    return p;
  };
  const stopAll = () => {
    for (const p of procs) p.kill("SIGTERM");
  };
  process.on("SIGINT", () => {
    stopAll();
    process.exit(130);
  });
  try {
    spawn([bun, self, "--role", "upstream", "--port", String(ports.upstream)]);
    await waitPort(ports.upstream);
    const haproxy = spawn(["haproxy", "-f", cfg]);
    const levee = spawn([
      bun,
      ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      self,
      "--role",
      "levee",
      "--port",
      String(ports.levee),
      "--upstream",
      String(ports.upstream),
    ]);
    const splice = spawn([
      bun,
      self,
      "--role",
      "splice",
      "--port",
      String(ports.splice),
      "--upstream",
      String(ports.upstream),
    ]);
    await waitPort(ports.haproxy);
    await waitPort(ports.levee);
    await waitPort(ports.splice);
    const targets = [
      ["direct", ports.upstream, 0],
      ["haproxy", ports.haproxy, haproxy.pid],
      ["levee", ports.levee, levee.pid],
      ["splice", ports.splice, splice.pid],
    ] as const;
    const results: Record<string, WrkResult[]> = { direct: [], haproxy: [], levee: [], splice: [] };
    for (const [, port] of targets) await wrk(`http://${HOST}:${port}/`, 2, connections); // warm-up
    for (let round = 0; round < rounds; round++)
      for (const [name, port, pid] of targets) {
        const cpu0 = pid === 0 ? 0 : cpuSeconds(pid);
        const r = await wrk(`http://${HOST}:${port}/`, seconds, connections);
        if (pid !== 0) r.cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / (r.rps * seconds);
        results[name]?.push(r);
        process.stderr.write(
          `round ${round + 1} ${name}: ${r.rps.toFixed(0)} rps, p50 ${r.p50} ms, p99 ${r.p99} ms, ` +
            `proxy CPU ${r.cpuUs.toFixed(1)} µs/request ${r.errors}\n`,
        );
      }
    const leveeRss = rssMb(levee.pid);
    const body = new Uint8Array(4 << 20).fill(97);
    const postResults: Record<string, number> = {};
    for (const [name, port] of targets)
      postResults[name] = median(await postTimes(`http://${HOST}:${port}/upload`, body, posts));

    const row = (name: string) => {
      const rs = results[name] ?? [];
      return {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuUs: median(rs.map((r) => r.cpuUs)),
      };
    };
    const d = row("direct");
    const h = row("haproxy");
    const l = row("levee");
    const sp = row("splice");
    const cores = navigator.hardwareConcurrency;
    console.log(
      `\n### Proxy engine: wrk -t1 -c${connections} -d${seconds}s, median of ${rounds} rounds, ${cores} cores, 12-byte responses\n`,
    );
    console.log(
      `| path | req/s | p50 ms | p99 ms | proxy CPU µs/request | 4 MB POST ms (median of ${posts}) |`,
    );
    console.log("|---|---:|---:|---:|---:|---:|");
    for (const [name, r] of [
      ["direct", d],
      ["haproxy (nbthread 1)", h],
      ["levee engine", l],
      ["splice (levee tcp, floor)", sp],
    ] as const) {
      const key = name.split(" ")[0] as string;
      console.log(
        `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${Number.isNaN(r.cpuUs) ? "–" : r.cpuUs.toFixed(1)} | ${(postResults[key] ?? Number.NaN).toFixed(1)} |`,
      );
    }
    console.log(
      `\nlevee / haproxy: throughput ${(l.rps / h.rps).toFixed(2)}×, p99 ${(l.p99 / h.p99).toFixed(2)}×, ` +
        `CPU per request ${(l.cpuUs / h.cpuUs).toFixed(2)}×, 4 MB POST ${((postResults.levee ?? 0) / (postResults.haproxy ?? 1)).toFixed(2)}×`,
    );
    console.log(
      `levee / direct:  throughput ${(l.rps / d.rps).toFixed(2)}×, p99 ${(l.p99 / d.p99).toFixed(2)}×, ` +
        `4 MB POST ${((postResults.levee ?? 0) / (postResults.direct ?? 1)).toFixed(2)}×`,
    );
    console.log(`levee engine RSS after the runs: ${leveeRss.toFixed(1)} MB`);
  } finally {
    stopAll();
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- child roles ---

function upstreamRole(): void {
  const port = Number(flag("--port"));
  const hello = "hello world\n";
  Bun.serve({
    port,
    hostname: HOST,
    maxRequestBodySize: 1 << 30,
    async fetch(req) {
      if (req.method === "POST") {
        let size = 0;
        for await (const chunk of req.body as ReadableStream<Uint8Array>) size += chunk.byteLength;
        return new Response(String(size));
      }
      return new Response(hello);
    },
  });
  process.on("SIGTERM", () => process.exit(0));
}

async function leveeRole(): Promise<void> {
  const { createHttpProxy } = await import("../src/mesh/proxy/http-proxy.ts");
  const { listenDuplex } = await import("../src/mesh/proxy/socket-listen-connect.ts");
  const { localDialer } = await import("../src/mesh/proxy/local-dialer.ts");
  const upstreamPort = Number(flag("--upstream"));
  const decision = {
    kind: "dial" as const,
    target: { kind: "local" as const, service: "bench", index: 0, port: upstreamPort },
    done() {},
  };
  const proxy = createHttpProxy({ dialer: localDialer(), route: () => decision });
  listenDuplex({ hostname: HOST, port: Number(flag("--port")) }, (d) =>
    proxy.serve(d, { remoteAddress: d.remoteAddress }),
  );
  process.on("SIGTERM", () => process.exit(0));
}

async function spliceRole(): Promise<void> {
  const { createTcpProxy } = await import("../src/mesh/proxy/tcp-proxy.ts");
  const { listenDuplex } = await import("../src/mesh/proxy/socket-listen-connect.ts");
  const { localDialer } = await import("../src/mesh/proxy/local-dialer.ts");
  const target = { kind: "local" as const, service: "bench", index: 0, port: Number(flag("--upstream")) };
  const proxy = createTcpProxy({ dialer: localDialer(), route: () => ({ kind: "dial", target }) });
  listenDuplex({ hostname: HOST, port: Number(flag("--port")) }, (d) =>
    proxy.serve(d, { remoteAddress: d.remoteAddress }),
  );
  process.on("SIGTERM", () => process.exit(0));
}

if (role === "upstream") upstreamRole();
else if (role === "levee") await leveeRole();
else if (role === "splice") await spliceRole();
else await main();
