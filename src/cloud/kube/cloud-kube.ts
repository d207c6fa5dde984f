// The Kubernetes facade's backend on the cloud: the view derived from the store (again after
// every change the cloud sees: an apply, a node's status or phase; debounced a little, and only a
// changed view takes a new revision), the Sedna objects as stored, usage as the nodes reported it,
// and writes through the control plane — the same apply path as `levee ctl apply`, so the store
// has one truth and two front doors.
import type { KubeBackend, KubeWrites, SednaObjects } from "../../kube/backend.ts";
import { deriveKubeView } from "../../kube/derive.ts";
import type { Usage } from "../../kube/objects/metrics.ts";
import type { ApiAddress } from "../../kube/objects/services.ts";
import type { KubeView } from "../../kube/view.ts";
import { canonicalJson, sha256Hex } from "../../manifest/canonical.ts";
import type { Store } from "../../store/store.ts";
import type { ControlPlane } from "../control-plane.ts";
import { listObjects } from "../resource-store.ts";
import { nodeUsage, workerUsage } from "../usage-store.ts";
import { CloudKubeWrites } from "./cloud-writes.ts";
import { RbacObjects } from "./rbac-objects.ts";
import { sednaObject } from "./sedna-objects.ts";
import { readViewInput } from "./view-input.ts";

const DEBOUNCE_MS = 20;

export interface CloudKubeOptions {
  store: Store;
  plane: ControlPlane;
  apiAddress: () => ApiAddress;
  /** Restarts one worker (deleting its pod): the control plane's restart, through the plan. */
  restartWorker: (service: string, node: string, index: number) => void;
}

export class CloudKube implements KubeBackend {
  private current: { view: KubeView; hash: string } | undefined;
  private rev = 0;
  private dirty = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  readonly sedna: SednaObjects;
  readonly rbac: RbacObjects;
  readonly writes: KubeWrites;

  constructor(private readonly options: CloudKubeOptions) {
    this.sedna = {
      list: (kind, namespace) => {
        const view = this.view();
        return listObjects(options.store.db, kind, namespace ? { namespace } : {}).map((o) =>
          sednaObject(
            o,
            view.services.find(
              (s) =>
                s.kind === kind &&
                s.namespace === (o.metadata.namespace ?? "default") &&
                s.name === o.metadata.name,
            ),
          ),
        );
      },
      get: (kind, namespace, name) => {
        const stored = options.plane.get(kind, name, namespace);
        if (!stored) return undefined;
        const view = this.view().services.find(
          (s) => s.kind === kind && s.namespace === namespace && s.name === name,
        );
        return sednaObject(stored, view);
      },
    };
    this.rbac = new RbacObjects(options.store);
    this.writes = new CloudKubeWrites(
      options.plane,
      this.sedna,
      (service, node, indexes) => {
        for (const index of indexes) options.restartWorker(service, node, index);
      },
      this.rbac,
      () => this.markDirty(),
    );
    options.plane.events.on("event", () => this.markDirty());
  }

  /** Something the view is made of may have changed (a node's status, phase or usage). */
  markDirty(): void {
    this.dirty = true;
    if (this.timer || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, DEBOUNCE_MS);
  }

  view(): KubeView {
    this.refresh();
    return (this.current as { view: KubeView }).view;
  }

  revision(): number {
    this.refresh();
    return this.rev;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apiAddress(): ApiAddress {
    return this.options.apiAddress();
  }

  workerUsage(service: string, node: string, index: number): Usage | undefined {
    return workerUsage(this.options.store.db, { node, service }).find((u) => u.index === index);
  }

  nodeUsage(node: string): Usage | undefined {
    return nodeUsage(this.options.store.db, node)[0];
  }

  /**
   * The view for the nodes, when some worker may ask for it (a Dayu object exists, or a Service's
   * template asks for the API): a cluster without either ships nothing, whatever its size.
   */
  viewForNodes(): KubeView | undefined {
    // Asked first, in SQL: the catalog is re-published on every node's phase change, and a cluster
    // of thousands of nodes without a Dayu object must not derive and hash a view each time.
    const asked = this.options.store.db
      .query(
        `SELECT 1 FROM resources WHERE kind IN ('JointMultiEdgeService', 'RuntimeService')
           OR (kind = 'Service' AND spec LIKE '%"kubeApi"%') LIMIT 1`,
      )
      .get();
    return asked ? this.view() : undefined;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.listeners.clear();
  }

  private refresh(): void {
    if (!this.dirty && this.current) return;
    this.dirty = false;
    const view = deriveKubeView(readViewInput(this.options.store));
    const objects = this.options.store.getMeta("resource-version") ?? "0";
    const hash = sha256Hex(canonicalJson({ view, objects }));
    if (this.current?.hash === hash) return;
    this.current = { view, hash };
    this.rev++;
    for (const listener of [...this.listeners]) listener();
  }
}
