// The manifest `levee demo` applies: examples/dayu-pipeline/pipeline.yaml, embedded in the binary
// (a text import: `bun build --compile` bundles it, so the compiled levee needs no files next to
// it; the services' code travels inside it as a Config). It names the nodes cloud, edge1..edge3;
// for a demo with another number of edges, pipelineFor() adapts the worker lists (pure):
//   - a Service placed on every edge the manifest knows (generator, controller, monitor) gets one
//     worker per demo edge;
//   - any other Service keeps only its workers on edges the demo has (the processor on edge1 and
//     edge2 stays on edge1 with --edges 1).

import pipelineYaml from "../../../examples/dayu-pipeline/pipeline.yaml" with { type: "text" };
import { loadDocuments } from "../../manifest/documents.ts";

/** The manifest as written in examples/dayu-pipeline/pipeline.yaml. */
export const PIPELINE_YAML: string = typeof pipelineYaml === "string" ? pipelineYaml : String(pipelineYaml);

type Json = Record<string, unknown>;
interface WorkerEntry extends Json {
  node?: string;
}

const EDGE = /^edge(\d+)$/;

/** The pipeline's objects for a demo with these edges (named edge1..edgeN). */
export function pipelineFor(edges: readonly string[], yaml: string = PIPELINE_YAML): Json[] {
  const objects = loadDocuments(yaml, "application/yaml").map((doc, i) => {
    if (doc.errors)
      throw new Error(`embedded pipeline manifest, document ${i + 1}: ${doc.errors.join("; ")}`);
    return structuredClone(doc.value) as Json;
  });
  const services = objects.filter((o) => o.kind === "Service");
  const known = new Set<string>();
  for (const service of services)
    for (const w of workersOf(service)) if (w.node && EDGE.test(w.node)) known.add(w.node);
  for (const service of services) {
    const workers = workersOf(service);
    const onEdges = workers.filter((w) => w.node && EDGE.test(w.node));
    const everyEdge = known.size > 0 && [...known].every((e) => onEdges.some((w) => w.node === e));
    const others = workers.filter((w) => !(w.node && EDGE.test(w.node)));
    const first = onEdges[0];
    const placed =
      everyEdge && first
        ? edges.map((node) => ({ ...first, node }))
        : onEdges.filter((w) => edges.includes(w.node as string));
    (service.spec as Json).workers = [...others, ...placed];
  }
  // A Service left without workers (the manifest requires at least one) is not applied.
  return objects.filter((o) => o.kind !== "Service" || workersOf(o).length > 0);
}

function workersOf(service: Json): WorkerEntry[] {
  const workers = (service.spec as Json | undefined)?.workers;
  return Array.isArray(workers) ? (workers as WorkerEntry[]) : [];
}

/** The mesh port of a Service of the manifest. */
export function meshPort(objects: readonly Json[], name: string): number | undefined {
  const service = objects.find((o) => o.kind === "Service" && (o.metadata as Json)?.name === name);
  const mesh = (service?.spec as Json | undefined)?.mesh as Json | undefined;
  return typeof mesh?.port === "number" ? mesh.port : undefined;
}

/** Names of the Services and how many workers each has. */
export function workerCounts(objects: readonly Json[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const o of objects) {
    if (o.kind !== "Service") continue;
    const replicas = workersOf(o).reduce((n, w) => n + (typeof w.replicas === "number" ? w.replicas : 1), 0);
    counts.set(String((o.metadata as Json).name), replicas);
  }
  return counts;
}
