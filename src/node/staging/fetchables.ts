// What a worker needs fetched before it can start, as a list of items each kind of fetcher knows
// how to get: the staging of a generation (stager.ts) fetches the items of all its workers while
// the old ones keep running. Artifacts are one kind (their mounts' blobs, into the artifact
// cache); another kind (e.g. container images) plugs in as one more Fetcher.

import type { PlannedImage } from "../../manifest/image-ref.ts";
import { mountSource } from "../../manifest/mounts.ts";
import type { NodePlan, PlannedWorker } from "../../manifest/plan.ts";
import { type Template, templateSchema } from "../../manifest/template.ts";
import type { ArtifactCache } from "../artifacts/artifact-cache.ts";

export interface FetchItem {
  /** The fetcher that gets it ("artifact"). */
  kind: string;
  /** Its identity within the kind (an artifact's sha256): an item is fetched once per generation. */
  id: string;
  /** For messages. */
  name: string;
  /** Its size in bytes, when the plan says. */
  size: number | undefined;
}

/** What the plan says besides the templates: the cloud's copies of container images, by `image:`. */
export interface FetchContext {
  images: Readonly<Record<string, PlannedImage>>;
}

export interface Fetcher {
  readonly kind: string;
  /** The items of this kind a worker template needs. */
  items(template: Template, context: FetchContext): FetchItem[];
  /** Gets the item onto the node (at once when it is there); `progress`: its bytes so far, and total. */
  fetch(
    item: FetchItem,
    signal: AbortSignal,
    progress: (received: number, total: number | undefined) => void,
  ): Promise<void>;
}

/** The artifacts a template's mounts name, fetched into the node's cache. */
export function artifactFetcher(cache: Pick<ArtifactCache, "ensure">): Fetcher {
  return {
    kind: "artifact",
    items(template) {
      return template.mounts.flatMap((mount) => {
        const source = mountSource(mount);
        if (source.kind !== "artifact") return [];
        const { sha256, name, size } = source.artifact;
        return [{ kind: "artifact", id: sha256, name: name ?? sha256, size }];
      });
    },
    async fetch(item, signal, progress) {
      const ref = { sha256: item.id, ...(item.size !== undefined ? { size: item.size } : {}) };
      await cache.ensure(ref, { signal, onProgress: (p) => progress(p.received, p.total) });
    },
  };
}

/** Every item the workers need, once each; a template this agent cannot read is an error message. */
export function fetchItems(
  fetchers: readonly Fetcher[],
  workers: readonly PlannedWorker[],
  context: FetchContext = { images: {} },
): { items: FetchItem[] } | { error: string } {
  const items = new Map<string, FetchItem>();
  for (const worker of workers) {
    const parsed = templateSchema.safeParse(worker.template);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        error: `worker ${worker.index}: this agent cannot read the template: ${issue?.path.join(".") || "template"}: ${issue?.message ?? "invalid"}`,
      };
    }
    for (const fetcher of fetchers)
      for (const item of fetcher.items(parsed.data, context)) items.set(`${item.kind}:${item.id}`, item);
  }
  return { items: [...items.values()] };
}

/** The artifacts the generations a plan stages mount: kept by the cache's cleanup. */
export function stagedArtifacts(plan: Pick<NodePlan, "services">): Set<string> {
  const out = new Set<string>();
  for (const service of plan.services)
    for (const worker of service.staged?.workers ?? []) {
      const mounts = (worker.template as { mounts?: { artifact?: { sha256?: unknown } }[] }).mounts;
      for (const mount of Array.isArray(mounts) ? mounts : [])
        if (typeof mount?.artifact?.sha256 === "string") out.add(mount.artifact.sha256);
    }
  return out;
}
