// Where a request (protocol http) or connection (protocol tcp) that arrived at THIS node for service S
// goes (pure apart from the balancer's bookkeeping): to a READY worker of S on this node, balanced; or,
// when there is none, what the service's fallback says:
//   none (default)  refuse: HTTP 503, JSON body {error, service, node}, header X-Levee-Error naming
//                   service and node (TCP: the proxy closes the connection at once);
//   cloud           forward to the cloud node when the catalog says it has a ready worker of S;
//   any             forward to the nearest other Ready node (RTT from the transport; unknown RTTs sort
//                   last, ties by name) that has a ready worker of S.
// Never a silent random choice, and never a second forward: `hops` counts fallback forwards, and a
// request that was already forwarded is served here or refused. (The hop that carries a forward-proxy
// request to the node it addresses is not a fallback forward: the addressed node decides with hops 0.)
// Unknown service: a 404-style refusal.

import type { Catalog, CatalogNode, CatalogService, LocalEndpoint } from "../contracts.ts";
import type { Pick } from "./balancer.ts";
import { headerValue } from "./header.ts";
import type { BalancerRegistry } from "./registry.ts";

export { ERROR_HEADER, headerValue } from "./header.ts";
export { type ProxyRequest, type Target, type TargetError, targetOf } from "./target.ts";

export type RefusalReason =
  /** The catalog has no such service. */
  | "unknown-service"
  /** No ready worker here and fallback none. */
  | "no-ready-worker"
  /** No ready worker here, and this request was already forwarded once. */
  | "already-forwarded"
  /** fallback cloud, but the cloud cannot take it (no cloud node, this is it, not Ready, no ready worker). */
  | "fallback-cloud-unavailable"
  /** fallback any, but no other Ready node has a ready worker. */
  | "fallback-any-unavailable";

export interface Refusal {
  kind: "refuse";
  status: 503 | 404;
  reason: RefusalReason;
  /** Human-readable, names service and node; also the X-Levee-Error header value. */
  error: string;
  /** Value of the X-Levee-Error header (printable ASCII). */
  header: string;
  /** The JSON body of the HTTP response. */
  body: { error: string; service: string; node: string };
}

export type RouteDecision =
  | { kind: "local"; pick: Pick; target: { kind: "local"; service: string; index: number; port: number } }
  | {
      kind: "forward";
      node: string;
      reason: "fallback-cloud" | "fallback-any";
      /** Why, for logs and the X-Levee-Upstream debug header. */
      detail: string;
      target: { kind: "node"; node: string; service: string };
    }
  | Refusal;

export interface RouteInput {
  /** This node's name. */
  self: string;
  catalog: Catalog;
  service: string;
  /** This node's workers (from the local supervisor); entries of other services are ignored. */
  local: readonly LocalEndpoint[];
  balancers: BalancerRegistry;
  /** Measured RTT to a node (ms), undefined when unknown. */
  distance: (node: string) => number | undefined;
  /** How many times this request was already forwarded by a fallback (0 for a request from a client;
   *  any other value, NaN included, means "forwarded": it is served here or refused). */
  hops: number;
}

export function decideRoute(input: RouteInput): RouteDecision {
  const { self, catalog } = input;
  const service = catalog.services.find((candidate) => candidate.name === input.service);
  if (!service) {
    return refuse(
      404,
      "unknown-service",
      input.service,
      self,
      `unknown service ${input.service} on node ${self}`,
    );
  }
  // Usually the caller passes only this service's endpoints: then the same array (no copy per request).
  const endpoints = input.local.every((endpoint) => endpoint.service === service.name)
    ? input.local
    : input.local.filter((endpoint) => endpoint.service === service.name);
  const pick = input.balancers
    .balancer(service.name, self, service.balance, service.protocol)
    .pick(endpoints);
  if (pick) {
    const { index, port } = pick.endpoint;
    return { kind: "local", pick, target: { kind: "local", service: service.name, index, port } };
  }
  const none = `no ready worker of service ${service.name} on node ${self}`;
  // Anything but an exact 0 (a garbled hop count too) counts as forwarded: no loop can start.
  if (input.hops !== 0) {
    return refuse(
      503,
      "already-forwarded",
      service.name,
      self,
      `${none} (forwarded here; not forwarded again)`,
    );
  }
  switch (service.fallback) {
    case "none":
      return refuse(503, "no-ready-worker", service.name, self, none);
    case "cloud":
      return fallbackCloud(input, service, none);
    case "any":
      return fallbackAny(input, service, none);
  }
}

function fallbackCloud(input: RouteInput, service: CatalogService, none: string): RouteDecision {
  const clouds = input.catalog.nodes.filter((node) => node.role === "cloud");
  const why = (text: string) =>
    refuse(503, "fallback-cloud-unavailable", service.name, input.self, `${none}; fallback cloud: ${text}`);
  if (clouds.length === 0) return why("the catalog has no cloud node");
  const others = clouds.filter((node) => node.name !== input.self);
  if (others.length === 0) return why(`node ${input.self} is the cloud node`);
  const usable = others.filter((node) => node.state === "Ready" && hasReadyWorker(service, node.name));
  const chosen = nearest(usable, input.distance);
  if (!chosen) {
    const first = others[0] as CatalogNode;
    if (first.state !== "Ready") return why(`cloud node ${first.name} is ${first.state}`);
    return why(`cloud node ${first.name} has no ready worker of service ${service.name}`);
  }
  return forward(service, chosen.name, "fallback-cloud", `${none}; fallback cloud`);
}

function fallbackAny(input: RouteInput, service: CatalogService, none: string): RouteDecision {
  const usable = input.catalog.nodes.filter(
    (node) => node.name !== input.self && node.state === "Ready" && hasReadyWorker(service, node.name),
  );
  const chosen = nearest(usable, input.distance);
  if (!chosen) {
    return refuse(
      503,
      "fallback-any-unavailable",
      service.name,
      input.self,
      `${none}; fallback any: no other Ready node has a ready worker of service ${service.name}`,
    );
  }
  return forward(service, chosen.name, "fallback-any", `${none}; fallback any: nearest is ${chosen.name}`);
}

function hasReadyWorker(service: CatalogService, node: string): boolean {
  return service.workers.some((worker) => worker.node === node && worker.ready);
}

/** The node with the smallest known distance; unknown distances after all known ones; ties by name. */
export function nearest<T extends { name: string }>(
  nodes: readonly T[],
  distance: (node: string) => number | undefined,
): T | undefined {
  const measured = nodes.map((node) => {
    const d = distance(node.name);
    return { node, d: d !== undefined && Number.isFinite(d) && d >= 0 ? d : undefined };
  });
  measured.sort((a, b) => {
    if (a.d !== b.d) {
      if (a.d === undefined) return 1;
      if (b.d === undefined) return -1;
      return a.d - b.d;
    }
    return a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0;
  });
  return measured[0]?.node;
}

function forward(
  service: CatalogService,
  node: string,
  reason: "fallback-cloud" | "fallback-any",
  detail: string,
): RouteDecision {
  return { kind: "forward", node, reason, detail, target: { kind: "node", node, service: service.name } };
}

function refuse(
  status: 503 | 404,
  reason: RefusalReason,
  service: string,
  node: string,
  error: string,
): Refusal {
  return {
    kind: "refuse",
    status,
    reason,
    error,
    header: headerValue(error),
    body: { error, service, node },
  };
}
