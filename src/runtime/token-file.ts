// A bearer token kept in a file of the data dir (mode 0600): made at first start, atomically, and
// read again at every start (a looser mode is tightened). Deleting the file and restarting the
// agent rotates the token. Used for the cloud's admin and metrics tokens and each agent's agent token.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { writeFileDurably } from "./durable-file.ts";

/** Reads the token in `path`, creating it (`<prefix><random>`, mode 0600) when it is missing or too short. */
export function ensureTokenFile(path: string, prefix: string): string {
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    if (token.length >= 32) {
      chmodSync(path, 0o600);
      return token;
    }
  }
  const token = `${prefix}${randomBytes(32).toString("base64url")}`;
  writeFileDurably(path, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}
