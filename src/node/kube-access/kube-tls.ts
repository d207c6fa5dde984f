// The TLS of an agent's Kubernetes API listener: every agent keeps its own small CA and a serving
// certificate signed by it in <data-dir>/kube-api/ (ca.crt, ca.key, server.crt, server.key; keys
// 0600). Workers trust that CA through their ca.crt file (the in-cluster client verifies the
// server and its address, and speaks HTTPS only); kubectl gets it in its kubeconfig.
//
// Made at the first call, then read again; renewed well before expiry: the serving certificate
// (a year) when less than a third of its life is left, or when it does not cover the addresses
// asked for (the advertise address changed) or is not the CA's; the CA (ten years) when less than
// a year is left. Idempotent and cheap when nothing is due, so that a listener may call it again
// (daily) to pick up a renewal. A renewed CA reaches running workers at their next start.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import {
  CA_VALIDITY_MS,
  createCa,
  ipBytes,
  issueNodeCertificate,
  type KeyPair,
  NODE_VALIDITY_MS,
} from "../../mesh/transport/certificates.ts";
import { writeFileDurably } from "../../runtime/durable-file.ts";

export const KUBE_TLS_DIR = "kube-api";

const FILES = { caCert: "ca.crt", caKey: "ca.key", cert: "server.crt", key: "server.key" } as const;

/** Names every serving certificate covers besides the node's addresses. */
export const LOCAL_NAMES = [
  "127.0.0.1",
  "::1",
  "localhost",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
];

const DAY_MS = 24 * 3600_000;
const CA_RENEW_BEFORE_MS = 365 * DAY_MS;
const CERT_RENEW_BEFORE_MS = NODE_VALIDITY_MS / 3;

/** What the listener serves with (PEM), and the CA workers and clients verify it with. */
export interface KubeTls {
  caPem: string;
  cert: string;
  key: string;
  /** When the serving certificate expires. */
  expiresAt: Date;
}

/** The directory of the agent's Kubernetes API TLS files. */
export function kubeTlsDir(dataDir: string): string {
  return join(dataDir, KUBE_TLS_DIR);
}

/**
 * The agent's Kubernetes API CA and serving certificate for `addresses` (the bind and advertise
 * addresses; wildcards are skipped), made or renewed as needed.
 */
export function loadOrCreateKubeTls(
  dataDir: string,
  node: string,
  addresses: readonly string[],
  now = new Date(),
): KubeTls {
  const ca = loadOrCreateKubeCa(dataDir, node, now);
  const dir = kubeTlsDir(dataDir);
  const names = [...new Set([...LOCAL_NAMES, ...addresses])];
  let pair = readPair(join(dir, FILES.cert), join(dir, FILES.key));
  if (!pair || servingProblem(pair, ca, names, now) !== undefined) {
    pair = issueNodeCertificate(ca, { node, addresses: names, now });
    writeAtomic(join(dir, FILES.key), pair.key, 0o600);
    writeAtomic(join(dir, FILES.cert), pair.cert, 0o644);
  }
  return {
    caPem: ca.cert,
    cert: pair.cert,
    key: pair.key,
    expiresAt: new Date(new X509Certificate(pair.cert).validTo),
  };
}

/** The agent's Kubernetes API CA (its certificate and key), made or renewed as needed. */
export function loadOrCreateKubeCa(dataDir: string, node: string, now = new Date()): KeyPair {
  const dir = kubeTlsDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const existing = readPair(join(dir, FILES.caCert), join(dir, FILES.caKey));
  if (existing && caProblem(existing, now) === undefined) return existing;
  const ca = createCa({ commonName: `levee Kubernetes API CA of ${node}`, now, validityMs: CA_VALIDITY_MS });
  // The key first: a crash in between leaves a pair that does not match, made again next time.
  writeAtomic(join(dir, FILES.caKey), ca.key, 0o600);
  writeAtomic(join(dir, FILES.caCert), ca.cert, 0o644);
  return ca;
}

/** Why a stored CA must be made again, or undefined. */
function caProblem(pair: KeyPair, now: Date): string | undefined {
  const cert = parse(pair.cert);
  if (!cert) return "not a certificate";
  if (!cert.ca) return "not a CA";
  if (!keyMatches(cert, pair.key)) return "the key does not belong to it";
  if (Date.parse(cert.validTo) - now.getTime() < CA_RENEW_BEFORE_MS) return "expires within a year";
  return undefined;
}

/** Why a stored serving certificate must be issued again, or undefined. */
export function servingProblem(
  pair: KeyPair,
  ca: KeyPair,
  names: readonly string[],
  now: Date,
): string | undefined {
  const cert = parse(pair.cert);
  const caCert = parse(ca.cert);
  if (!cert || !caCert) return "not a certificate";
  if (!keyMatches(cert, pair.key)) return "the key does not belong to it";
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return "not issued by the CA";
  if (Date.parse(cert.validTo) - now.getTime() < CERT_RENEW_BEFORE_MS) return "due for renewal";
  const covered = new Set((cert.subjectAltName ?? "").split(", "));
  for (const name of names) {
    if (name === "" || name === "0.0.0.0" || name === "::") continue;
    const entry = isIP(name) ? `IP Address:${canonicalIp(name)}` : `DNS:${name}`;
    if (!covered.has(entry)) return `does not cover ${name}`;
  }
  return undefined;
}

/** An IP as X509Certificate.subjectAltName writes it (IPv6 in full, upper-case hex groups). */
function canonicalIp(ip: string): string {
  if (isIP(ip) === 4) return ip;
  const bytes = ipBytes(ip);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":").toUpperCase();
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function readPair(certPath: string, keyPath: string): KeyPair | undefined {
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  chmodSync(keyPath, 0o600);
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

function writeAtomic(path: string, text: string, mode: number): void {
  writeFileDurably(path, text, { mode });
}
