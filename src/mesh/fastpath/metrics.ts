// Prometheus metrics of the fast path, read from the kernel's rule counters when the registry is
// scraped (the agent sees none of these connections itself):
//   levee_mesh_fast_path_connections_total{service,node}        connections the kernel sent to workers
//   levee_mesh_fast_path_bytes_total{service,node,direction}    bytes, to-worker and from-worker
//   levee_mesh_fast_path_routes{node}                           service ports on the kernel's path
// One `nft` run serves one scrape (both counters read the same answer).
import { Counter, Gauge, type Registry } from "prom-client";
import type { FastPath, FastRouteCounters } from "./fast-path.ts";

export function registerFastPathMetrics(registry: Registry, node: string, fastPath: FastPath): void {
  let read: { at: number; value: Promise<FastRouteCounters[]> } | undefined;
  const current = (): Promise<FastRouteCounters[]> => {
    const now = Date.now();
    if (!read || now - read.at > 1000) read = { at: now, value: fastPath.counters().catch(() => []) };
    return read.value;
  };
  new Counter({
    name: "levee_mesh_fast_path_connections_total",
    help: "Connections the kernel's fast path sent straight to a worker on this node (nftables rule counters)",
    labelNames: ["service", "node"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const route of await current()) this.inc({ service: route.service, node }, route.connections);
    },
  });
  new Counter({
    name: "levee_mesh_fast_path_bytes_total",
    help: "Bytes carried by the kernel's fast path, to-worker (from clients) and from-worker (nftables rule counters)",
    labelNames: ["service", "node", "direction"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const route of await current()) {
        this.inc({ service: route.service, node, direction: "to-worker" }, route.bytesToWorker);
        this.inc({ service: route.service, node, direction: "from-worker" }, route.bytesFromWorker);
      }
    },
  });
  new Gauge({
    name: "levee_mesh_fast_path_routes",
    help: "Service ports of this node on the kernel's fast path",
    labelNames: ["node"],
    registers: [registry],
    collect() {
      this.set({ node }, fastPath.routes().length);
    },
  });
}
