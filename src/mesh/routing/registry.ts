// The balancers of one agent: one per (service, node), created on first use and kept, so in-flight
// counts, latency estimates and ejections carry over from request to request. A catalog change of the
// service's strategy switches the strategy in place (the state is the same for all strategies).

import type { CatalogService } from "../contracts.ts";
import {
  Balancer,
  type BalancerObserver,
  type EjectionPolicy,
  type EndpointStats,
  type Strategy,
} from "./balancer.ts";

export type Protocol = CatalogService["protocol"];

export interface RegistryOptions {
  now?: () => number;
  random?: () => number;
  ejection?: Partial<EjectionPolicy>;
  ewmaDecayMs?: number;
  initialRttMs?: number;
  /** Hooks for a new balancer (e.g. MeshMetrics.observer). */
  observe?: (service: string, node: string, protocol: Protocol) => BalancerObserver | undefined;
}

export interface BalancerStatus {
  service: string;
  node: string;
  strategy: Strategy;
  protocol: Protocol;
  endpoints: EndpointStats[];
}

interface Entry {
  service: string;
  node: string;
  protocol: Protocol;
  balancer: Balancer;
}

export class BalancerRegistry {
  /** By service, then node (no key string built per request). */
  private readonly entries = new Map<string, Map<string, Entry>>();

  constructor(private readonly options: RegistryOptions = {}) {}

  /** The balancer of `service` on `node`, with `strategy` (created or switched as needed). */
  balancer(service: string, node: string, strategy: Strategy, protocol: Protocol = "http"): Balancer {
    let byNode = this.entries.get(service);
    if (byNode === undefined) {
      byNode = new Map();
      this.entries.set(service, byNode);
    }
    let entry = byNode.get(node);
    // A protocol change means other units (requests vs connections): start afresh.
    if (!entry || entry.protocol !== protocol) {
      const { observe, ...rest } = this.options;
      entry = {
        service,
        node,
        protocol,
        balancer: new Balancer({ ...rest, strategy, observer: observe?.(service, node, protocol) }),
      };
      byNode.set(node, entry);
    }
    entry.balancer.strategy = strategy;
    return entry.balancer;
  }

  /** Forgets the balancers of services no longer in the catalog. */
  retain(services: Iterable<string>): void {
    const keep = new Set(services);
    for (const service of this.entries.keys()) if (!keep.has(service)) this.entries.delete(service);
  }

  status(): BalancerStatus[] {
    return [...this.entries.values()]
      .flatMap((byNode) => [...byNode.values()])
      .sort((a, b) => compare(a.service, b.service) || compare(a.node, b.node))
      .map((entry) => ({
        service: entry.service,
        node: entry.node,
        strategy: entry.balancer.strategy,
        protocol: entry.protocol,
        endpoints: entry.balancer.stats(),
      }));
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
