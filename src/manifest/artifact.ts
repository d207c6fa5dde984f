// A reference to an artifact: a content-addressed blob (e.g. a DNN model) uploaded to the cloud
// and fetched by edges over HTTP, verified by its sha256 and cached by it.
import { z } from "zod";
import { strict } from "./issues.ts";

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The sha256 of an artifact's bytes: 64 lower-case hex digits. */
export const sha256Schema = z
  .string()
  .regex(SHA256_HEX, "expected a sha256: 64 lower-case hex digits (as printed by `levee ctl artifact push`)");

/** The fields of an artifact reference, for schemas that add their own (a mount adds `path`). */
export const artifactRefShape = {
  sha256: sha256Schema,
  /** A human name (the uploaded file's name); not used to find the blob. */
  name: z.string().min(1).max(253).optional(),
  /** The size in bytes, if known: a fetch of another size is refused. */
  size: z.int().min(0).optional(),
};

export const artifactRefSchema = strict(artifactRefShape);

export type ArtifactRef = z.output<typeof artifactRefSchema>;
