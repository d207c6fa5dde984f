// Fetching an artifact from a peer through the mesh tunnel (mutual TLS, the peer server reading its
// cache file) against the same download loop over plain HTTP, on loopback in one process: what the
// peer path costs per byte (TLS, the answer line, back-pressure), the download being the same
// (download.ts: written to a partial file, hashed, verified). In-process, no root.
//
//   ./node_modules/.bin/bun bench/peer-fetch.ts [--mib 256] [--runs 3]
import { createHash, randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CatalogNode } from "../src/mesh/contracts.ts";
import { TunnelDialer } from "../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer } from "../src/mesh/transport/tunnel-server.ts";
import { type ArtifactSource, httpArtifactSource } from "../src/node/artifacts/artifact-source.ts";
import { PeerDirectory } from "../src/node/artifacts/peer-directory.ts";
import { PeerServer } from "../src/node/artifacts/peer-server.ts";
import { peerFirstSource } from "../src/node/artifacts/peer-source.ts";
import { createLogger } from "../src/runtime/log.ts";
import { makeTempDir } from "../test/harness/cluster.ts";
import { catalogNode, testCa } from "../test/mesh/transport/fixtures.ts";
import { downloadFrom } from "../test/node/artifacts/download-helper.ts";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SIZE = arg("--mib", 256) * 1024 * 1024;
const RUNS = arg("--runs", 3);
const log = createLogger({ level: "error", format: "json", write: () => {} });

const dir = makeTempDir("levee-bench-peer-");
const data = randomBytes(SIZE);
const sha256 = createHash("sha256").update(data).digest("hex");
writeFileSync(join(dir, sha256), data);

// The peer: a tunnel listener serving the cache dir.
const ca = testCa();
const server = new PeerServer({ dir, log });
const tunnel = startTunnelServer({
  listen: { host: "127.0.0.1", port: 0 },
  credentials: () => ca.node("edgeb"),
  onStream: (s) => s.duplex.destroy(),
  onArtifact: (request) => void server.serve(request),
});
const nodes: CatalogNode[] = [catalogNode("edgea", 1), catalogNode("edgeb", tunnel.port)];
const asker = ca.node("edgea");
const dialer = new TunnelDialer({
  node: "edgea",
  credentials: () => asker,
  lookup: (name) => nodes.find((n) => n.name === name),
  relay: () => undefined,
});

// Plain HTTP with the cloud route's path (no Range needed: every run starts from 0).
const http = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response(Bun.file(join(dir, sha256)), { headers: { "content-length": String(SIZE) } }),
});
const httpSource = httpArtifactSource({ url: `http://127.0.0.1:${http.port}`, username: "u", password: "p" });
/** A fresh peers-first source each run (it remembers the peers it asked). */
const peerSource = (): ArtifactSource => {
  const directory = new PeerDirectory();
  directory.attach({ self: "edgea", nodes: () => nodes, dialer });
  return peerFirstSource({ peers: directory, cloud: httpSource });
};

async function timed(source: ArtifactSource): Promise<number> {
  const partial = join(makeTempDir("levee-bench-peer-dl-"), `${sha256}.partial`);
  const started = performance.now();
  await downloadFrom(source, sha256, partial, SIZE);
  const ms = performance.now() - started;
  rmSync(partial);
  return ms;
}

const rows: string[] = [];
for (const [name, source] of [
  ["peer, mesh tunnel (mutual TLS)", peerSource],
  ["plain HTTP (same download loop)", () => httpSource],
] as const) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timed(source()));
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  rows.push(
    `| ${name} | ${times.map((t) => Math.round(t).toLocaleString("en")).join(" / ")} | ${((SIZE / 1024 / 1024) * (1000 / median)).toFixed(0)} |`,
  );
}
console.log(`${SIZE / 1024 / 1024} MiB, ${RUNS} runs each (ms, sorted) and MiB/s at the median:`);
console.log("| source | ms | MiB/s |\n|---|---|---|");
for (const row of rows) console.log(row);
tunnel.stop();
http.stop(true);
