// wrk for the benchmarks (bench/mesh.ts, bench/proxy-engine.ts): one thread, keep-alive, the
// latency distribution; req/s, p50 and p99 (ms) and the socket errors and non-2xx answers it reports.

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: string;
}

function latency(text: string, pct: string): number {
  const m = new RegExp(`\\s${pct}%\\s+([0-9.]+)(us|ms|s)`).exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

export async function wrk(
  url: string,
  headers: string[],
  connections: number,
  duration: number,
): Promise<WrkResult> {
  const argv = [
    "wrk",
    "-t1",
    `-c${connections}`,
    `-d${duration}s`,
    "--latency",
    ...headers.flatMap((h) => ["-H", h]),
    url,
  ];
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(text)?.[1] ?? Number.NaN);
  const errors = [/Socket errors:[^\n]*/.exec(text)?.[0], /Non-2xx[^\n]*/.exec(text)?.[0]]
    .filter(Boolean)
    .join("; ");
  return { rps, p50: latency(text, "50"), p99: latency(text, "99"), errors };
}
