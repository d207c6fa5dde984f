// Node certificates of the mesh: a cluster CA (EC P-256, self-signed) and the certificate it
// issues each node, used for mutual TLS between agents.
//
// Profile of a node certificate: subject O=levee, CN=<node>; subjectAltName DNS:<node>.node.levee
// (the identity every peer checks) plus the node's addresses (IP or DNS entries, informational);
// extendedKeyUsage serverAuth + clientAuth (the same certificate serves and dials); keyUsage
// digitalSignature; basicConstraints CA:FALSE. Validity starts a day back (edge clocks drift).
//
// node:crypto makes keys and signatures and parses certificates, but cannot build one: the
// TBSCertificate is encoded here with der.ts (a fixed template of a few dozen lines, instead of a
// dependency tree of ASN.1 schema libraries). Pure apart from key generation and randomness.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import { isIP } from "node:net";
import { describeError } from "../../runtime/errors.ts";
import {
  bitString,
  boolean,
  children,
  type Der,
  explicit,
  implicit,
  octetString,
  oid,
  readElement,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.ts";

/** The DNS name in a node certificate that names the node: `<node>.node.levee`. */
export const NODE_DNS_SUFFIX = ".node.levee";
export const nodeDnsName = (node: string): string => `${node}${NODE_DNS_SUFFIX}`;

const DAY_MS = 24 * 3600_000;
export const CA_VALIDITY_MS = 3650 * DAY_MS;
export const NODE_VALIDITY_MS = 365 * DAY_MS;
/** notBefore lies this far in the past, so that a peer whose clock is behind accepts it. */
const BACKDATE_MS = DAY_MS;

/** A certificate with its private key, both PEM (the key PKCS#8). */
export interface KeyPair {
  cert: string;
  key: string;
}

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const SIGNATURE_ALGORITHM = sequence(oid(OID.ecdsaWithSha256));

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

function name(commonName: string): Der {
  return sequence(
    set(sequence(oid(OID.organization), utf8String("levee"))),
    set(sequence(oid(OID.commonName), utf8String(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Der): Der {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKey: KeyObject): Uint8Array {
  const spki = publicKey.export({ type: "spki", format: "der" });
  const [, bits] = children(readElement(spki).content);
  if (bits?.tag !== 0x03) throw new Error("unexpected SubjectPublicKeyInfo");
  return createHash("sha1").update(bits.content.subarray(1)).digest();
}

/** IPv4 or IPv6 text → its 4 or 16 bytes. */
export function ipBytes(address: string): Uint8Array {
  const kind = isIP(address);
  if (kind === 4) return Uint8Array.from(address.split(".").map(Number));
  if (kind !== 6) throw new Error(`not an IP address: ${address}`);
  let text = address.replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split(".").map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/**
 * The SAN entries: the node's DNS name first, then each address (unspecified ones skipped, and any
 * under `.node.levee`: an address must never name a node, or a node could claim another's name).
 */
function subjectAltNames(node: string, addresses: string[]): Der {
  const ia5 = (text: string) => new TextEncoder().encode(text);
  const entries: Der[] = [implicit(2, ia5(nodeDnsName(node)))];
  const seen = new Set<string>();
  for (const address of addresses) {
    if (seen.has(address) || address === "0.0.0.0" || address === "::" || address === "") continue;
    if (`.${address.toLowerCase()}`.endsWith(NODE_DNS_SUFFIX)) continue;
    seen.add(address);
    if (isIP(address)) entries.push(implicit(7, ipBytes(address)));
    else if (/^[A-Za-z0-9.-]+$/.test(address)) entries.push(implicit(2, ia5(address)));
  }
  return sequence(...entries);
}

interface TbsOptions {
  subject: Der;
  issuer: Der;
  publicKey: KeyObject;
  issuerKeyId: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Der[];
}

function certificate(tbsOptions: TbsOptions, signingKey: KeyObject): string {
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const spki = new Uint8Array(tbsOptions.publicKey.export({ type: "spki", format: "der" }));
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    SIGNATURE_ALGORITHM,
    tbsOptions.issuer,
    sequence(time(tbsOptions.notBefore), time(tbsOptions.notAfter)),
    tbsOptions.subject,
    spki,
    explicit(
      3,
      sequence(
        ...tbsOptions.extensions,
        extension(OID.subjectKeyId, false, octetString(keyIdentifier(tbsOptions.publicKey))),
        extension(OID.authorityKeyId, false, sequence(implicit(0, tbsOptions.issuerKeyId))),
      ),
    ),
  );
  const signature = sign("sha256", tbs, { key: signingKey, dsaEncoding: "der" });
  const der = sequence(tbs, SIGNATURE_ALGORITHM, bitString(signature));
  return toPem("CERTIFICATE", der);
}

function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

function validity(now: Date, ms: number): { notBefore: Date; notAfter: Date } {
  const start = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(start - BACKDATE_MS), notAfter: new Date(start + ms) };
}

/** A new cluster CA (self-signed, may sign node certificates only: pathLen 0). */
export function createCa(options: { commonName?: string; now?: Date; validityMs?: number } = {}): KeyPair {
  const { privateKey, publicKey } = newKey();
  const subject = name(options.commonName ?? "levee cluster CA");
  const keyId = keyIdentifier(publicKey);
  const cert = certificate(
    {
      subject,
      issuer: subject,
      publicKey,
      issuerKeyId: keyId,
      ...validity(options.now ?? new Date(), options.validityMs ?? CA_VALIDITY_MS),
      extensions: [
        extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
        // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000011x, one unused bit.
        extension(OID.keyUsage, true, bitString(Uint8Array.of(0x06), 1)),
      ],
    },
    privateKey,
  );
  return { cert, key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

/** The raw Name of a certificate's subject (to use as the issuer of what it signs). */
function subjectOf(certPem: string): Der {
  const der = new Uint8Array(new X509Certificate(certPem).raw);
  const [tbs] = children(readElement(der).content);
  if (!tbs) throw new Error("not a certificate");
  const fields = children(tbs.content);
  // version [0], serial, signature, issuer, validity, subject
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (subject?.tag !== 0x30) throw new Error("certificate without a subject");
  return subject.raw;
}

export interface IssueOptions {
  node: string;
  addresses: string[];
  now?: Date;
  validityMs?: number;
}

/** The CA-signed certificate (PEM) for a node's public key (PEM or KeyObject; EC P-256 expected). */
export function signNodeCertificate(
  ca: KeyPair,
  publicKey: string | KeyObject,
  options: IssueOptions,
): string {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  const problem = publicKeyProblem(key);
  if (problem) throw new Error(problem);
  const caKey = createPrivateKey(ca.key);
  return certificate(
    {
      subject: name(options.node),
      issuer: subjectOf(ca.cert),
      publicKey: key,
      issuerKeyId: keyIdentifier(createPublicKey(caKey)),
      ...validity(options.now ?? new Date(), options.validityMs ?? NODE_VALIDITY_MS),
      extensions: [
        extension(OID.basicConstraints, true, sequence()),
        // digitalSignature (bit 0): 0b1xxxxxxx, seven unused bits.
        extension(OID.keyUsage, true, bitString(Uint8Array.of(0x80), 7)),
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth))),
        extension(OID.subjectAltName, false, subjectAltNames(options.node, options.addresses)),
      ],
    },
    caKey,
  );
}

/** Why a public key cannot be a node key (only EC P-256 is accepted), or undefined. */
function publicKeyProblem(key: KeyObject): string | undefined {
  if (key.type !== "public") return "expected a public key";
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    return `expected an EC P-256 public key, got ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`.trim();
  return undefined;
}

/** Why a PEM text cannot be a node's public key, or undefined. */
export function nodePublicKeyProblem(pem: string): string | undefined {
  try {
    return publicKeyProblem(createPublicKey(pem));
  } catch (err) {
    return `not a PEM public key (${describeError(err).split("\n")[0]})`;
  }
}

/** A fresh node key pair (EC P-256): the private key as PKCS#8 PEM, the public key as SPKI PEM. */
export function newNodeKey(): { key: string; publicKey: string } {
  const { privateKey, publicKey } = newKey();
  return {
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** A fresh key and the CA-signed certificate for a node (the cloud's own, and tests). */
export function issueNodeCertificate(ca: KeyPair, options: IssueOptions): KeyPair {
  const { key, publicKey } = newNodeKey();
  return { cert: signNodeCertificate(ca, publicKey, options), key };
}
