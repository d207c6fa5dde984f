// The per-core part of bench/mesh.ts (--threads 1,2): for each N, HAProxy with `nbthread N` and a
// levee edge with `--mesh-threads N`, both in front of the same worker (that edge's), same-node
// small keep-alive requests, in the interleaved rounds of the other cases; printed as one table of
// req/s, p99, the ratio levee/HAProxy and the CPU of each proxy process (all its threads), also per
// request (which other load on the machine moves less than req/s).

/** The HAProxy configuration of the benchmark: `nbthread` threads, one server (the worker). */
export function haproxyConfig(nbthread: number, bind: string, workerPort: number): string {
  return `global\n  nbthread ${nbthread}\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n  http-reuse always\n  option forwardfor\nfrontend f\n  bind ${bind}\n  default_backend b\nbackend b\n  server w1 127.0.0.1:${workerPort}\n`;
}

/** The edge agent that runs with `--mesh-threads n` (n > 1; n = 1 is edge1). */
export const threadEdge = (n: number) => ({ name: `edge-t${n}`, address: `127.0.0.${90 + n}` });

/** The case names for N (N = 1: the same-node cases "HAProxy" and "levee"). */
export const caseNames = (n: number) =>
  n === 1
    ? { haproxy: "HAProxy", levee: "levee" }
    : { haproxy: `HAProxy nbthread ${n}`, levee: `levee ${n} threads` };

export interface CaseFigures {
  rps: number;
  p99: number;
  /** The proxy process's CPU during the runs, % of one core. */
  cpu: number;
  /** Its CPU per request, µs. */
  cpuUs: number;
}

/** The table: per N, HAProxy and levee side by side. */
export function threadsTable(
  threads: number[],
  figures: (name: string) => CaseFigures | undefined,
): string[] {
  const lines = [
    "| N | HAProxy nbthread N rps | p99 ms | CPU | µs/req | levee N threads rps | p99 ms | CPU | µs/req | levee / HAProxy rps | CPU/req |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const n of threads) {
    const names = caseNames(n);
    const h = figures(names.haproxy);
    const l = figures(names.levee);
    if (!h || !l) continue;
    const pct = (x: number) => `${x.toFixed(0)} %`;
    lines.push(
      `| ${n} | ${h.rps.toFixed(0)} | ${h.p99.toFixed(2)} | ${pct(h.cpu)} | ${h.cpuUs.toFixed(1)} | ${l.rps.toFixed(0)} | ${l.p99.toFixed(2)} | ${pct(l.cpu)} | ${l.cpuUs.toFixed(1)} | ${(l.rps / h.rps).toFixed(2)}× | ${(l.cpuUs / h.cpuUs).toFixed(2)}× |`,
    );
  }
  return lines;
}
