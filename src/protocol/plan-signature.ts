// Plans signed by the cloud and verified by the node (docs/PROTOCOL.md, "Plan signature"): so that
// the broker, or anything else between the cloud and a node, cannot change what a node runs. The
// cloud signs, with its plan-signing key (Ed25519), the canonical JSON of what the node stores and
// runs: {node, epoch, revision, hash, format, plan}. The node's name is signed, so a plan for one
// node cannot be replayed to another; the epoch and revision are, so an old plan cannot be passed
// off as a newer one. Pure: key material in, bytes and verdicts out.
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { canonicalJson } from "../manifest/canonical.ts";

/** What a plan signature covers: the plan message's fields a node stores and acts on. */
export interface SignedPlanFields {
  node: string;
  epoch: string;
  revision: number;
  hash: string;
  /** Absent in a message: 1 (messages.ts). */
  format?: number | undefined;
  plan: Record<string, unknown>;
}

export interface PlanSignature {
  /** base64 of the Ed25519 signature of signedPlanBytes. */
  signature: string;
  /** Which key made it (planKeyId). */
  keyId: string;
}

/** The public key every node verifies plans with, as the join answer and GET /plan-key carry it. */
export interface PlanKey {
  /** SPKI PEM, Ed25519. */
  publicKey: string;
  keyId: string;
}

/** The longest signature and key id a plan message may carry (messages.ts bounds them). */
export const MAX_SIGNATURE_CHARS = 256;
export const MAX_KEY_ID_CHARS = 64;

/** The exact bytes signed: canonical JSON (sorted keys), the format spelled out (absent: 1). */
export function signedPlanBytes(fields: SignedPlanFields): Buffer {
  const { node, epoch, revision, hash, plan } = fields;
  return Buffer.from(
    canonicalJson({ node, epoch, revision, hash, format: fields.format ?? 1, plan }),
    "utf8",
  );
}

/** A short name for a public key: the first 16 bytes of the sha256 of its DER, base64url. */
export function planKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest().subarray(0, 16).toString("base64url");
}

export function signPlan(privateKey: KeyObject, keyId: string, fields: SignedPlanFields): PlanSignature {
  return { signature: sign(null, signedPlanBytes(fields), privateKey).toString("base64"), keyId };
}

/** Why a public key (PEM) cannot verify plans, or undefined when it can. */
export function planKeyProblem(pem: string): string | undefined {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === "ed25519" ? undefined : `not an Ed25519 key (${key.asymmetricKeyType})`;
  } catch (err) {
    return `not a PEM public key (${err instanceof Error ? err.message : String(err)})`;
  }
}

/**
 * Checks a plan message's signature with the key the node trusts: undefined when valid, else why
 * not (for the log line and the refusal the cloud records).
 */
export function planSignatureProblem(
  key: PlanKey,
  fields: SignedPlanFields,
  sig: Partial<PlanSignature>,
): string | undefined {
  if (!sig.signature) return "the plan is not signed";
  if (sig.keyId !== key.keyId)
    return `the plan is signed with key ${JSON.stringify(sig.keyId ?? null)}, not the cloud's key ${key.keyId}`;
  const ok = signatureVerifies(key, signedPlanBytes(fields), sig.signature);
  return ok ? undefined : "the plan's signature does not match its content (changed on the way?)";
}

/** Whether `signature` (base64) is the key's Ed25519 signature of `bytes`; false for garbage. */
export function signatureVerifies(key: PlanKey, bytes: Buffer, signature: string): boolean {
  try {
    return verify(null, bytes, createPublicKey(key.publicKey), Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}
