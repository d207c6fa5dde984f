// Builders for the routing tests: catalogs, local endpoints, a settable clock and a replayable random.
import type { Catalog, CatalogNode, CatalogService, LocalEndpoint } from "../../../src/mesh/contracts.ts";

export function endpoint(index: number, ready = true, service = "api", port = 20_000 + index): LocalEndpoint {
  return { service, index, port, ready };
}

export function endpoints(n: number, service = "api"): LocalEndpoint[] {
  return Array.from({ length: n }, (_, i) => endpoint(i, true, service));
}

export function node(name: string, extra: Partial<CatalogNode> = {}): CatalogNode {
  return {
    name,
    role: "edge",
    addresses: [`10.0.0.${name.length}`],
    labels: {},
    state: "Ready",
    tunnelPort: 7443,
    ...extra,
  };
}

export function service(name: string, extra: Partial<CatalogService> = {}): CatalogService {
  return {
    name,
    port: 19_100,
    protocol: "http",
    balance: "round-robin",
    fallback: "none",
    upstreams: [],
    workers: [],
    ...extra,
  };
}

export function catalog(nodes: CatalogNode[], services: CatalogService[]): Catalog {
  return { v: 1, revision: 1, epoch: "e1", nodes, services };
}

/** The test cluster of the issue: cloud + edge1..3. */
export function cluster(services: CatalogService[]): Catalog {
  return catalog(
    [
      node("cloud", { role: "cloud", addresses: ["127.0.1.10"] }),
      node("edge1", { addresses: ["127.0.1.11", "192.168.1.11"] }),
      node("edge2", { addresses: ["127.0.1.12"] }),
      node("edge3", { addresses: ["127.0.1.13", "fd00::13"] }),
    ],
    services,
  );
}

export class Clock {
  constructor(public t = 1_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A random() that replays fixed values in a loop and records what it handed out. */
export class Replay {
  private i = 0;
  readonly drawn: number[] = [];
  constructor(private readonly values: readonly number[]) {}
  readonly random = (): number => {
    const value = this.values.length === 0 ? 0 : (this.values[this.i++ % this.values.length] as number);
    this.drawn.push(value);
    return value;
  };
}
