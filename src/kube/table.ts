// Server-side printing: `kubectl get` asks for `application/json;as=Table;g=meta.k8s.io;v=v1` and
// prints the columns the server names (priority 1 only with -o wide). The columns are kubectl's
// own for these kinds (pods: NAME READY STATUS RESTARTS AGE, wide: IP NODE ...). Every row carries
// its object, so `-o wide` and custom columns work from one answer. Pure.
import type { KubeObject } from "./objects/meta.ts";

interface Column {
  name: string;
  type: "string" | "integer";
  format?: string;
  priority?: number;
}

type Row = (o: KubeObject) => (string | number)[];

const col = (name: string, priority = 0, type: Column["type"] = "string"): Column => ({
  name,
  type,
  ...(name === "Name" ? { format: "name" } : {}),
  ...(priority ? { priority } : {}),
});

/** kubectl's age: 45s, 3m10s, 5h, 2d. */
export function age(created: string | undefined, now: number): string {
  const t = created ? Date.parse(created) : Number.NaN;
  if (!Number.isFinite(t)) return "<unknown>";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h` : `${Math.floor(h / 24)}d`;
}

// biome-ignore lint/suspicious/noExplicitAny: projected objects are JSON; the printers read known paths
type Any = any;

function podStatus(o: Any): string {
  const statuses: Any[] = o.status?.containerStatuses ?? [];
  for (const s of statuses) {
    if (s.state?.waiting?.reason && s.state.waiting.reason !== "ContainerCreating")
      return s.state.waiting.reason;
    if (s.state?.terminated?.reason && o.status?.phase !== "Succeeded") return s.state.terminated.reason;
  }
  if (statuses.some((s) => s.state?.waiting?.reason === "ContainerCreating")) return "ContainerCreating";
  return o.status?.phase ?? "Unknown";
}

function tables(now: number): Record<string, { columns: Column[]; row: Row }> {
  const ageOf = (o: KubeObject) => age(o.metadata.creationTimestamp, now);
  return {
    pods: {
      columns: [
        col("Name"),
        col("Ready"),
        col("Status"),
        col("Restarts", 0, "integer"),
        col("Age"),
        col("IP", 1),
        col("Node", 1),
        col("Nominated Node", 1),
        col("Readiness Gates", 1),
      ],
      row: (o: Any) => {
        const s: Any[] = o.status?.containerStatuses ?? [];
        return [
          o.metadata.name,
          `${s.filter((c) => c.ready).length}/${s.length}`,
          podStatus(o),
          s.reduce((n, c) => n + (c.restartCount ?? 0), 0),
          ageOf(o),
          o.status?.podIP ?? "<none>",
          o.spec?.nodeName ?? "<none>",
          "<none>",
          "<none>",
        ];
      },
    },
    nodes: {
      columns: [
        col("Name"),
        col("Status"),
        col("Roles"),
        col("Age"),
        col("Version"),
        col("Internal-IP", 1),
        col("External-IP", 1),
        col("OS-Image", 1),
        col("Kernel-Version", 1),
        col("Container-Runtime", 1),
      ],
      row: (o: Any) => {
        const ready = (o.status?.conditions ?? []).find((c: Any) => c.type === "Ready")?.status;
        const roles = Object.keys(o.metadata.labels ?? {})
          .filter((k) => k.startsWith("node-role.kubernetes.io/"))
          .map((k) => k.slice("node-role.kubernetes.io/".length))
          .sort();
        const ip = (o.status?.addresses ?? []).find((a: Any) => a.type === "InternalIP")?.address;
        return [
          o.metadata.name,
          ready === "True" ? "Ready" : "NotReady",
          roles.join(",") || "<none>",
          ageOf(o),
          o.status?.nodeInfo?.kubeletVersion ?? "",
          ip ?? "<none>",
          "<none>",
          o.status?.nodeInfo?.osImage || "<unknown>",
          o.status?.nodeInfo?.kernelVersion || "<unknown>",
          o.status?.nodeInfo?.containerRuntimeVersion ?? "",
        ];
      },
    },
    services: {
      columns: [
        col("Name"),
        col("Type"),
        col("Cluster-IP"),
        col("External-IP"),
        col("Port(s)"),
        col("Age"),
        col("Selector", 1),
      ],
      row: (o: Any) => [
        o.metadata.name,
        o.spec?.type ?? "ClusterIP",
        o.spec?.clusterIP || "<none>",
        "<none>",
        (o.spec?.ports ?? [])
          .map((p: Any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
          .join(","),
        ageOf(o),
        Object.entries(o.spec?.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(",") || "<none>",
      ],
    },
    endpoints: {
      columns: [col("Name"), col("Endpoints"), col("Age")],
      row: (o: Any) => {
        const list: string[] = [];
        for (const s of o.subsets ?? [])
          for (const a of s.addresses ?? []) for (const p of s.ports ?? []) list.push(`${a.ip}:${p.port}`);
        return [o.metadata.name, list.join(",") || "<none>", ageOf(o)];
      },
    },
    deployments: {
      columns: [
        col("Name"),
        col("Ready"),
        col("Up-to-date", 0, "integer"),
        col("Available", 0, "integer"),
        col("Age"),
        col("Containers", 1),
        col("Images", 1),
        col("Selector", 1),
      ],
      row: (o: Any) => {
        const containers: Any[] = o.spec?.template?.spec?.containers ?? [];
        return [
          o.metadata.name,
          `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`,
          o.status?.updatedReplicas ?? 0,
          o.status?.availableReplicas ?? 0,
          ageOf(o),
          containers.map((c) => c.name).join(","),
          containers.map((c) => c.image).join(","),
          Object.entries(o.spec?.selector?.matchLabels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
        ];
      },
    },
    namespaces: {
      columns: [col("Name"), col("Status"), col("Age")],
      row: (o: Any) => [o.metadata.name, o.status?.phase ?? "Active", ageOf(o)],
    },
    customresourcedefinitions: {
      columns: [col("Name"), col("Created At")],
      row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
    },
  };
}

/** Whether the client asked for a Table (kubectl get). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}

/** The Table of `objects` of `resource` (Name and Age for kinds without columns of their own). */
export function toTable(
  resource: string,
  objects: readonly KubeObject[],
  resourceVersion: string,
  now = Date.now(),
) {
  const known = tables(now)[resource];
  const columns = known?.columns ?? [col("Name"), col("Age")];
  const row: Row = known?.row ?? ((o) => [o.metadata.name, age(o.metadata.creationTimestamp, now)]);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({ description: "", format: "", priority: 0, ...c })),
    rows: objects.map((o) => ({ cells: row(o), object: o })),
  };
}
