// Output of `levee ctl`: aligned tables (kubectl-like), ages ("45s", "3m10s", "2d"), the rows of
// each kind's table, and JSON/YAML. Pure functions of their input (and `now`), so tests can pin
// the exact text.
import { qualifiedName } from "../../manifest/namespace.ts";
import type { RouteView, WorkerView } from "./types.ts";

/** Columns separated by three spaces, every column but the last padded to its widest cell. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return `${[headers, ...rows].map(line).join("\n")}\n`;
}

/** How long ago an ISO time was, the way kubectl shows ages; "<unknown>" for a missing or bad time. */
export function age(iso: string | null | undefined, now: number): string {
  if (!iso) return "<unknown>";
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "<unknown>";
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 730 ? `${d}d` : `${Math.floor(d / 365)}y`;
}

/** The parts of a node the table shows (the API's NodeView). */
export interface NodeLike {
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    lastSeen?: string | null;
    addresses?: string[];
    plan?: { desiredRevision: number; appliedRevision: number };
    /** Cordoned or Draining: shown as SchedulingDisabled after the phase, as kubectl does. */
    scheduling?: string;
  };
}

/** The parts of a stored Service or Config the tables show. */
export interface ObjectLike {
  metadata: { name: string; namespace?: string; generation?: number; creationTimestamp?: string };
  spec?: Record<string, unknown>;
}

export const NODE_HEADERS = ["NAME", "PHASE", "ADDRESSES", "PLAN", "LAST-SEEN", "AGE"];

export function nodeRows(nodes: readonly NodeLike[], now: number): string[][] {
  return nodes.map((n) => {
    const plan = n.status?.plan;
    const lastSeen = n.status?.lastSeen;
    return [
      n.metadata.name,
      `${n.status?.phase ?? "Unknown"}${n.status?.scheduling ? ",SchedulingDisabled" : ""}`,
      n.status?.addresses?.length ? n.status.addresses.join(",") : "<none>",
      plan ? `${plan.appliedRevision}/${plan.desiredRevision}` : "-",
      lastSeen ? `${age(lastSeen, now)} ago` : "never",
      age(n.metadata.creationTimestamp, now),
    ];
  });
}

export const SERVICE_HEADERS = ["NAME", "NAMESPACE", "WORKERS", "GENERATION", "AGE"];

/** WORKERS is ready/total of the service's workers in the workers view. */
export function serviceRows(
  services: readonly ObjectLike[],
  workers: readonly WorkerView[],
  now: number,
): string[][] {
  const counts = workerCounts(workers);
  return services.map((s) => {
    const c = counts.get(qualifiedName(s.metadata.namespace, s.metadata.name)) ?? { ready: 0, total: 0 };
    return [
      s.metadata.name,
      s.metadata.namespace ?? "default",
      `${c.ready}/${c.total}`,
      String(s.metadata.generation ?? "-"),
      age(s.metadata.creationTimestamp, now),
    ];
  });
}

export function workerCounts(workers: readonly WorkerView[]): Map<string, { ready: number; total: number }> {
  const counts = new Map<string, { ready: number; total: number }>();
  for (const w of workers) {
    const c = counts.get(w.service) ?? { ready: 0, total: 0 };
    c.total += 1;
    if (w.ready) c.ready += 1;
    counts.set(w.service, c);
  }
  return counts;
}

export const CONFIG_HEADERS = ["NAME", "NAMESPACE", "DATA", "GENERATION", "AGE"];

/** DATA is the number of entries in data and binaryData. */
export function configRows(configs: readonly ObjectLike[], now: number): string[][] {
  return configs.map((c) => {
    // data and binaryData sit at the top of a Config manifest; older answers had them in spec.
    const count = (field: string) => {
      const value = (c as unknown as Record<string, unknown>)[field] ?? c.spec?.[field];
      return value && typeof value === "object" ? Object.keys(value).length : 0;
    };
    return [
      c.metadata.name,
      c.metadata.namespace ?? "default",
      String(count("data") + count("binaryData")),
      String(c.metadata.generation ?? "-"),
      age(c.metadata.creationTimestamp, now),
    ];
  });
}

export const ROUTE_HEADERS = ["NODE", "SERVICE", "KIND", "PORT", "STATE", "AGE", "MESSAGE"];

export function routeRows(routes: readonly RouteView[], now: number): string[][] {
  return routes.map((r) => [
    r.node,
    r.service,
    r.kind,
    String(r.port),
    r.state,
    age(r.since, now),
    oneLineMessage(r.message),
  ]);
}

export const WORKER_HEADERS = ["SERVICE", "NODE", "INDEX", "PHASE", "READY", "RESTARTS", "MESSAGE"];

export function workerRows(workers: readonly WorkerView[]): string[][] {
  return workers.map((w) => [
    w.service,
    w.node,
    String(w.index),
    w.phase,
    w.ready ? "true" : "false",
    String(w.restarts),
    oneLineMessage(w.message),
  ]);
}

function oneLineMessage(message: string | undefined): string {
  const text = (message ?? "").replace(/\s+/g, " ").trim();
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `service/echo created`, one line per applied object. */
export const NAMESPACE_HEADERS = ["NAME", "AGE"];

export const GRANT_HEADERS = ["NAME", "NAMESPACE", "SERVICE-ACCOUNT", "RULES", "AGE"];

/** RULES: verbs on resources, `;` between rules. */
export function grantRows(grants: readonly ObjectLike[], now: number): string[][] {
  return grants.map((g) => {
    const spec = g.spec as
      | { serviceAccount?: string; rules?: { verbs: string[]; resources: string[] }[] }
      | undefined;
    const rules = (spec?.rules ?? []).map((r) => `${r.verbs.join(",")} ${r.resources.join(",")}`).join("; ");
    return [
      g.metadata.name,
      g.metadata.namespace ?? "default",
      spec?.serviceAccount ?? "",
      rules,
      age(g.metadata.creationTimestamp, now),
    ];
  });
}

export function namespaceRows(namespaces: readonly ObjectLike[], now: number): string[][] {
  return namespaces.map((n) => [n.metadata.name, age(n.metadata.creationTimestamp, now)]);
}

export function applyLines(
  results: readonly { kind: string; name: string; namespace?: string; outcome: string }[],
): string {
  return results
    .map(
      (r) =>
        `${r.kind.toLowerCase()}/${r.name} ${r.outcome}${r.namespace ? ` (namespace ${r.namespace})` : ""}\n`,
    )
    .join("");
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** YAML that reads back to the same value (the yaml package is loaded only when used). */
export function toYaml(value: unknown): string {
  const { stringify } = require("yaml") as typeof import("yaml");
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
