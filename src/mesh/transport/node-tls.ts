// A node's TLS identity (its certificate, key and the cluster CA) and what the mesh derives from it:
// the TLS options of the tunnel's server and client sides, and the node name a verified peer
// certificate names. The name of a peer always comes from its certificate (the DNS SAN
// `<node>.node.levee`), never from anything the peer says.
import { X509Certificate } from "node:crypto";
import type { Socket, TLSOptions } from "bun";
import { isNodeName } from "../../protocol/topics.ts";
import { NODE_DNS_SUFFIX, nodeDnsName } from "./certificates.ts";
import { certificateFingerprint } from "./revocation.ts";

/** What a node needs to speak mutual TLS in the mesh (all PEM). */
export interface NodeTls {
  /** The node name its certificate names. */
  node: string;
  /** The cluster CA certificate: the only trust anchor of the mesh. */
  ca: string;
  cert: string;
  key: string;
}

/**
 * The node a certificate names (its one DNS SAN `<node>.node.levee`, the suffix stripped once: a
 * dotted node name `cloud.kubeedge` is `cloud.kubeedge.node.levee`), or undefined.
 */
export function nodeNameOf(cert: X509Certificate): string | undefined {
  const names = (cert.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("DNS:") && entry.endsWith(NODE_DNS_SUFFIX))
    .map((entry) => entry.slice(4, -NODE_DNS_SUFFIX.length));
  if (names.length !== 1 || !isNodeName(names[0] ?? "")) return undefined;
  return names[0];
}

export type CertificateCheck =
  | { ok: true; node: string; cert: X509Certificate }
  | { ok: false; reason: string };

/**
 * Checks a certificate outside TLS (the relay's authentication): signed by the CA, within its
 * validity, not a CA itself, naming one node. `expectNode` must then be that node.
 */
export function checkNodeCertificate(
  certDer: Uint8Array,
  caPem: string,
  expectNode: string,
  now = Date.now(),
): CertificateCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certDer);
  } catch {
    return { ok: false, reason: "not a certificate" };
  }
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    return { ok: false, reason: "certificate not issued by the cluster CA" };
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now)
    return { ok: false, reason: `certificate not valid now (${cert.validFrom} to ${cert.validTo})` };
  if (cert.ca) return { ok: false, reason: "a CA certificate is not a node certificate" };
  const node = nodeNameOf(cert);
  if (node === undefined) return { ok: false, reason: "certificate names no node" };
  if (node !== expectNode) return { ok: false, reason: `certificate is node ${node}'s, not ${expectNode}'s` };
  return { ok: true, node, cert };
}

/** Server side of the tunnel: present our certificate, require one from the CA. */
export function serverTlsOptions(tls: NodeTls): TLSOptions {
  return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true };
}

/** Client side: present our certificate, accept only `target`'s (name checked by the TLS stack too). */
export function clientTlsOptions(tls: NodeTls, target: string): TLSOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    serverName: nodeDnsName(target),
    rejectUnauthorized: true,
  };
}

/** A verified peer: the node its certificate names, and that certificate's fingerprint. */
export interface VerifiedPeer {
  node: string;
  fingerprint: string;
}

/** A TLS socket's peer once its certificate verified against the CA; else undefined. */
export function verifiedPeer(socket: Socket<unknown>): VerifiedPeer | undefined {
  if (!socket.authorized) return undefined;
  let cert: X509Certificate | undefined;
  try {
    cert = socket.getPeerX509Certificate();
  } catch {
    return undefined;
  }
  if (!cert || cert.ca) return undefined;
  const node = nodeNameOf(cert);
  return node === undefined ? undefined : { node, fingerprint: certificateFingerprint(cert) };
}
