// Canonical JSON and hashes: the same content gives the same text whatever the key order, so the
// API can tell created / configured / unchanged, and plans can be compared by hash.
//
// canonicalJson is JSON with object keys sorted (by UTF-16 code units, like RFC 8785) and no
// whitespace. Like JSON.stringify: undefined properties are left out, undefined in arrays and
// non-finite numbers become null, toJSON() is honoured.
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
      return sorted;
    }) ?? "null"
  );
}

/** Lower-case hex sha256 of the UTF-8 bytes of a text. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** What an apply can change about an object: everything but system fields and status. */
export interface ContentSource {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/**
 * The hash of an object's desired content (spec, data, labels, annotations), leaving out the
 * metadata the system writes (uid, generation, resourceVersion, timestamps) and status. Equal
 * hashes: an apply is "unchanged".
 */
export function contentHash(object: ContentSource): string {
  const { metadata, status: _status, ...rest } = object;
  const content = {
    ...rest,
    metadata: { name: metadata.name, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} },
  };
  return sha256Hex(canonicalJson(content));
}
