// A node's mesh certificate, key and the cluster CA, kept in its SQLite meta table (like its MQTT
// credentials) and kept valid: a node without one (it joined before the mesh existed) or whose
// certificate expires within 30 days makes a new key and asks the cloud to sign it
// (POST /api/v1/nodes/NAME/certificate with its MQTT credentials as HTTP Basic). At start, then
// twice a day; a failure is retried with backoff while the old certificate is still used.
// The key is never logged and never leaves the node.
import { X509Certificate } from "node:crypto";
import { Backoff, type BackoffOptions } from "../../runtime/backoff.ts";
import { readJsonAnswer } from "../../runtime/bounded-read.ts";
import { describeError, PermanentError, RecoverableError } from "../../runtime/errors.ts";
import type { Store } from "../../store/store.ts";
import { newNodeKey } from "./certificates.ts";
import { type NodeTls, nodeNameOf } from "./node-tls.ts";

const KEYS = { ca: "mesh-ca", cert: "mesh-cert", key: "mesh-key" } as const;
const RENEW_WITHIN_MS = 30 * 24 * 3600_000;
const CHECK_EVERY_MS = 12 * 3600_000;

export function storedMeshTls(store: Store): NodeTls | undefined {
  const ca = store.getMeta(KEYS.ca);
  const cert = store.getMeta(KEYS.cert);
  const key = store.getMeta(KEYS.key);
  if (!ca || !cert || !key) return undefined;
  let node: string | undefined;
  try {
    node = nodeNameOf(new X509Certificate(cert));
  } catch {
    return undefined;
  }
  return node ? { node, ca, cert, key } : undefined;
}

export function saveMeshTls(store: Store, tls: { ca: string; cert: string; key: string }): void {
  store.tx(() => {
    store.setMeta(KEYS.ca, tls.ca);
    store.setMeta(KEYS.cert, tls.cert);
    store.setMeta(KEYS.key, tls.key);
  });
}

/** True when there is no usable certificate, or it expires within `withinMs`. Pure. */
export function renewalDue(tls: NodeTls | undefined, nowMs: number, withinMs = RENEW_WITHIN_MS): boolean {
  if (!tls) return true;
  try {
    return Date.parse(new X509Certificate(tls.cert).validTo) - nowMs < withinMs;
  } catch {
    return true;
  }
}

/** The cloud refused to sign (a 4xx): asking again gives the same answer. */
export class CertificateRefused extends PermanentError {}

export interface CertificateRequest {
  cloudUrl: string;
  node: string;
  /** The node's MQTT credentials. */
  username: string;
  password: string;
  fetch?: typeof fetch;
}

/** Makes a key, has the cloud sign it; the new credentials (not stored yet). */
export async function requestMeshTls(req: CertificateRequest): Promise<NodeTls> {
  const { key, publicKey } = newNodeKey();
  const url = new URL(`/api/v1/nodes/${encodeURIComponent(req.node)}/certificate`, req.cloudUrl);
  const res = await (req.fetch ?? fetch)(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Basic ${Buffer.from(`${req.username}:${req.password}`).toString("base64")}`,
    },
    body: JSON.stringify({ v: 1, publicKey }),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await readJsonAnswer(res, "the cloud's certificate answer")) as {
    error?: string;
    ca?: unknown;
    certificate?: unknown;
  };
  if (!res.ok) {
    const message = `the cloud refused a mesh certificate for ${req.node}: ${answer.error ?? `HTTP ${res.status}`}`;
    throw res.status >= 400 && res.status < 500
      ? new CertificateRefused(message)
      : new RecoverableError(message);
  }
  if (typeof answer.ca !== "string" || typeof answer.certificate !== "string")
    throw new Error(
      `the cloud's certificate answer has no ca or certificate${answer.error ? ` (${answer.error})` : ""}`,
    );
  const node = nodeNameOf(new X509Certificate(answer.certificate));
  if (node !== req.node)
    throw new Error(`the cloud issued a certificate for ${node ?? "no node"}, not ${req.node}`);
  return { node, ca: answer.ca, cert: answer.certificate, key };
}

export interface MeshTlsKeeper {
  /** The credentials in use (undefined until the first certificate arrived). */
  current(): NodeTls | undefined;
  /** Resolves once credentials are there (at once when stored ones are). */
  ready: Promise<NodeTls>;
  close(): void;
}

export interface KeeperOptions {
  store: Store;
  /** Gets a fresh certificate (requestMeshTls against the cloud; the cloud signs its own directly). */
  obtain: () => Promise<NodeTls>;
  /** Stored credentials failing this are replaced at once (e.g. another node's, or another CA's). */
  usable?: (tls: NodeTls) => boolean;
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
  now?: () => number;
  backoff?: BackoffOptions;
}

/** Keeps the stored credentials valid (see the header); `current()` always reads the newest. */
export function keepMeshTls(options: KeeperOptions): MeshTlsKeeper {
  const now = options.now ?? Date.now;
  const backoff = new Backoff(options.backoff);
  const stored = storedMeshTls(options.store);
  let current = stored && (options.usable?.(stored) ?? true) ? stored : undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let markReady!: (tls: NodeTls) => void;
  const ready = new Promise<NodeTls>((resolve) => {
    markReady = resolve;
  });
  if (current) markReady(current);

  const schedule = (ms: number) => {
    if (closed) return;
    timer = setTimeout(check, ms);
  };
  async function check(): Promise<void> {
    if (closed) return;
    if (!renewalDue(current, now())) return schedule(CHECK_EVERY_MS);
    try {
      const fresh = await options.obtain();
      if (closed) return;
      saveMeshTls(options.store, fresh);
      const event = current ? "mesh certificate renewed" : "mesh certificate obtained";
      current = fresh;
      markReady(fresh);
      backoff.reset();
      options.onEvent?.(event, {
        node: fresh.node,
        validTo: new X509Certificate(fresh.cert).validTo,
      });
      schedule(CHECK_EVERY_MS);
    } catch (error) {
      const delay = backoff.next();
      options.onEvent?.("cannot get a mesh certificate yet; retrying", {
        error: describeError(error),
        retryInMs: delay,
        hasCertificate: current !== undefined,
      });
      schedule(delay);
    }
  }
  void check();
  return {
    current: () => current,
    ready,
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/** An edge's keeper: certificates from the cloud API, for the node it joined as. */
export function keepEdgeMeshTls(options: {
  store: Store;
  cloudUrl: string;
  /** The joined identity (src/node/identity.ts): name and MQTT credentials. */
  identity: { name: string; username: string; password: string };
  onEvent?: KeeperOptions["onEvent"];
}): MeshTlsKeeper {
  const { identity } = options;
  return keepMeshTls({
    store: options.store,
    obtain: () =>
      requestMeshTls({
        cloudUrl: options.cloudUrl,
        node: identity.name,
        username: identity.username,
        password: identity.password,
      }),
    usable: (tls) => tls.node === identity.name,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}
