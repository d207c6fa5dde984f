// The cloud's admin token: made at first start in <data-dir>/admin.token (mode 0600) and required
// as `Authorization: Bearer` by every /api route except join. `levee ctl` on the cloud host reads
// the same file. Delete the file and restart the cloud to rotate it.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const ADMIN_TOKEN_FILE = "admin.token";

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** Reads the admin token, creating it (atomically, mode 0600) when it does not exist. */
export function ensureAdminToken(dataDir: string): string {
  const path = adminTokenPath(dataDir);
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    if (token.length >= 32) {
      chmodSync(path, 0o600);
      return token;
    }
  }
  const token = `lvadm_${randomBytes(32).toString("base64url")}`;
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  renameSync(temp, path);
  return token;
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
