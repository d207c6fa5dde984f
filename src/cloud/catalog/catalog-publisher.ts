// Keeps the mesh catalog current and published. Whenever something it is made of may have
// changed (an apply, a node's phase, a worker's readiness: callers say markDirty()), it is derived
// again, after a short debounce; only a changed content takes a new revision (kept in meta, so
// it keeps growing across restarts within one epoch) and is published, retained, on the shared
// topic levee/v1/shared/catalog: a node that (re)connects gets the newest at once.
import { canonicalJson, sha256Hex } from "../../manifest/canonical.ts";
import type { Mesh } from "../../manifest/service.ts";
import type { Catalog } from "../../mesh/contracts.ts";
import { MAX_MESSAGE_BYTES } from "../../protocol/messages.ts";
import { CATALOG_TOPIC } from "../../protocol/topics.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { cloudEpoch } from "../link/sync-store.ts";
import { revokedCertificates } from "../node-certificates.ts";
import { nodeLabels, roleOf } from "../node-labels.ts";
import { listObjects, storedKey } from "../resource-store.ts";
import { listWorkers } from "../workers-view.ts";
import { type CatalogContent, type CatalogInput, type CatalogInputNode, deriveCatalog } from "./derive.ts";

const DEBOUNCE_MS = 100;
const SAFETY_REFRESH_MS = 30_000;
const REVISION_KEY = "catalog-revision";
const HASH_KEY = "catalog-hash";

export interface CatalogPublisherOptions {
  store: Store;
  log: Logger;
  /** Publishes retained (QoS 1); false when not connected (tried again later). */
  publish: (topic: string, payload: string) => boolean;
  /** The Kubernetes view to ship with it, when there is one (Dayu objects exist). */
  kubeView?: () => unknown;
}

export class CatalogPublisher {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: Catalog | undefined;
  private closed = false;
  private published = false;
  private withoutKube = false;
  private readonly safety: ReturnType<typeof setInterval>;

  constructor(private readonly options: CatalogPublisherOptions) {
    // A safety net for changes nobody marked, and the retry of a publish made while disconnected.
    this.safety = setInterval(() => this.refresh(), SAFETY_REFRESH_MS);
    this.safety.unref?.();
  }

  /** The catalog as last derived (for the cloud's own use). */
  get(): Catalog | undefined {
    return this.current;
  }

  markDirty(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, DEBOUNCE_MS);
  }

  /** Derives now; publishes when the content changed (or nothing was published by this process yet). */
  refresh(): Catalog {
    const { store } = this.options;
    const content: CatalogContent = deriveCatalog(readCatalogInput(store));
    const kube = this.withoutKube ? undefined : this.options.kubeView?.();
    if (kube !== undefined) content.kube = kube;
    const hash = sha256Hex(canonicalJson(content));
    const epoch = cloudEpoch(store);
    const catalog = store.tx(() => {
      let revision = Number(store.getMeta(REVISION_KEY) ?? "0");
      if (store.getMeta(HASH_KEY) !== hash) {
        revision++;
        store.setMeta(REVISION_KEY, String(revision));
        store.setMeta(HASH_KEY, hash);
      }
      return withRevision(content, epoch, revision);
    });
    const same = this.current?.revision === catalog.revision && this.current.epoch === catalog.epoch;
    if (same && this.published) return catalog;
    this.current = catalog;
    const payload = JSON.stringify(catalog);
    if (payload.length > MAX_MESSAGE_BYTES && catalog.kube !== undefined) {
      // Routing must not suffer for the view: ship the catalog without it; nodes then forward the
      // facade's reads to the cloud.
      this.options.log.warn(
        "the Kubernetes view makes the catalog too large for a sync message; shipped without it",
        {
          bytes: payload.length,
        },
      );
      this.withoutKube = true;
      try {
        return this.refresh();
      } finally {
        this.withoutKube = false;
      }
    }
    if (payload.length > MAX_MESSAGE_BYTES) {
      this.options.log.error("the mesh catalog is larger than a sync message may be; not published", {
        bytes: payload.length,
        nodes: catalog.nodes.length,
        services: catalog.services.length,
      });
      return catalog;
    }
    this.published = this.options.publish(CATALOG_TOPIC, payload);
    this.options.log.debug("catalog published", { revision: catalog.revision, bytes: payload.length });
    return catalog;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.safety);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function withRevision(content: CatalogContent, epoch: string, revision: number): Catalog {
  const catalog: Catalog = {
    v: content.v,
    revision,
    epoch,
    nodes: content.nodes,
    services: content.services,
  };
  if (content.kube !== undefined) catalog.kube = content.kube;
  if (content.revoked !== undefined) catalog.revoked = content.revoked;
  return catalog;
}

/** What the catalog is made of, from the cloud's database. */
export function readCatalogInput(store: Store): CatalogInput {
  const nodes = readCatalogNodes(store);
  const services = listObjects(store.db, "Service").map((s) => ({
    name: storedKey(s),
    mesh: (s.spec as { mesh?: Partial<Mesh> }).mesh,
  }));
  // Reading every node's plan is the expensive part: only when some service is in the mesh.
  const anyMesh = services.some((s) => s.mesh?.port !== undefined);
  const workers = anyMesh
    ? listWorkers(store).map((w) => ({ service: w.service, node: w.node, index: w.index, ready: w.ready }))
    : [];
  return { nodes, services, workers, revoked: revokedCertificates(store) };
}

/** Every node as the catalog describes it, from the cloud's database. */
export function readCatalogNodes(store: Store): CatalogInputNode[] {
  return store.db
    .query<
      {
        name: string;
        labels: string;
        role: string;
        addresses: string;
        phase: string;
        tunnel_port: number | null;
      },
      []
    >("SELECT name, labels, role, addresses, phase, tunnel_port FROM nodes")
    .all()
    .map((n) => ({
      name: n.name,
      role: roleOf(n.role),
      labels: nodeLabels(JSON.parse(n.labels) as Record<string, string>, roleOf(n.role)),
      addresses: JSON.parse(n.addresses) as string[],
      phase: n.phase,
      tunnelPort: n.tunnel_port,
    }));
}
