// What a `docker save` tarball holds, read while it streams past (never whole in memory): a tar
// scanner that keeps only the small top-level manifest.json, and the parse of that manifest into
// the images of the tarball (their IDs and repo:tag references). Pure: fed chunk by chunk.
import { z } from "zod";
import { IMAGE_ID, normalizeImageReference } from "../manifest/image-ref.ts";
import { BLOCK } from "../runtime/tar.ts";

/** manifest.json of a save with many images and tags stays far below this. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** One image of a tarball: its ID and the references (normalized) it carries. */
export interface SavedImage {
  id: string;
  references: string[];
}

/** Reads tar headers as chunks pass and keeps the bytes of `manifest.json`. */
export class TarManifestScanner {
  private header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** Bytes of the current entry's data (and padding) still to pass. */
  private skip = 0;
  /** The current entry's data is manifest.json: collected here. */
  private collecting: { bytes: Uint8Array; fill: number } | undefined;
  private collectLeft = 0;
  private found: Uint8Array | undefined;
  private problem: string | undefined;
  private ended = false;

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.ended && this.problem === undefined) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        if (this.collecting && this.collectLeft > 0) {
          const take = Math.min(n, this.collectLeft);
          this.collecting.bytes.set(chunk.subarray(at, at + take), this.collecting.fill);
          this.collecting.fill += take;
          this.collectLeft -= take;
          if (this.collectLeft === 0) {
            this.found = this.collecting.bytes;
            this.collecting = undefined;
          }
        }
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
      this.header.set(chunk.subarray(at, at + n), this.headerFill);
      this.headerFill += n;
      at += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.onHeader(this.header);
      }
    }
  }

  /** The manifest's bytes, or why there are none. */
  result(): { manifest: Uint8Array } | { error: string } {
    if (this.problem) return { error: this.problem };
    if (this.found) return { manifest: this.found };
    return { error: "not a `docker save` tarball: it has no manifest.json" };
  }

  private onHeader(block: Uint8Array): void {
    if (block.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    const size = entrySize(block.subarray(124, 136));
    if (size === undefined) {
      this.problem = "not a tar archive (a header's size field is unreadable)";
      return;
    }
    const name = entryName(block);
    const type = String.fromCharCode(block[156] ?? 0);
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
    if ((name === "manifest.json" || name === "./manifest.json") && (type === "0" || type === "\0")) {
      if (size > MAX_MANIFEST_BYTES) {
        this.problem = `manifest.json has ${size} bytes, more than ${MAX_MANIFEST_BYTES}`;
        return;
      }
      this.collecting = { bytes: new Uint8Array(size), fill: 0 };
      this.collectLeft = size;
      if (size === 0) {
        this.found = this.collecting.bytes;
        this.collecting = undefined;
      }
    }
  }
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end >= 0 ? bytes.subarray(0, end) : bytes).toString("utf8");
}

function entryName(block: Uint8Array): string {
  const name = cString(block.subarray(0, 100));
  const magic = cString(block.subarray(257, 263));
  const prefix = magic.startsWith("ustar") ? cString(block.subarray(345, 500)) : "";
  return prefix ? `${prefix}/${name}` : name;
}

/** Octal digits, or GNU's base-256 (first byte's high bit set) for large files. */
function entrySize(field: Uint8Array): number | undefined {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const b of field.subarray(1)) value = value * 256 + b;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = cString(field).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

const manifestSchema = z
  .array(
    z.object({
      Config: z.string().max(4096),
      RepoTags: z.array(z.string().max(4096)).max(1000).nullable().optional(),
    }),
  )
  .min(1)
  .max(1000);

/**
 * The images a tarball's manifest.json lists. Docker's ID is the sha256 of the image's config:
 * the Config entry is "<hex>.json" (Docker before 25) or "blobs/sha256/<hex>" (OCI layout).
 */
export function parseSaveManifest(bytes: Uint8Array): SavedImage[] | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return { error: "manifest.json is not JSON" };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) return { error: "manifest.json is not a list of {Config, RepoTags}" };
  const images: SavedImage[] = [];
  for (const entry of parsed.data) {
    const m = /^(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(entry.Config);
    if (!m) return { error: `manifest.json: Config ${JSON.stringify(entry.Config)} names no image ID` };
    const id = `sha256:${m[1]}`;
    if (!IMAGE_ID.test(id)) return { error: `manifest.json: bad image ID ${id}` };
    const references = [...new Set((entry.RepoTags ?? []).map(normalizeImageReference))];
    images.push({ id, references });
  }
  return images;
}
