// The relay's handshake: plain TCP lines on the cloud's tunnel port, before the relay splices raw
// bytes. Every leg proves which node opened it by signing a fresh nonce with its node key:
//
//   node  → relay  LEVEE-RELAY/1\n
//   relay → node   LEVEE-RELAY/1 challenge <nonce> <relay node>\n
//   node  → relay  offer <node> <cert> <signature>\n            (edge B: "a leg for streams to me")
//              or  dial <node> <target> <cert> <signature>\n   (A: "connect me to <target>")
//   relay → node   ok\n    or    error <reason>\n (and close)
//   relay → offer  go\n    (later, once: from here on the leg carries A's stream, raw)
//
// <cert> is the node certificate (DER, base64url); <signature> is ECDSA-SHA256 by the node key over
// the transcript "LEVEE-RELAY/1\n<relay>\n<nonce>\n<verb>\n<node>\n<target>". The relay checks the
// certificate against the cluster CA and the signature against the certificate; a replayed or
// forwarded signature fails on the nonce. Once spliced, the two legs carry one end-to-end mutual TLS
// session between A and B (A the client): the relay forwards TLS records it cannot read. Pure apart
// from signing and verifying.
import { createPrivateKey, randomBytes, sign, verify, X509Certificate } from "node:crypto";
import { isNodeName } from "../../protocol/topics.ts";
import { checkNodeCertificate } from "./node-tls.ts";
import { certificateFingerprint } from "./revocation.ts";

const RELAY_VERSION = 1;
export const RELAY_MAGIC = `LEVEE-RELAY/${RELAY_VERSION}`;
/** Header lines carry a certificate: well under this. */
export const RELAY_LINE_MAX_BYTES = 8192;

const B64 = /^[A-Za-z0-9_-]+$/;

export const helloLine = (): string => `${RELAY_MAGIC}\n`;

export const newNonce = (): string => randomBytes(32).toString("base64url");

export const challengeLine = (nonce: string, relay: string): string =>
  `${RELAY_MAGIC} challenge ${nonce} ${relay}\n`;

export function parseChallenge(line: string): { nonce: string; relay: string } | undefined {
  const [magic, word, nonce, relay, ...extra] = line.split(" ");
  if (magic !== RELAY_MAGIC || word !== "challenge" || extra.length > 0) return undefined;
  if (!nonce || !B64.test(nonce) || !relay || !isNodeName(relay)) return undefined;
  return { nonce, relay };
}

export type RelayRequest = { verb: "offer"; node: string } | { verb: "dial"; node: string; target: string };

function transcript(request: RelayRequest, nonce: string, relay: string): Buffer {
  const target = request.verb === "dial" ? request.target : "";
  return Buffer.from(`${RELAY_MAGIC}\n${relay}\n${nonce}\n${request.verb}\n${request.node}\n${target}`);
}

/** The signed offer/dial line. */
export function requestLine(
  request: RelayRequest,
  credentials: { cert: string; key: string },
  challenge: { nonce: string; relay: string },
): string {
  const der = Buffer.from(new X509Certificate(credentials.cert).raw).toString("base64url");
  const signature = sign("sha256", transcript(request, challenge.nonce, challenge.relay), {
    key: createPrivateKey(credentials.key),
    dsaEncoding: "der",
  }).toString("base64url");
  const who = request.verb === "dial" ? `${request.node} ${request.target}` : request.node;
  return `${request.verb} ${who} ${der} ${signature}\n`;
}

export type VerifiedRequest =
  | { ok: true; request: RelayRequest /** The certificate's (revocation.ts). */; fingerprint: string }
  | { ok: false; reason: string };

/** Parses and authenticates an offer/dial line for the challenge this relay sent. */
export function verifyRequestLine(
  line: string,
  challenge: { nonce: string; relay: string },
  caPem: string,
  now = Date.now(),
): VerifiedRequest {
  const words = line.split(" ");
  const verb = words[0];
  let request: RelayRequest;
  let cert: string | undefined;
  let signature: string | undefined;
  if (verb === "offer" && words.length === 4) {
    request = { verb, node: words[1] ?? "" };
    [, , cert, signature] = words;
  } else if (verb === "dial" && words.length === 5) {
    request = { verb, node: words[1] ?? "", target: words[2] ?? "" };
    if (!isNodeName(request.target)) return { ok: false, reason: "malformed target node" };
    [, , , cert, signature] = words;
  } else {
    return { ok: false, reason: "expected an offer or dial line" };
  }
  if (!isNodeName(request.node)) return { ok: false, reason: "malformed node name" };
  if (!cert || !B64.test(cert) || !signature || !B64.test(signature))
    return { ok: false, reason: "malformed certificate or signature" };
  const checked = checkNodeCertificate(Buffer.from(cert, "base64url"), caPem, request.node, now);
  if (!checked.ok) return { ok: false, reason: checked.reason };
  const data = transcript(request, challenge.nonce, challenge.relay);
  let good = false;
  try {
    good = verify(
      "sha256",
      data,
      { key: checked.cert.publicKey, dsaEncoding: "der" },
      Buffer.from(signature, "base64url"),
    );
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: "signature does not verify" };
  return { ok: true, request, fingerprint: certificateFingerprint(checked.cert) };
}

export type RelayAnswer = { ok: true } | { ok: false; reason: string };

export const answerLine = (answer: RelayAnswer): string =>
  answer.ok ? "ok\n" : `error ${answer.reason.replace(/[\r\n]+/g, " ")}\n`;

export function parseAnswer(line: string): RelayAnswer {
  if (line === "ok") return { ok: true };
  if (line.startsWith("error ")) return { ok: false, reason: line.slice(6) };
  return { ok: false, reason: `unexpected answer from the relay: ${JSON.stringify(line.slice(0, 80))}` };
}

export const GO_LINE = "go\n";
