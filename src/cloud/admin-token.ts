// The cloud's admin token: made at first start in <data-dir>/admin.token (mode 0600) and required
// as `Authorization: Bearer` by every /api route except join. `levee ctl` on the cloud host reads
// the same file. Delete the file and restart the cloud to rotate it.
import { join } from "node:path";
import { ensureTokenFile } from "../runtime/token-file.ts";

export { tokenMatches } from "../runtime/token-file.ts";

export const ADMIN_TOKEN_FILE = "admin.token";

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** Reads the admin token, creating it (atomically, mode 0600) when it does not exist. */
export function ensureAdminToken(dataDir: string): string {
  return ensureTokenFile(adminTokenPath(dataDir), "lvadm_");
}
