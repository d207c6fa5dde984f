// The Kubernetes facade's backend on a node: reads from the view that came with the mesh catalog
// (kept in this node's SQLite, so the answers do not need the cloud and cost it nothing), CPU and
// memory from this node's own measurements (other nodes' pods and nodes have none here), and no
// writes: those, and the Sedna objects themselves, the routes forward to the cloud.
import type { KubeBackend } from "../../kube/backend.ts";
import type { Usage } from "../../kube/objects/metrics.ts";
import type { ApiAddress } from "../../kube/objects/services.ts";
import { KUBE_VIEW_VERSION, type KubeView, kubeViewSchema } from "../../kube/view.ts";
import type { CatalogStore } from "../../mesh/catalog/catalog-store.ts";
import type { Catalog } from "../../mesh/contracts.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { localNodeUsage, localWorkerUsage } from "../usage/usage-store.ts";

export interface NodeKubeOptions {
  node: string;
  store: Store;
  catalog: Pick<CatalogStore, "get" | "on" | "off">;
  apiAddress: () => ApiAddress;
  log: Logger;
}

const EMPTY: KubeView = { v: KUBE_VIEW_VERSION, namespaces: [], nodes: [], services: [] };

export class NodeKube implements KubeBackend {
  private parsed: { catalog: Catalog; view: KubeView } | undefined;
  private warned = false;

  constructor(private readonly options: NodeKubeOptions) {}

  view(): KubeView {
    const catalog = this.options.catalog.get();
    if (!catalog) return EMPTY;
    if (this.parsed?.catalog === catalog) return this.parsed.view;
    let view = EMPTY;
    if (catalog.kube !== undefined) {
      const result = kubeViewSchema.safeParse(catalog.kube);
      if (result.success) view = result.data;
      else if (!this.warned) {
        this.warned = true;
        this.options.log.warn("the catalog's Kubernetes view is not one this agent reads; serving none", {
          issue: result.error.issues[0]?.message,
        });
      }
    }
    this.parsed = { catalog, view };
    return view;
  }

  revision(): number {
    return this.options.catalog.get()?.revision ?? 0;
  }

  onChange(listener: () => void): () => void {
    const handler = () => listener();
    this.options.catalog.on("change", handler);
    return () => this.options.catalog.off("change", handler);
  }

  apiAddress(): ApiAddress {
    return this.options.apiAddress();
  }

  workerUsage(service: string, node: string, index: number): Usage | undefined {
    if (node !== this.options.node) return undefined;
    return localWorkerUsage(this.options.store.db, { service }).find((u) => u.index === index);
  }

  nodeUsage(node: string): Usage | undefined {
    return node === this.options.node ? localNodeUsage(this.options.store.db) : undefined;
  }
}
