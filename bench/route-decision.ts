// The cost of the mesh's routing decision per request, in process (no sockets): a service port's
// HTTP decision (catalog lookup, round-robin balancer, counters) and its completion, 2 million times
// per round; prints ns per decision for each round (take the lowest on a busy machine).
//
//   ./node_modules/.bin/bun bench/route-decision.ts [ROUNDS=8]
import { Registry } from "prom-client";
import type { Catalog } from "../src/mesh/contracts.ts";
import { MeshMetrics } from "../src/mesh/routing/metrics.ts";
import { ServiceTraffic } from "../src/mesh/service-traffic.ts";
import { createLogger } from "../src/runtime/log.ts";

const rounds = Number(process.argv[2] ?? 8);
const catalog: Catalog = {
  v: 1,
  revision: 1,
  epoch: "e",
  nodes: [
    { name: "edge1", role: "edge", addresses: ["127.0.0.1"], labels: {}, state: "Ready", tunnelPort: 1 },
  ],
  services: ["a", "b", "c", "d", "bench"].map((name, i) => ({
    name,
    port: 19500 + i,
    protocol: "http",
    balance: "round-robin",
    fallback: "none",
    upstreams: [],
    workers: [{ node: "edge1", index: 0, ready: true }],
  })),
};
const traffic = new ServiceTraffic({
  node: "edge1",
  log: createLogger({ level: "error", format: "json", write: () => {} }),
  catalog: () => catalog,
  dialer: {
    dial: async () => {
      throw new Error("not dialled in this benchmark");
    },
  },
  distance: () => undefined,
  metrics: new MeshMetrics(new Registry()),
});
traffic.setLocalWorkers([{ service: "bench", index: 0, port: 1234, ready: true }]);
const outcome = { ok: true, status: 200, latencyMs: 0.3 };
for (let round = 0; round < rounds; round++) {
  const n = 2_000_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const decision = traffic.httpDecision("bench", false);
    if (decision.kind === "dial") decision.done?.(outcome);
  }
  console.log(`${(((performance.now() - started) * 1e6) / n).toFixed(0)} ns per decision`);
}
