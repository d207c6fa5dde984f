// GET /api/v1/backup[?artifacts=1] (admin): a consistent snapshot of the cloud as a tar
// (backup-format.ts), streamed. Without artifacts=1 the artifacts' bytes are left out (their rows
// are in the store): they can be large and are usually kept elsewhere; copy <data-dir>/artifacts/
// beside the backup, or ask for them. The manifest is also in the X-Levee-Backup header (base64
// JSON) so that the client can say what it saved without reading the archive back.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Logger } from "../../runtime/log.ts";
import type { Backup } from "../backup.ts";
import { parseQuery } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

export interface BackupRouteDeps {
  take: (options: { artifacts: boolean }) => Promise<Backup>;
  log: Logger;
  admin: MiddlewareHandler;
}

export const BACKUP_HEADER = "x-levee-backup";

const backupQuery = z.object({
  artifacts: z
    .enum(["0", "1", "true", "false"], { error: "expected 1 or 0" })
    .optional()
    .describe("1: include the artifacts' bytes"),
});

export function mountBackupRoute(api: ApiRoutes, deps: BackupRouteDeps): void {
  const spec = {
    method: "get",
    path: "/backup",
    summary: "Take a backup of the cloud (a tar, streamed)",
    tag: "cluster",
    auth: "admin",
    query: backupQuery,
    responses: {
      200: {
        description: "the backup",
        headers: { [BACKUP_HEADER]: "the backup's manifest (base64 JSON)" },
        body: { contentType: "application/x-tar", description: "the backup archive" },
      },
    },
  } as const;
  api.add(spec, deps.admin, async (c) => {
    const flag = parseQuery(c, backupQuery).artifacts;
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
