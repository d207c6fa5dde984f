// The cluster CA of the mesh: made at the cloud's first start (EC P-256, 10 years) and kept in its
// data dir, mesh-ca.crt and mesh-ca.key (mode 0600). It signs each node's certificate, at join and
// when a node renews (routes-certificates.ts), for the node's own public key: node private keys
// never leave their nodes. A data dir with only one of the two files is refused: a new CA would
// silently cut every joined node off the mesh.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCa, type KeyPair, newNodeKey, signNodeCertificate } from "../mesh/transport/certificates.ts";
import { type NodeTls, nodeNameOf } from "../mesh/transport/node-tls.ts";
import { describeError, RefusalError } from "../runtime/errors.ts";
import { describeFsError } from "../runtime/fs-errors.ts";

export const CA_CERT_FILE = "mesh-ca.crt";
export const CA_KEY_FILE = "mesh-ca.key";

export interface NodeCa {
  /** The CA certificate (PEM) every node trusts. */
  readonly cert: string;
  readonly expiresAt: Date;
  /** A certificate for `node` (PEM) with its addresses, for its public key (PEM, EC P-256). */
  issue(node: string, addresses: string[], publicKeyPem: string): string;
}

function writeAtomic(path: string, text: string, mode: number): void {
  writeFileSync(`${path}.tmp`, text, { mode });
  chmodSync(`${path}.tmp`, mode);
  renameSync(`${path}.tmp`, path);
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new RefusalError(`cannot read the mesh CA file ${path}: ${describeFsError(err)}`);
  }
}

/** Loads the CA from the data dir, or creates it there when neither file exists. */
export function loadOrCreateNodeCa(dataDir: string, now = new Date()): NodeCa {
  const certPath = join(dataDir, CA_CERT_FILE);
  const keyPath = join(dataDir, CA_KEY_FILE);
  const hasCert = existsSync(certPath);
  const hasKey = existsSync(keyPath);
  let pair: KeyPair;
  if (!hasCert && !hasKey) {
    pair = createCa({ now });
    // The key first: a crash in between leaves a key without a certificate, refused below.
    writeAtomic(keyPath, pair.key, 0o600);
    writeAtomic(certPath, pair.cert, 0o644);
  } else if (hasCert && hasKey) {
    pair = { cert: read(certPath), key: read(keyPath) };
    chmodSync(keyPath, 0o600);
  } else {
    throw new RefusalError(
      `the mesh CA in ${dataDir} is incomplete (${hasCert ? CA_KEY_FILE : CA_CERT_FILE} is missing): restore it from a backup; deleting both files makes a new CA, after which every edge needs a new certificate`,
    );
  }
  const problem = caProblem(pair);
  if (problem) throw new RefusalError(`the mesh CA in ${dataDir} is unusable: ${problem}`);
  return nodeCa(pair);
}

/** A NodeCa over a key pair in memory (tests; the files are what loadOrCreateNodeCa adds). */
export function nodeCa(pair: KeyPair): NodeCa {
  const cert = new X509Certificate(pair.cert);
  return {
    cert: pair.cert,
    expiresAt: new Date(cert.validTo),
    issue: (node, addresses, publicKeyPem) => signNodeCertificate(pair, publicKeyPem, { node, addresses }),
  };
}

function caProblem(pair: KeyPair): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (err) {
    return `${CA_CERT_FILE} is not a PEM certificate (${describeError(err)})`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.key)))
      return `${CA_KEY_FILE} does not belong to ${CA_CERT_FILE}`;
  } catch (err) {
    return `${CA_KEY_FILE} is not a PEM private key (${describeError(err)})`;
  }
  if (!cert.ca) return `${CA_CERT_FILE} is not a CA certificate`;
  return undefined;
}

/** The cloud's own mesh credentials: a fresh key, signed here (the cloud is a node too). */
export function issueOwnMeshTls(ca: NodeCa, node: string, addresses: string[]): NodeTls {
  const { key, publicKey } = newNodeKey();
  return { node, ca: ca.cert, cert: ca.issue(node, addresses, publicKey), key };
}

/** Whether stored credentials are `node`'s and were issued by this CA (files replaced: not). */
export function ownedBy(ca: NodeCa, node: string, tls: NodeTls): boolean {
  try {
    const cert = new X509Certificate(tls.cert);
    return (
      nodeNameOf(cert) === node && tls.ca === ca.cert && cert.verify(new X509Certificate(ca.cert).publicKey)
    );
  } catch {
    return false;
  }
}
