// What a translation needs from outside (the image rules in force, the mesh port of a service) and
// the steps both Dayu kinds share: the prologue (ignored fields, levee annotations, unknown spec
// fields), checking a node name, the known fieldRefs, the mesh port entry, assembling the Service
// from per-worker templates.
import { API_VERSION, dnsSubdomain } from "../meta.ts";
import { type DayuOptions, dayuOptions } from "./annotations.ts";
import { factorTemplates } from "./factor.ts";
import type { SourcedRule } from "./image-map.ts";
import type { RawMesh, RawService, RawTemplate, RawWorker } from "./native.ts";
import type { DayuResource } from "./sedna-schema.ts";
import type { Path, Report } from "./warnings.ts";

export interface TranslateContext {
  /** The ImageMap rules in force (none: every container runs in Docker). */
  rules: readonly SourcedRule[];
  /**
   * The node-targeted port of a service: `requested` (a nodePort) when given, else the port kept for
   * the service (the cloud allocates it from 30000-32767 once and keeps it in its SQLite).
   */
  meshPort(service: string, requested: number | undefined): number;
  /** Whether a levee Config (a configMap mount reads it) or Secret (a secret mount) exists; unknown: warn. */
  configExists?: (name: string, kind?: "Config" | "Secret") => boolean;
}

/** A node name, checked: a DNS subdomain (`edge-1`, `cloud.kubeedge`). Undefined after an issue. */
export function checkNodeName(node: string | undefined, path: Path, report: Report): string | undefined {
  if (node === undefined || node === "") {
    report.issue(path, "required: levee runs every worker on the node named here");
    return undefined;
  }
  const result = dnsSubdomain.safeParse(node);
  if (!result.success) {
    report.issue(path, `a levee node name ${result.error.issues[0]?.message ?? "is invalid"}`);
    return undefined;
  }
  return node;
}

/**
 * What every Dayu kind starts with: warnings for the ignored top-level and metadata fields, the
 * levee annotations read, the spec's fields other than `specFields` reported.
 */
export function beginTranslation(
  object: DayuResource,
  specFields: readonly string[],
  report: Report,
): DayuOptions {
  for (const { path } of object.ignored) {
    const metadata = path[0] === "metadata";
    report.warn(path, metadata ? "metadata levee does not use; ignored" : "not supported by levee; ignored");
  }
  const options = dayuOptions(object.metadata.annotations, report);
  report.unknownFields(object.spec, specFields, ["spec"]);
  return options;
}

/** Values of the fieldRefs known when translating. */
export function fieldRefs(node: string | undefined, namespace: string): Record<string, string> {
  return { ...(node ? { "spec.nodeName": node } : {}), "metadata.namespace": namespace };
}

/** The service's mesh entry: the annotations' protocol (default tcp) and fallback (else `fallback`). */
export function meshEntry(port: number, options: DayuOptions, fallback: RawMesh["fallback"]): RawMesh {
  return { port, protocol: options.protocol ?? "tcp", fallback: options.fallback ?? fallback };
}

/** The Service: one worker entry per template, the common part in the shared template. */
export function assembleService(
  name: string,
  labels: Record<string, string>,
  workers: readonly { node: string; template: RawTemplate }[],
  mesh: RawMesh | undefined,
): RawService {
  const { shared, overrides } = factorTemplates(workers.map((w) => w.template));
  const entries: RawWorker[] = workers.map((w, i) => {
    const override = overrides[i];
    return override ? { node: w.node, template: override } : { node: w.node };
  });
  const metadata: RawService["metadata"] = { name };
  if (Object.keys(labels).length > 0) metadata.labels = { ...labels };
  const spec: RawService["spec"] = { template: shared, workers: entries };
  if (mesh) spec.mesh = mesh;
  return { apiVersion: API_VERSION, kind: "Service", metadata, spec };
}
