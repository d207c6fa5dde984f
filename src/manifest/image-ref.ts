// Container image references as levee compares them, and an image in a node's plan. Docker shows
// "busybox" as "busybox:latest" and "docker.io/library/busybox:1" as "busybox:1": references are
// kept in that familiar form (normalizeImageReference), so that a template's `image:` finds the
// image pushed under any spelling of the same name. Pure: no I/O.
import { z } from "zod";
import { sha256Schema } from "./artifact.ts";

/** An image ID as Docker prints it: sha256:<64 hex>. */
export const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** An image the cloud holds as an artifact (a `docker save` tarball), as a node's plan names it. */
export const plannedImageSchema = z.object({
  /** The artifact holding the tarball. */
  sha256: sha256Schema,
  size: z.number().int().min(0),
  /** Docker's image ID once loaded (sha256:<hex>). */
  id: z.string().regex(IMAGE_ID),
});

export type PlannedImage = z.infer<typeof plannedImageSchema>;

/** "busybox" → "busybox:latest"; "docker.io/library/x:1" → "x:1"; an ID or a digest unchanged. */
export function normalizeImageReference(reference: string): string {
  let ref = reference.trim();
  if (IMAGE_ID.test(ref) || /^[0-9a-f]{64}$/.test(ref))
    return ref.startsWith("sha256:") ? ref : `sha256:${ref}`;
  for (const prefix of ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"])
    if (ref.startsWith(prefix)) {
      ref = ref.slice(prefix.length);
      break;
    }
  if (ref.startsWith("library/") && ref.split("/").length === 2) ref = ref.slice("library/".length);
  if (ref.includes("@")) return ref;
  const { tag } = splitRepoTag(ref);
  return tag === undefined ? `${ref}:latest` : ref;
}

/**
 * "repo:5000/dayuhub/camera:v1" → {repo: "repo:5000/dayuhub/camera", tag: "v1"}; the tag is the part
 * after the last ":" of the last path segment (a registry's port is not a tag).
 */
export function splitRepoTag(reference: string): { repo: string; tag: string | undefined } {
  const at = reference.indexOf("@");
  const name = at >= 0 ? reference.slice(0, at) : reference;
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: undefined };
}
