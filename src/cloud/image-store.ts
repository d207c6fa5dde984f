// The cloud's container images (levee ctl image push): a `docker save` tarball is stored as an
// artifact (streamed, hashed, never whole in memory: artifact-store.ts) while a tar scanner reads
// its manifest.json on the way (image-tar.ts); each reference it carries (repo:tag, and the image
// ID itself) is recorded in the `images` table with the artifact's sha256. The planner names the
// image in the plans of the nodes whose container workers run it (imageLookup), so they fetch the
// tarball like any artifact and load it into their Docker. An image a Service runs cannot be deleted.
import type { Database } from "bun:sqlite";
import { normalizeImageReference, type PlannedImage } from "../manifest/image-ref.ts";
import { PermanentError } from "../runtime/errors.ts";
import type { Store } from "../store/store.ts";
import type { ArtifactInfo, ArtifactStore, PutOutcome } from "./artifact-store.ts";
import { parseSaveManifest, TarManifestScanner } from "./image-tar.ts";

export interface ImageInfo {
  reference: string;
  id: string;
  sha256: string;
  size: number;
  createdAt: string;
}

export interface PushResult {
  outcome: PutOutcome;
  artifact: ArtifactInfo;
  images: ImageInfo[];
}

export type ImageDeleteResult =
  | { kind: "deleted"; images: ImageInfo[]; artifactDeleted: boolean }
  | { kind: "not-found" }
  | { kind: "in-use"; services: string[] };

/** The upload is not a `docker save` tarball (nothing was recorded, the bytes not kept). */
export class NotAnImageTarball extends PermanentError {}

interface Row {
  reference: string;
  image_id: string;
  sha256: string;
  size: number;
  created_at: string;
}

const toInfo = (row: Row): ImageInfo => ({
  reference: row.reference,
  id: row.image_id,
  sha256: row.sha256,
  size: row.size,
  createdAt: row.created_at,
});

export class ImageStore {
  constructor(
    private readonly store: Store,
    private readonly artifacts: ArtifactStore,
  ) {}

  list(): ImageInfo[] {
    return this.store.db.query<Row, []>("SELECT * FROM images ORDER BY reference").all().map(toInfo);
  }

  /** Stores a tarball and records its images; throws NotAnImageTarball, or what the artifact store throws. */
  async push(
    body: ReadableStream<Uint8Array> | null,
    options: { name: string; declaredSize?: number | undefined },
  ): Promise<PushResult> {
    const scanner = new TarManifestScanner();
    const scanned = body?.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          scanner.push(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    const stored = await this.artifacts.put(scanned ?? null, options);
    const found = scanner.result();
    const images = "error" in found ? found : parseSaveManifest(found.manifest);
    if ("error" in images) {
      if (stored.outcome === "created") this.artifacts.delete(stored.artifact.sha256);
      throw new NotAnImageTarball(images.error);
    }
    const { sha256, size } = stored.artifact;
    const createdAt = new Date().toISOString();
    const rows = this.store.tx((db) => {
      const put = db.query(
        `INSERT INTO images (reference, image_id, sha256, size, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (reference) DO UPDATE SET image_id = excluded.image_id, sha256 = excluded.sha256,
         size = excluded.size, created_at = excluded.created_at`,
      );
      const out: ImageInfo[] = [];
      for (const image of images)
        for (const reference of [...image.references, image.id]) {
          put.run(reference, image.id, sha256, size, createdAt);
          out.push({ reference, id: image.id, sha256, size, createdAt });
        }
      return out;
    });
    return { outcome: stored.outcome, artifact: stored.artifact, images: rows };
  }

  /**
   * Deletes an image (by any of its references or its ID): every reference of that image ID, then
   * the tarball's artifact once no image and no mount needs it. Refused while a Service runs it.
   */
  delete(reference: string): ImageDeleteResult {
    const ref = normalizeImageReference(reference);
    const result = this.store.tx((db): ImageDeleteResult => {
      const row = db.query<Row, [string]>("SELECT * FROM images WHERE reference = ?").get(ref);
      if (!row) return { kind: "not-found" };
      const rows = db.query<Row, [string]>("SELECT * FROM images WHERE image_id = ?").all(row.image_id);
      const services = servicesRunning(
        db,
        rows.map((r) => r.reference),
      );
      if (services.length > 0) return { kind: "in-use", services };
      db.query("DELETE FROM images WHERE image_id = ?").run(row.image_id);
      return { kind: "deleted", images: rows.map(toInfo), artifactDeleted: false };
    });
    if (result.kind !== "deleted") return result;
    const shas = new Set(result.images.map((i) => i.sha256));
    let artifactDeleted = false;
    for (const sha of shas) {
      const still = this.store.db.query("SELECT 1 FROM images WHERE sha256 = ?").get(sha);
      if (!still && this.artifacts.delete(sha).kind === "deleted") artifactDeleted = true;
    }
    return { ...result, artifactDeleted };
  }
}

/** The planner's view: the cloud's copy of an image, by a template's `image:` (any spelling). */
export function imageLookup(db: Database): (reference: string) => PlannedImage | undefined {
  const select = db.query<Row, [string]>("SELECT * FROM images WHERE reference = ?");
  return (reference) => {
    const row = select.get(normalizeImageReference(reference));
    return row ? { sha256: row.sha256, size: row.size, id: row.image_id } : undefined;
  };
}

/** The Services whose template (or a worker's override) runs one of these references. */
export function servicesRunning(db: Database, references: readonly string[]): string[] {
  const wanted = new Set(references);
  const rows = db
    .query<{ name: string; spec: string }, []>("SELECT name, spec FROM resources WHERE kind = 'Service'")
    .all();
  return rows
    .filter((row) => {
      const spec = JSON.parse(row.spec) as { template?: unknown; workers?: unknown };
      const workers = Array.isArray(spec.workers) ? spec.workers : [];
      const templates = [spec.template, ...workers.map((w) => (w as { template?: unknown })?.template)];
      return templates.some((t) => {
        const image = (t as { image?: unknown } | undefined)?.image;
        return typeof image === "string" && wanted.has(normalizeImageReference(image));
      });
    })
    .map((r) => r.name);
}
