// `levee ctl backup FILE [--artifacts]`: saves the cloud's backup (GET /api/v1/backup) to FILE,
// 0600 (it holds the admin token and the mesh CA key), through a temp file renamed at the end so
// that an interrupted download never leaves a FILE that looks complete; then says what it holds.
// FILE is positional: -o is ctl's output format. Restore with `levee cloud --restore FILE`.
import { closeSync, openSync } from "node:fs";
import { BACKUP_HEADER } from "../../cloud/api/routes-backup.ts";
import { type BackupManifest, parseManifest } from "../../cloud/backup-format.ts";
import { replaceFileDurablyAsync } from "../../runtime/durable-file.ts";
import { describeError, UsageError } from "../../runtime/errors.ts";
import { describeFsError } from "../../runtime/fs-errors.ts";
import { writeAll } from "../../runtime/tar.ts";
import { formatSize } from "./artifact.ts";
import { CtlFailure } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";

export async function backup(ctx: CtlContext): Promise<number> {
  const [file] = takeArgs(ctx.args, 1);
  if (file === undefined) throw new UsageError("missing FILE: levee ctl backup FILE [--artifacts]");
  const query = ctx.options.artifacts ? "?artifacts=1" : "";
  const res = await ctx.client().stream(`/backup${query}`, new AbortController().signal);
  const manifest = manifestOf(res.headers.get(BACKUP_HEADER));
  const temp = `${file}.partial`;
  const download = async (path: string) => {
    let fd: number;
    try {
      fd = openSync(path, "w", 0o600);
    } catch (err) {
      throw new UsageError(`cannot write ${path}: ${describeFsError(err)}`);
    }
    try {
      for await (const chunk of res.body ?? []) writeAll(fd, chunk);
    } finally {
      closeSync(fd);
    }
  };
  try {
    await replaceFileDurablyAsync(file, download, { mode: 0o600, temp });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new CtlFailure(`the backup did not arrive whole (nothing saved): ${describeError(err)}`);
  }
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(manifest));
  else if (output === "yaml") ctx.out(toYaml(manifest));
  else ctx.out(describeBackup(file, manifest));
  return 0;
}

/** The manifest the cloud sent in the header (checked as a restore would). */
function manifestOf(header: string | null): BackupManifest {
  const parsed = parseManifest(Buffer.from(header ?? "", "base64").toString("utf8"));
  if (typeof parsed === "string") throw new CtlFailure(`the cloud's answer is not a levee backup: ${parsed}`);
  return parsed;
}

/** What a backup holds, for people. */
export function describeBackup(file: string, manifest: BackupManifest): string {
  const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
  const lines = [
    `backup saved to ${file} (${formatSize(total)}, taken ${manifest.createdAt}, levee ${manifest.levee}):`,
    ...manifest.files.map((f) => `  ${f.name.padEnd(20)} ${formatSize(f.size)}`),
    manifest.artifacts
      ? "artifacts included."
      : "artifacts NOT included (their records are; copy <data-dir>/artifacts/ or use --artifacts).",
    `restore on a new host: levee cloud --restore ${file} --data-dir EMPTY_DIR`,
  ];
  return `${lines.join("\n")}\n`;
}
