// Table rows of `levee ctl get` for the kinds that serve Dayu: JointMultiEdgeService and
// RuntimeService (as the API shows them: src/cloud/dayu/views.ts) and ImageMap. Pure.
import { age } from "./format.ts";

export const DAYU_HEADERS = ["NAME", "NAMESPACE", "READY", "PORT", "GENERATION", "AGE"];

interface DayuLike {
  metadata: { name: string; namespace?: string; generation?: number; creationTimestamp?: string };
  status?: { ready?: string; meshPort?: number };
}

export function dayuRows(objects: readonly DayuLike[], now: number): string[][] {
  return objects.map((o) => [
    o.metadata.name,
    o.metadata.namespace ?? "default",
    o.status?.ready ?? "-",
    o.status?.meshPort !== undefined ? String(o.status.meshPort) : "<none>",
    String(o.metadata.generation ?? "-"),
    age(o.metadata.creationTimestamp, now),
  ]);
}

export const IMAGE_MAP_HEADERS = ["NAME", "RULES", "GENERATION", "AGE"];

interface ImageMapLike {
  metadata: { name: string; generation?: number; creationTimestamp?: string };
  spec?: { images?: unknown[] };
}

export function imageMapRows(maps: readonly ImageMapLike[], now: number): string[][] {
  return maps.map((m) => [
    m.metadata.name,
    String(m.spec?.images?.length ?? 0),
    String(m.metadata.generation ?? "-"),
    age(m.metadata.creationTimestamp, now),
  ]);
}
