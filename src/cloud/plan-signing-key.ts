// The cloud's plan-signing key: Ed25519, made at the cloud's first start and kept in its data dir
// as plan-signing.key (mode 0600). Every plan message carries its signature (plan-signature.ts),
// and nodes learn its public key at join (or once, over their authenticated route, GET
// /api/v1/plan-key). A key of its own rather than the mesh CA's: the CA key signs certificates,
// and a signature over plan bytes with it could be mistaken for one over a certificate's (and
// the reverse); its own file also lets either be restored or replaced without the other.
// Losing the file means a new key, which every joined node refuses (until it fetches it again).
// It also signs the levee binaries of agent upgrades (src/protocol/upgrade.ts: a statement of
// another shape, so neither signature can pass for the other).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type PlanKey,
  type PlanSignature,
  planKeyId,
  type SignedPlanFields,
  signPlan,
} from "../protocol/plan-signature.ts";
import { type BinaryStatement, signBinary } from "../protocol/upgrade.ts";
import { describeError, RefusalError } from "../runtime/errors.ts";
import { describeFsError } from "../runtime/fs-errors.ts";

export const PLAN_KEY_FILE = "plan-signing.key";

export interface PlanSigner {
  /** The public half, as nodes keep it. */
  readonly key: PlanKey;
  sign(fields: SignedPlanFields): PlanSignature;
  /** base64 of the signature of an upgrade binary's statement. */
  signBinary(statement: BinaryStatement): string;
}

/** A signer over a private key in memory (tests; loadOrCreatePlanSigner adds the file). */
export function planSigner(privateKey: KeyObject): PlanSigner {
  const publicKey = createPublicKey(privateKey);
  const keyId = planKeyId(publicKey);
  return {
    key: { publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(), keyId },
    sign: (fields) => signPlan(privateKey, keyId, fields),
    signBinary: (statement) => signBinary(privateKey, statement),
  };
}

/** Loads the key from the data dir, or makes it there when there is none. */
export function loadOrCreatePlanSigner(dataDir: string): PlanSigner {
  const path = join(dataDir, PLAN_KEY_FILE);
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(`${path}.tmp`, pem, { mode: 0o600 });
    chmodSync(`${path}.tmp`, 0o600);
    renameSync(`${path}.tmp`, path);
    return planSigner(privateKey);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
    chmodSync(path, 0o600);
  } catch (err) {
    throw new RefusalError(`cannot read the plan-signing key ${path}: ${describeFsError(err)}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new RefusalError(`the plan-signing key ${path} is not a PEM private key (${describeError(err)})`);
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new RefusalError(`the plan-signing key ${path} is not an Ed25519 key (${key.asymmetricKeyType})`);
  return planSigner(key);
}
