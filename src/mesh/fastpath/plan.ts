// Which of this node's service ports the kernel may serve (pure): a service port goes on the fast
// path (an nftables DNAT straight to the worker, ruleset.ts) only when that changes nothing a client
// could tell apart from the userspace path:
//   - the service port's listener is up here (else the port may belong to another program);
//   - this node has a ready worker of the service (else the userspace path answers: 503 naming
//     service and node, or the service's fallback);
//   - per-connection balancing is what the service gets anyway: exactly one ready worker, or
//     protocol tcp (the userspace path balances tcp per connection too);
//   - the bind address is one the kernel rules can match (the wildcard, or an IPv4 address).
// Everything else stays on the userspace path, and every route says which path it is on and why.
import type { CatalogService, LocalEndpoint } from "../contracts.ts";

export type FastPathMode = "auto" | "off";

/** A service port the kernel serves: connections to it are sent to these workers' ports. */
export interface FastRoute {
  service: string;
  /** The service port. */
  port: number;
  protocol: "http" | "tcp";
  balance: CatalogService["balance"];
  /** The ready workers (index, port on 127.0.0.1), by index. */
  workers: { index: number; port: number }[];
}

/** Which path a service port is on, and why (shown in the route status). */
export interface PathNote {
  path: "kernel" | "userspace";
  reason: string;
}

export interface PlanInput {
  services: readonly CatalogService[];
  /** This node's workers (the supervisor's view). */
  local: readonly LocalEndpoint[];
  /** Whether the service port's listener of `service` is up (route state applied). */
  listening: (service: string, port: number) => boolean;
  /** The agent's --bind-address. */
  bindAddress: string;
}

export interface FastPathPlan {
  routes: FastRoute[];
  /** By service name: the path its service port is on (kernel ones once applied). */
  notes: Map<string, PathNote>;
}

const WILDCARDS = new Set(["", "0.0.0.0", "::", "[::]"]);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** How the kernel rules match the node's addresses: every local address, or one IPv4 address. */
export type AddressMatch = { kind: "local" } | { kind: "ipv4"; address: string };

/** The address match for a bind address, or why the kernel rules cannot match it. */
export function addressMatch(bindAddress: string): AddressMatch | { error: string } {
  if (WILDCARDS.has(bindAddress)) return { kind: "local" };
  if (IPV4.test(bindAddress)) return { kind: "ipv4", address: bindAddress };
  return { error: `the bind address ${bindAddress} is not an IPv4 address (the fast path is IPv4 only)` };
}

export function planFastPath(input: PlanInput): FastPathPlan {
  const routes: FastRoute[] = [];
  const notes = new Map<string, PathNote>();
  const match = addressMatch(input.bindAddress);
  const userspace = (service: string, reason: string) => notes.set(service, { path: "userspace", reason });
  for (const service of [...input.services].sort((a, b) => a.port - b.port)) {
    if ("error" in match) {
      userspace(service.name, match.error);
      continue;
    }
    if (!input.listening(service.name, service.port)) {
      userspace(service.name, "the service port's listener is not up on this node");
      continue;
    }
    const ready = input.local
      .filter((w) => w.service === service.name && w.ready)
      .sort((a, b) => a.index - b.index);
    if (ready.length === 0) {
      userspace(service.name, "no ready worker on this node (the userspace path answers)");
      continue;
    }
    if (ready.length > 1 && service.protocol !== "tcp") {
      userspace(service.name, `${ready.length} ready http workers here are balanced per request`);
      continue;
    }
    routes.push({
      service: service.name,
      port: service.port,
      protocol: service.protocol,
      balance: service.balance,
      workers: ready.map((w) => ({ index: w.index, port: w.port })),
    });
    const to = ready.map((w) => `#${w.index} (127.0.0.1:${w.port})`).join(", ");
    notes.set(service.name, {
      path: "kernel",
      reason:
        ready.length === 1
          ? `nftables DNAT to worker ${to}`
          : `nftables DNAT per connection (${kernelBalance(service.balance)}) to workers ${to}`,
    });
  }
  return { routes, notes };
}

/** How the kernel balances connections among several workers: round-robin stays round-robin. */
export function kernelBalance(balance: CatalogService["balance"]): "inc" | "random" {
  return balance === "round-robin" ? "inc" : "random";
}
