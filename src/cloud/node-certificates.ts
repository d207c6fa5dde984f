// The mesh certificates the cloud's CA issued, kept by fingerprint (SHA-256 of the DER) in the
// node_certificates table, so that deleting a node can revoke them: a certificate is otherwise valid
// for its year wherever it goes. The revoked ones not yet expired are what the catalog ships to
// every node (src/mesh/transport/revocation.ts); the relay and the cloud's tunnel listener ask here
// directly. A row goes once its certificate expired: the TLS stack refuses it from then on anyway.

import type { Database } from "bun:sqlite";
import { X509Certificate } from "node:crypto";
import type { RevokedCertificate } from "../mesh/contracts.ts";
import { boundRevocations, certificateFingerprint, MAX_REVOKED } from "../mesh/transport/revocation.ts";
import type { Store } from "../store/store.ts";
import type { NodeCa } from "./node-ca.ts";

/** Records a certificate (PEM) the CA issued to `node`; expired rows go at the same time. */
export function recordIssued(store: Store, node: string, certPem: string, now = new Date()): void {
  const cert = new X509Certificate(certPem);
  const expiresAt = new Date(cert.validTo).toISOString();
  store.tx((db) => {
    db.query("DELETE FROM node_certificates WHERE expires_at <= ?").run(now.toISOString());
    db.query(
      `INSERT INTO node_certificates (fingerprint, node, issued_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (fingerprint) DO NOTHING`,
    ).run(certificateFingerprint(cert), node, now.toISOString(), expiresAt);
  });
}

/** Revokes every certificate issued to `node` (inside the transaction that deletes it). */
export function revokeNodeCertificates(db: Database, node: string, now = new Date()): number {
  return db
    .query("UPDATE node_certificates SET revoked_at = ? WHERE node = ? AND revoked_at IS NULL")
    .run(now.toISOString(), node).changes;
}

/** The revoked certificates not yet expired, bounded (what the catalog ships). */
export function revokedCertificates(store: Store, now = Date.now()): RevokedCertificate[] {
  const rows = store.db
    .query<{ fingerprint: string; expires_at: string }, [string, number]>(
      `SELECT fingerprint, expires_at FROM node_certificates
       WHERE revoked_at IS NOT NULL AND expires_at > ? ORDER BY expires_at DESC LIMIT ?`,
    )
    .all(new Date(now).toISOString(), MAX_REVOKED);
  return boundRevocations(
    rows.map((r) => ({ fingerprint: r.fingerprint, expiresAt: r.expires_at })),
    now,
  );
}

/** Whether the certificate with this fingerprint was revoked (and has not expired). */
export function isRevoked(store: Store, fingerprint: string, now = Date.now()): boolean {
  return (
    store.db
      .query<{ one: number }, [string, string]>(
        "SELECT 1 AS one FROM node_certificates WHERE fingerprint = ? AND revoked_at IS NOT NULL AND expires_at > ?",
      )
      .get(fingerprint, new Date(now).toISOString()) !== null
  );
}

/** The CA with every certificate it issues recorded (the join and renewal routes, the cloud's own). */
export function recordingNodeCa(ca: NodeCa, store: Store): NodeCa {
  return {
    cert: ca.cert,
    expiresAt: ca.expiresAt,
    issue(node, addresses, publicKeyPem) {
      const cert = ca.issue(node, addresses, publicKeyPem);
      recordIssued(store, node, cert);
      return cert;
    },
  };
}
