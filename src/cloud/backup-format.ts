// What a cloud backup holds (`GET /api/v1/backup`, `levee cloud --restore`): a ustar archive whose
// first entry is levee-backup.json (this manifest: format version, the epoch and time of the
// snapshot, each file's size and sha256), then levee.db (an online copy of the store) and the
// data-dir files the cloud needs to be the same cloud (tokens, the mesh CA, the Kubernetes API
// CA), and the artifacts when asked for. A tar, not one SQLite file with the extras in a table:
// tar(1) lists and extracts it by hand, and artifacts of gigabytes stream through it.
import { z } from "zod";

export const MANIFEST_NAME = "levee-backup.json";
export const DB_NAME = "levee.db";
export const BACKUP_FORMAT = "levee-backup";
export const BACKUP_VERSION = 1;
/** The manifest is small: a bigger first entry is not a backup. */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Data-dir files a backup carries when they exist (kube-api/ is the Kubernetes API's CA). The
 * plan-signing key above all: every joined node verifies plans with it, a new one would be refused.
 */
export const SECRET_FILES = [
  "admin.token",
  "agent.token",
  "metrics.token",
  "mesh-ca.key",
  "mesh-ca.crt",
  "plan-signing.key",
  "kube-api/ca.crt",
  "kube-api/ca.key",
  "kube-api/server.crt",
  "kube-api/server.key",
] as const;

/** An entry name the restore accepts: the database, a known file, or an artifact by its sha256. */
export function allowedEntry(name: string): boolean {
  return (
    name === DB_NAME ||
    (SECRET_FILES as readonly string[]).includes(name) ||
    /^artifacts\/[0-9a-f]{64}$/.test(name)
  );
}

const fileSchema = z.object({
  name: z.string().min(1).max(99).refine(allowedEntry, "not a file a backup holds"),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 hex digits"),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  createdAt: z.string().min(1).max(64),
  levee: z.string().max(64),
  /** The epoch of the cloud that was backed up (a restore starts a new one). */
  epoch: z.string().max(128),
  artifacts: z.boolean(),
  files: z.array(fileSchema).max(100_000),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupFile = BackupManifest["files"][number];

/** The manifest in text, or a one-line reason it is not one. */
export function parseManifest(text: string): BackupManifest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${MANIFEST_NAME} is not JSON`;
  }
  const result = manifestSchema.safeParse(value);
  if (result.success) {
    if (!result.data.files.some((f) => f.name === DB_NAME)) return `${MANIFEST_NAME} lists no ${DB_NAME}`;
    return result.data;
  }
  const issue = result.error.issues[0];
  return `${MANIFEST_NAME}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`;
}
