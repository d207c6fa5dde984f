// What the Kubernetes view is made of, read from the cloud's store: namespaces, nodes (with the
// capacity their agents measured), every Dayu object with the Service it made and that Service's
// mesh port, and the workers view (every planned worker with its last reported status).

import type { DayuObjectInput, ViewInput } from "../../kube/derive.ts";
import type { KubeNode } from "../../kube/view.ts";
import { DAYU_KINDS } from "../../manifest/dayu/sedna-schema.ts";
import type { Store } from "../../store/store.ts";
import { ownedBy } from "../dayu/owners.ts";
import { savedDayu } from "../dayu/views.ts";
import { listNodes } from "../node-registry.ts";
import { getObject, listObjects, storedKey } from "../resource-store.ts";
import { nodeUsage } from "../usage-store.ts";
import { listWorkers } from "../workers-view.ts";

const PHASES = new Set(["Ready", "Disconnected", "Lost"]);

export function readViewInput(store: Store): ViewInput {
  const db = store.db;
  const capacity = new Map(nodeUsage(db).map((u) => [u.node, u]));
  const nodes: KubeNode[] = listNodes(store).map((n) => {
    const usage = capacity.get(n.metadata.name);
    const { "levee.io/role": role, ...labels } = n.metadata.labels;
    return {
      name: n.metadata.name,
      uid: n.metadata.uid,
      role: role === "cloud" ? "cloud" : "edge",
      addresses: n.status.addresses,
      labels,
      phase: (PHASES.has(n.status.phase) ? n.status.phase : "Disconnected") as KubeNode["phase"],
      created: n.metadata.creationTimestamp,
      lastSeen: n.status.lastSeen,
      version: n.status.agentVersion,
      arch: n.status.arch,
      ...(usage ? { cpus: usage.cpus, memoryBytes: usage.memoryCapacityBytes } : {}),
    };
  });
  const dayu: DayuObjectInput[] = [];
  for (const kind of DAYU_KINDS) {
    for (const stored of listObjects(db, kind)) {
      const key = storedKey(stored);
      const made = ownedBy(db, { kind, name: key }).find((r) => r.kind === "Service");
      const service = made ? getObject(db, "Service", made.name) : undefined;
      const port = (service?.spec?.mesh as { port?: number } | undefined)?.port;
      dayu.push({
        kind,
        namespace: stored.metadata.namespace ?? "default",
        name: stored.metadata.name,
        uid: stored.metadata.uid,
        generation: stored.metadata.generation,
        created: stored.metadata.creationTimestamp,
        spec: savedDayu(stored).spec,
        service: made?.name ?? key,
        ...(port !== undefined ? { nodePort: port } : {}),
      });
    }
  }
  const namespaces = listObjects(db, "Namespace").map((ns) => ({
    name: ns.metadata.name,
    uid: ns.metadata.uid,
    created: ns.metadata.creationTimestamp,
  }));
  return { namespaces, nodes, dayu, workers: dayu.length > 0 ? listWorkers(store) : [] };
}
