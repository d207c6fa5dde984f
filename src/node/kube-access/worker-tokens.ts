// Per-worker tokens for the agent's Kubernetes API: who is calling. Each start of a worker with
// kubeApi gets a fresh token (`lvwk_` + 256 random bits, base64url), written to the worker's token
// file and never logged; the node keeps only its sha256 (table kube_tokens, migration 11) with the
// worker it names. A token identifies its worker only while that instance is the worker's current
// one (workers.instance): triggers on the workers table delete a worker's tokens as soon as its
// instance changes (stopped, restarted, replaced; during a surge the old instance loses its token
// when the new one is recorded) or the worker is removed, and the lookup checks it again.
import type { Database } from "bun:sqlite";
import { createHash, randomBytes } from "node:crypto";
import { splitKey } from "../../manifest/namespace.ts";

export const WORKER_TOKEN_PREFIX = "lvwk_";
const TOKEN_BYTES = 32;
/** The only shape a worker token has: anything else is refused before it is hashed. */
const TOKEN_SHAPE = /^lvwk_[A-Za-z0-9_-]{43}$/;

/** Who a token names: the worker instance, where it runs, and what it acts as. */
export interface WorkerIdentity {
  /** The service's key as the plan knows it: its name, or name.namespace outside default. */
  service: string;
  index: number;
  instance: string;
  /** The service's namespace (never what the worker's env says). */
  namespace: string;
  serviceAccount: string;
  node: string;
}

export interface TokenRequest {
  service: string;
  index: number;
  instance: string;
  serviceAccount: string;
  node: string;
}

/** A new token for one instance; its hash is stored, the token itself only returned. */
export function issueWorkerToken(db: Database, request: TokenRequest, now = new Date()): string {
  const token = `${WORKER_TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString("base64url")}`;
  db.query(
    `INSERT INTO kube_tokens (token_hash, service, idx, instance, namespace, service_account, node, issued_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    hashToken(token),
    request.service,
    request.index,
    request.instance,
    splitKey(request.service).namespace,
    request.serviceAccount,
    request.node,
    now.toISOString(),
  );
  return token;
}

interface Row {
  service: string;
  idx: number;
  instance: string;
  namespace: string;
  service_account: string;
  node: string;
}

/**
 * The worker instance a presented token names, or undefined: not a worker token, unknown, or its
 * instance is no longer the one that runs.
 */
export function identifyWorkerToken(db: Database, token: string): WorkerIdentity | undefined {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const row = db
    .query<Row, [string]>(
      `SELECT t.service, t.idx, t.instance, t.namespace, t.service_account, t.node
       FROM kube_tokens t
       JOIN workers w ON w.service = t.service AND w.idx = t.idx AND w.instance = t.instance
       WHERE t.token_hash = ?`,
    )
    .get(hashToken(token));
  if (!row) return undefined;
  return {
    service: row.service,
    index: row.idx,
    instance: row.instance,
    namespace: row.namespace,
    serviceAccount: row.service_account,
    node: row.node,
  };
}

/** How a token is kept: sha256, hex. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
