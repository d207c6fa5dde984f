// `levee ctl get -o wide`: the tables of format.ts with more columns (labels, versions, ports,
// addresses, exit codes) and whole messages instead of 80 characters. Pure, like format.ts.
import type { NodeLike, ObjectLike } from "./format.ts";
import {
  age,
  NODE_HEADERS,
  nodeRows,
  ROUTE_HEADERS,
  routeRows,
  SERVICE_HEADERS,
  serviceRows,
  WORKER_HEADERS,
  workerRows,
} from "./format.ts";
import type { RouteView, WorkerView } from "./types.ts";

/** `a=b,c=d`, or `<none>`. */
export function labelText(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
}

export const NODE_WIDE_HEADERS = [...NODE_HEADERS, "VERSION", "ARCH", "LABELS"];

export function nodeWideRows(
  nodes: readonly (NodeLike & {
    metadata: { labels?: Record<string, string> };
    status?: { agentVersion?: string; arch?: string };
  })[],
  now: number,
): string[][] {
  const rows = nodeRows(nodes, now);
  return nodes.map((n, i) => [
    ...(rows[i] ?? []),
    n.status?.agentVersion || "-",
    n.status?.arch || "-",
    labelText(n.metadata.labels),
  ]);
}

export const SERVICE_WIDE_HEADERS = [...SERVICE_HEADERS, "DRIVER", "RUNS", "MESH-PORT", "LABELS"];

export function serviceWideRows(
  services: readonly (ObjectLike & { metadata: { labels?: Record<string, string> } })[],
  workers: readonly WorkerView[],
  now: number,
): string[][] {
  const rows = serviceRows(services, workers, now);
  return services.map((s, i) => {
    const template = (s.spec?.template ?? {}) as { driver?: string; image?: string; command?: string[] };
    const mesh = s.spec?.mesh as { port?: number } | undefined;
    const driver = template.driver ?? "exec";
    const runs = driver === "container" ? (template.image ?? "") : (template.command ?? []).join(" ");
    return [
      ...(rows[i] ?? []),
      driver,
      runs || "-",
      mesh?.port ? String(mesh.port) : "-",
      labelText(s.metadata.labels),
    ];
  });
}

export const WORKER_WIDE_HEADERS = [...WORKER_HEADERS.slice(0, -1), "EXIT", "SINCE", "MESSAGE"];

export function workerWideRows(workers: readonly WorkerView[], now: number): string[][] {
  const rows = workerRows(workers);
  return workers.map((w, i) => [
    ...(rows[i] ?? []).slice(0, -1),
    w.signal ?? (w.exitCode === null ? "-" : String(w.exitCode)),
    w.since ? age(w.since, now) : "-",
    w.message.replace(/\s+/g, " ").trim(),
  ]);
}

export function routeWideRows(routes: readonly RouteView[], now: number): string[][] {
  const rows = routeRows(routes, now);
  return routes.map((r, i) => [...(rows[i] ?? []).slice(0, -1), r.message.replace(/\s+/g, " ").trim()]);
}

export const ROUTE_WIDE_HEADERS = ROUTE_HEADERS;
