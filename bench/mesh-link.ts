// The mesh across a shaped network link (paths (b) and (c) of bench/mesh.ts on something like a
// real edge network; bench/mesh.ts measures the same paths on loopback, where they are CPU-bound). A cloud and
// three edges, each in its own network namespace on one bridge (test/harness/netns.ts); every host's
// eth0 sends through `tc qdisc ... netem rate RATE delay DELAY` (default 1gbit, 1ms: 2 ms RTT between
// any two hosts), or, where the kernel has no netem, a token bucket (tbf) at RATE without delay. A Service with one worker per edge (bench/mesh-worker.ts) and mesh.port 19500;
// edge3 runs --mesh-relay-only. From a client process inside edge1's namespace:
//   4 MB POSTs (sequential, keep-alive; median): directly to edge2's worker (across the link);
//     through edge1's forward proxy → mutual-TLS tunnel → edge2's service port → its worker (across
//     the same link once); from edge3 through the cloud's relay (crossing two links);
//   small GETs (sequential, one keep-alive connection; median and p99) on the same paths.
// Root only (network namespaces, tc).
//
//   ./node_modules/.bin/bun bench/mesh-link.ts [--rate 1gbit] [--delay 1ms] [--posts 20] [--gets 500]
//     [--source]   run the agents from the source instead of a binary compiled into the temp dir first
import { join } from "node:path";
import { BUN, makeTempDir, REPO_ROOT } from "../test/harness/cluster.ts";
import { createTestNetwork, sweepStaleNetworks, type TestNetwork } from "../test/harness/netns.ts";
import { NetnsAgents } from "../test/harness/netns-agents.ts";

const args = process.argv.slice(2);
const text = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
const RATE = text("--rate", "1gbit");
const DELAY = text("--delay", "1ms");
const POSTS = Number(text("--posts", "20"));
const GETS = Number(text("--gets", "500"));
const SOURCE = args.includes("--source");
const PORT = 19500;
const HOSTS = ["cloud", "edge1", "edge2", "edge3"];

/** The client, run inside a namespace: times `count` requests, prints {median, p99, errors}. */
const CLIENT = `
const [url, proxy, method, count] = process.argv.slice(-4);
const body = method === "POST" ? new Uint8Array(4 * 1024 * 1024).fill(7) : undefined;
const times = [];
for (let i = 0; i < Number(count) + 3; i++) {
  const started = performance.now();
  const res = await fetch(url, { method, body, ...(proxy !== "-" ? { proxy } : {}) });
  const text = await res.text();
  if (!res.ok || (body && text !== String(body.length))) throw new Error(url + ": " + res.status + " " + text.slice(0, 200));
  if (i >= 3) times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(JSON.stringify({ median: at(0.5), p99: at(0.99) }));`;

/**
 * netem rate + delay on every host's eth0; a kernel without sch_netem ("Specified qdisc kind is
 * unknown") gets a token bucket at the same rate and no added delay. Returns what was applied.
 */
async function shape(net: TestNetwork): Promise<string> {
  const qdisc = (h: string, spec: string[]) =>
    net.exec(h, ["tc", "qdisc", "replace", "dev", "eth0", "root", ...spec]);
  try {
    for (const h of HOSTS) await qdisc(h, ["netem", "rate", RATE, "delay", DELAY]);
    return `netem rate ${RATE} delay ${DELAY}`;
  } catch (error) {
    if (!/qdisc kind is unknown/.test((error as Error).message)) throw error;
  }
  // burst: a few 64 KiB GSO segments; latency: how long a packet may queue (the queue's size).
  for (const h of HOSTS) await qdisc(h, ["tbf", "rate", RATE, "burst", "256kb", "latency", "20ms"]);
  return `tbf rate ${RATE} (this kernel has no sch_netem: no added delay)`;
}

async function main(net: TestNetwork, agents: NetnsAgents): Promise<void> {
  const address = (h: string) => net.host(h).address;
  const shaping = await shape(net);
  const inside = async (h: string, script: string, extra: string[] = []) =>
    (await net.exec(h, [BUN, "-e", script, "--", ...extra], { timeoutMs: 600_000 })).stdout.trim();
  const until = (what: string, check: () => Promise<boolean>) => agents.until(what, check, 60_000, 300);
  const start = (name: string, argv: string[]) =>
    agents.start(name, [...argv, "--log-level", "warn", "--stop-workers-on-exit"]);
  start("cloud", ["cloud"]);
  await until("the cloud API", async () => (await agents.ctl(["get", "nodes"])).includes("cloud"));
  const token = await agents.joinToken(3);
  const cloudUrl = `http://${address("cloud")}:7400`;
  start("edge1", ["edge", "--cloud", cloudUrl, "--token", token]);
  start("edge2", ["edge", "--cloud", cloudUrl, "--token", token]);
  start("edge3", ["edge", "--cloud", cloudUrl, "--token", token, "--mesh-relay-only"]);
  await until("the edges to join", async () => {
    const nodes = await agents.ctl(["get", "nodes"]);
    return ["edge1", "edge2", "edge3"].every((e) => nodes.includes(e));
  });
  await agents.apply(
    {
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "bench" },
      spec: {
        template: {
          command: [BUN, join(REPO_ROOT, "bench/mesh-worker.ts")],
          env: { BUN_OPTIONS: "" },
          port: "auto",
          health: { http: "/", interval: "1s" },
        },
        workers: [{ node: "edge1" }, { node: "edge2" }, { node: "edge3" }],
        mesh: { port: PORT },
      },
    },
    ["--wait", "--timeout", "60s"],
  );
  const workerPort = Number(
    await inside(
      "edge2",
      `const r = await fetch("http://${address("edge2")}:7401/v1/workers?service=bench"); console.log((await r.json()).items[0].port);`,
    ),
  );
  const cases = [
    {
      name: "direct: edge1 → edge2's worker",
      from: "edge1",
      url: `http://${address("edge2")}:${workerPort}/`,
    },
    {
      name: "levee: edge1's forward proxy → tunnel → edge2 → worker",
      from: "edge1",
      url: `http://edge2:${PORT}/`,
      proxy: `http://${address("edge1")}:7403`,
    },
    {
      name: "levee: edge3 → cloud's relay → edge2 → worker (two links)",
      from: "edge3",
      url: `http://edge2:${PORT}/`,
      proxy: `http://${address("edge3")}:7403`,
    },
  ];
  await until("the mesh routes", async () => {
    const out = await inside(cases[2]?.from as string, CLIENT, [
      cases[2]?.url as string,
      cases[2]?.proxy as string,
      "GET",
      "1",
    ]);
    return out.includes("median");
  });
  const measure = async (method: string, count: number) => {
    const out: Record<string, { median: number; p99: number }> = {};
    for (const c of cases)
      out[c.name] = JSON.parse(await inside(c.from, CLIENT, [c.url, c.proxy ?? "-", method, String(count)]));
    return out;
  };
  const posts = await measure("POST", POSTS);
  const gets = await measure("GET", GETS);
  const direct = cases[0]?.name as string;
  const lines = [
    `${shaping} on every host's eth0; agents: ${SOURCE ? "from the source" : "the compiled binary"}`,
    "",
    `| path | 4 MB POST ms (median of ${POSTS}) | vs direct | small GET p50 ms | GET p99 ms (${GETS} sequential) |`,
    "| --- | ---: | ---: | ---: | ---: |",
    ...cases.map((c) => {
      const p = posts[c.name] as { median: number };
      const g = gets[c.name] as { median: number; p99: number };
      const ratio = p.median / (posts[direct] as { median: number }).median;
      return `| ${c.name} | ${p.median.toFixed(1)} | ${ratio.toFixed(2)}× | ${g.median.toFixed(2)} | ${g.p99.toFixed(2)} |`;
    }),
  ];
  console.log(lines.join("\n"));
}

/** The agents' command: bun + the source, or a binary compiled into `root` (what ships). */
async function leveeCommandIn(root: string): Promise<string[]> {
  if (SOURCE) return [BUN, join(REPO_ROOT, "src/cli/main.ts")];
  const { buildTarget } = await import("../build/build.ts");
  return [(await buildTarget("linux-x64", root)).outfile];
}

sweepStaleNetworks();
const root = makeTempDir("levee-bench-link-");
const net = await createTestNetwork({ hosts: HOSTS });
const agents = new NetnsAgents(net, root, {
  command: await leveeCommandIn(root),
  env: (host) => ({ LEVEE_PORT_REGISTRY: join(root, `ports-${host}.db`) }),
});
try {
  await main(net, agents);
} finally {
  await agents.stop(3000);
  await net.destroy();
}
