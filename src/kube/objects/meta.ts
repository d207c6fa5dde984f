// What every object of the facade carries: Kubernetes ObjectMeta with a uid, a resourceVersion and
// a creationTimestamp. A projected object's resourceVersion is a digest of its content, so that it
// changes exactly when the object does (informers and `kubectl get -w` compare them); it is opaque
// to clients, as Kubernetes says it is. Pure.
import { createHash } from "node:crypto";

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion?: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** Sets metadata.resourceVersion to a digest of the object (without it); returns the object. */
export function withContentVersion<T extends KubeObject>(object: T): T {
  const { resourceVersion: _, ...metadata } = object.metadata;
  const digest = createHash("sha256")
    .update(JSON.stringify({ ...object, metadata }))
    .digest();
  // Decimal digits, like the resourceVersions Kubernetes hands out (some clients parse them).
  object.metadata.resourceVersion = String(digest.readUIntBE(0, 6));
  return object;
}

/** Kubernetes times have no fractional seconds: 2026-12-07T09:00:00Z. */
export function kubeTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 19)}Z` : null;
}
