// Password hashes in Mosquitto 2's format, so that one hash in the cloud's nodes table serves
// both the embedded broker and a generated Mosquitto password_file:
//   $7$<iterations>$<salt, base64>$<PBKDF2-SHA512(password, salt, iterations, 64 bytes), base64>
// (checked against Debian's mosquitto_passwd 2.0: 101 iterations, 12-byte salt; the salt's raw
// bytes, not its base64 text, go into PBKDF2).
import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

export const DEFAULT_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;
/** Refuse absurd iteration counts so that a bad file cannot stall the broker. */
const MAX_ITERATIONS = 10_000_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface HashOptions {
  iterations?: number;
  salt?: Buffer;
}

export function hashPassword(password: string, options: HashOptions = {}): string {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS)
    throw new RangeError(`iterations must be 1..${MAX_ITERATIONS}, got ${iterations}`);
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, HASH_BYTES, "sha512");
  return `$7$${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** True when `password` matches `encoded`; false for a wrong password or any malformed hash. */
export function verifyPassword(password: string, encoded: string): boolean {
  const parts = encoded.split("$");
  // "", "7", iterations, salt, hash
  if (parts.length !== 5 || parts[0] !== "" || parts[1] !== "7") return false;
  const [, , iterText = "", saltText = "", hashText = ""] = parts;
  if (!/^[1-9][0-9]{0,7}$/.test(iterText)) return false;
  const iterations = Number(iterText);
  if (iterations > MAX_ITERATIONS || !BASE64.test(saltText) || !BASE64.test(hashText)) return false;
  const salt = Buffer.from(saltText, "base64");
  const expected = Buffer.from(hashText, "base64");
  if (salt.length === 0 || expected.length === 0 || expected.length > 512) return false;
  const actual = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, expected.length, "sha512");
  return timingSafeEqual(actual, expected);
}

/** The shape the cloud's node registry expects (PasswordHasher in src/cloud/node-registry.ts). */
export const mosquittoHasher = {
  hash: (password: string): string => hashPassword(password),
  verify: (password: string, hash: string): boolean => verifyPassword(password, hash),
};
