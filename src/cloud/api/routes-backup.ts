// GET /api/v1/backup[?artifacts=1] (admin): a consistent snapshot of the cloud as a tar
// (backup-format.ts), streamed. Without artifacts=1 the artifacts' bytes are left out (their rows
// are in the store): they can be large and are usually kept elsewhere; copy <data-dir>/artifacts/
// beside the backup, or ask for them. The manifest is also in the X-Levee-Backup header (base64
// JSON) so that the client can say what it saved without reading the archive back.
import type { Hono, MiddlewareHandler } from "hono";
import type { Logger } from "../../runtime/log.ts";
import type { Backup } from "../backup.ts";
import { apiError } from "./errors.ts";

export interface BackupRouteDeps {
  take: (options: { artifacts: boolean }) => Promise<Backup>;
  log: Logger;
  admin: MiddlewareHandler;
}

export const BACKUP_HEADER = "x-levee-backup";

export function mountBackupRoute(api: Hono, deps: BackupRouteDeps): void {
  api.get("/backup", deps.admin, async (c) => {
    const flag = c.req.query("artifacts");
    if (flag !== undefined && !["0", "1", "true", "false"].includes(flag))
      return apiError(c, 400, "invalid query", [{ path: "artifacts", message: "expected 1 or 0" }]);
    const artifacts = flag === "1" || flag === "true";
    const backup = await deps.take({ artifacts });
    const bytes = backup.manifest.files.reduce((sum, f) => sum + f.size, 0);
    deps.log.info("backup taken", { files: backup.manifest.files.length, bytes, artifacts });
    return new Response(backup.stream, {
      headers: {
        "content-type": "application/x-tar",
        "content-disposition": 'attachment; filename="levee-backup.tar"',
        [BACKUP_HEADER]: Buffer.from(JSON.stringify(backup.manifest)).toString("base64"),
      },
    });
  });
}
