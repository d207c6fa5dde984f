// The mesh catalog, derived from the cloud's state (pure): every service with a mesh section (its
// port, protocol, balancing and fallback, and where its workers are planned with the readiness
// their nodes reported) and the nodes the mesh can send traffic to (role, addresses, labels, state,
// tunnel port): the cloud (the relay) and every node that runs a worker of a mesh service. Nodes
// route with it (src/mesh/routing/) and serve it on their discovery API; it is shipped whole to
// every node, so it must not grow with nodes that take no mesh traffic: with 10,000 edges and no
// mesh service it holds one node, and those edges joining or leaving changes nothing in it. It also
// lists the certificates the cloud revoked (deleted nodes'), bounded, until they expire.
import type { Mesh } from "../../manifest/service.ts";
import type {
  Catalog,
  CatalogNode,
  CatalogService,
  CatalogWorker,
  NodeRole,
  NodeState,
  RevokedCertificate,
} from "../../mesh/contracts.ts";
import { CATALOG_VERSION } from "../../mesh/contracts.ts";
import { DEFAULT_PORTS } from "../../runtime/host-port.ts";

export interface CatalogInputNode {
  name: string;
  /** How the node joined (nodes.role): never taken from its labels, which a node could set. */
  role: NodeRole;
  labels: Record<string, string>;
  addresses: string[];
  phase: string;
  tunnelPort: number | null;
}

export interface CatalogInputService {
  name: string;
  mesh: Partial<Mesh> | undefined;
}

export interface CatalogInput {
  nodes: CatalogInputNode[];
  services: CatalogInputService[];
  /** Planned workers (from the node plans) with the readiness last reported, if any. */
  workers: { service: string; node: string; index: number; ready: boolean }[];
  /** The revoked certificates not yet expired (node-certificates.ts), already bounded. */
  revoked?: RevokedCertificate[];
}

export type CatalogContent = Omit<Catalog, "revision" | "epoch">;

export function deriveCatalog(input: CatalogInput): CatalogContent {
  const meshServices = new Set(input.services.filter((s) => s.mesh?.port !== undefined).map((s) => s.name));
  const meshNodes = new Set(input.workers.filter((w) => meshServices.has(w.service)).map((w) => w.node));
  const nodes: CatalogNode[] = input.nodes
    .filter((n) => n.role === "cloud" || meshNodes.has(n.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => ({
      name: n.name,
      role: n.role,
      addresses: [...n.addresses],
      labels: { ...n.labels },
      state: stateOf(n.phase),
      tunnelPort: n.tunnelPort ?? DEFAULT_PORTS.tunnel,
    }));
  const byService = new Map<string, CatalogWorker[]>();
  for (const w of input.workers) {
    const list = byService.get(w.service) ?? [];
    list.push({ node: w.node, index: w.index, ready: w.ready });
    byService.set(w.service, list);
  }
  const services: CatalogService[] = input.services
    .filter((s) => s.mesh?.port !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      const mesh = s.mesh as Partial<Mesh> & { port: number };
      const workers = (byService.get(s.name) ?? []).sort(
        (a, b) => a.node.localeCompare(b.node) || a.index - b.index,
      );
      return {
        name: s.name,
        port: mesh.port,
        protocol: mesh.protocol ?? "http",
        balance: mesh.balance ?? "round-robin",
        fallback: mesh.fallback ?? "none",
        upstreams: (mesh.upstreams ?? []).map((u) => ({ ...u })),
        workers,
      };
    });
  const content: CatalogContent = { v: CATALOG_VERSION, nodes, services };
  // Absent when empty: a cluster that never deleted a node ships what it always did.
  if (input.revoked && input.revoked.length > 0) content.revoked = input.revoked.map((r) => ({ ...r }));
  return content;
}

function stateOf(phase: string): NodeState {
  return phase === "Ready" || phase === "Lost" ? phase : "Disconnected";
}
