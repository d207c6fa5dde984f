// What `levee ctl convert` does without a cloud (pure): the objects of one manifest body → native
// manifests. Native objects pass through as written; Dayu objects are translated with the ImageMaps
// of the same body; a service without a nodePort gets the next port from 30000 up that the body
// does not use (the cloud allocates and keeps its own: a warning says so).
import type { Resource } from "../kinds.ts";
import { mergeImageMaps } from "./image-map.ts";
import { DAYU_KINDS, type DayuResource } from "./sedna-schema.ts";
import { translateDayu } from "./translate.ts";
import type { Warning } from "./warnings.ts";

export const LOCAL_PORT_START = 30000;

export interface ObjectWarning extends Warning {
  document: number;
  kind: string;
  name: string;
}

export type ObjectIssue = ObjectWarning;

export type LocalConversion =
  | { ok: true; objects: unknown[]; warnings: ObjectWarning[] }
  | { ok: false; issues: ObjectIssue[] };

/** `raw[i]` is document i as written; `objects[i]` the same document parsed. */
export function convertLocally(objects: readonly Resource[], raw: readonly unknown[]): LocalConversion {
  const issues: ObjectIssue[] = [];
  const warnings: ObjectWarning[] = [];
  const maps = objects.flatMap((o) =>
    o.kind === "ImageMap" ? [{ name: o.metadata.name, spec: o.spec }] : [],
  );
  const merged = mergeImageMaps(maps);
  if (!merged.ok) {
    const document = objects.findIndex((o) => o.kind === "ImageMap" && o.metadata.name === merged.map);
    return {
      ok: false,
      issues: [
        { document, kind: "ImageMap", name: merged.map, path: "spec.images", message: merged.message },
      ],
    };
  }
  const used = new Set<number>();
  for (const o of objects) {
    if (o.kind === "Service" && o.spec.mesh) used.add(o.spec.mesh.port);
    if (o.kind === "JointMultiEdgeService" && o.spec.serviceConfig?.nodePort)
      used.add(o.spec.serviceConfig.nodePort);
  }
  let next = LOCAL_PORT_START;
  const out: unknown[] = [];
  const names = new Map<string, number>();
  objects.forEach((object, document) => {
    const ids = { document, kind: object.kind, name: object.metadata.name };
    if (!(DAYU_KINDS as readonly string[]).includes(object.kind)) {
      out.push(raw[document]);
      if (object.kind === "Service") names.set(object.metadata.name, document);
      return;
    }
    const local: Warning[] = [];
    const translation = translateDayu(object as DayuResource, {
      rules: merged.rules,
      configExists: (name, kind = "Config") =>
        objects.some((o) => o.kind === kind && o.metadata.name === name),
      meshPort: (service, requested) => {
        if (requested !== undefined) return requested;
        while (used.has(next)) next += 1;
        used.add(next);
        local.push({
          path: "spec",
          message:
            `mesh port ${next} of service ${service} is chosen by convert; the cloud allocates one and keeps ` +
            `it (levee ctl get ${object.kind.toLowerCase()} ${service}); set a nodePort to fix it`,
        });
        return next;
      },
    });
    for (const issue of translation.issues) issues.push({ ...ids, ...issue });
    for (const warning of [...translation.warnings, ...local]) warnings.push({ ...ids, ...warning });
    for (const service of translation.services) {
      const first = names.get(service.metadata.name);
      if (first !== undefined) {
        issues.push({
          ...ids,
          path: "metadata.name",
          message: `makes Service ${service.metadata.name}, which document ${first} defines too`,
        });
      }
      names.set(service.metadata.name, document);
      out.push(service);
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, objects: out, warnings };
}
