// Revoked node certificates: the cloud revokes every certificate it issued to a node when that node
// is deleted, and ships the list (in the mesh catalog) to every node; each node then refuses a peer
// presenting one of them, accepting and dialing alike, and closes the tunnel streams such a peer
// still has open. A certificate is known by the SHA-256 of its DER. The list is bounded: an entry
// goes when the certificate would have expired anyway (the TLS stack refuses it from then on), and
// beyond MAX_REVOKED entries those expiring first are left out. Pure.
import { createHash, type X509Certificate } from "node:crypto";
import type { Catalog, RevokedCertificate } from "../contracts.ts";

/** At most this many entries are shipped (~110 bytes each in the catalog). */
export const MAX_REVOKED = 2048;

/** Whether a certificate (by fingerprint) is revoked. */
export type RevocationCheck = (fingerprint: string) => boolean;

export const NOTHING_REVOKED: RevocationCheck = () => false;

/** The fingerprint of a certificate: SHA-256 of its DER, lowercase hex. */
export function certificateFingerprint(cert: X509Certificate | Uint8Array): string {
  const der = cert instanceof Uint8Array ? cert : cert.raw;
  return createHash("sha256").update(der).digest("hex");
}

/**
 * The entries still to ship at `now`: expired ones dropped, duplicates merged, at most `max` (those
 * expiring last kept: they stay dangerous longest), in a stable order (the catalog's hash).
 */
export function boundRevocations(
  entries: readonly RevokedCertificate[],
  now: number,
  max = MAX_REVOKED,
): RevokedCertificate[] {
  const latest = new Map<string, RevokedCertificate>();
  for (const entry of entries) {
    const expires = Date.parse(entry.expiresAt);
    if (!(expires > now)) continue;
    const seen = latest.get(entry.fingerprint);
    if (!seen || Date.parse(seen.expiresAt) < expires) latest.set(entry.fingerprint, entry);
  }
  return [...latest.values()]
    .sort(
      (a, b) =>
        Date.parse(b.expiresAt) - Date.parse(a.expiresAt) || a.fingerprint.localeCompare(b.fingerprint),
    )
    .slice(0, max);
}

/** A check over a shipped list: revoked while the entry has not expired. */
export function revocationCheck(
  entries: readonly RevokedCertificate[] | undefined,
  now: () => number = Date.now,
): RevocationCheck {
  if (!entries || entries.length === 0) return NOTHING_REVOKED;
  const expiry = new Map<string, number>();
  for (const entry of entries) expiry.set(entry.fingerprint, Date.parse(entry.expiresAt));
  return (fingerprint) => {
    const expires = expiry.get(fingerprint);
    return expires !== undefined && expires > now();
  };
}

/** A check that follows the current catalog's list (rebuilt only when the list itself changed). */
export function catalogRevocations(
  catalog: () => Pick<Catalog, "revoked"> | undefined,
  now: () => number = Date.now,
): RevocationCheck {
  let list: RevokedCertificate[] | undefined;
  let check = NOTHING_REVOKED;
  return (fingerprint) => {
    const current = catalog()?.revoked;
    if (current !== list) {
      list = current;
      check = revocationCheck(current, now);
    }
    return check(fingerprint);
  };
}
