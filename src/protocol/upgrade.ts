// Agent upgrades over the sync protocol (docs/PROTOCOL.md, "Upgrade"): the cloud's order to a node
// (`upgrade`, on its down topic) and the node's progress (`upgrade-report`, on its up topic), and
// the statement the cloud signs for each binary with its plan-signing key (Ed25519), so that a
// node runs only a binary the cloud vouched for: {kind, target, version, sha256, size}. The kind
// keeps a binary's signature from ever verifying as a plan's (a plan's signed bytes have no kind)
// and the other way round. Pure: key material in, bytes and verdicts out.
import { type KeyObject, sign } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../manifest/canonical.ts";
import { MAX_KEY_ID_CHARS, MAX_SIGNATURE_CHARS, type PlanKey, signatureVerifies } from "./plan-signature.ts";

/** The order's format; a node refuses (and reports) an order of another. */
export const UPGRADE_FORMAT = 1;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Binaries an order may carry (one per build target). */
export const MAX_UPGRADE_BINARIES = 16;

/** What a node itself reports. */
export const REPORTED_STATES = [
  "downloading",
  "swapping",
  "waiting-for-health",
  "done",
  "rolled-back",
  "failed",
] as const;
/**
 * Every state of a node in a rollout: the cloud's own (before the node answers; `skipped`: the node
 * was deleted and left the rollout), then the reported.
 */
export const UPGRADE_STATES = ["pending", "offline", "ordered", "skipped", ...REPORTED_STATES] as const;
export type UpgradeState = (typeof UPGRADE_STATES)[number];
export type ReportedState = (typeof REPORTED_STATES)[number];

const version = z.string().min(1).max(64);
const target = z.string().regex(/^[a-z0-9-]{1,40}$/, "expected a build target such as linux-x64");

export const upgradeBinarySchema = z.object({
  target,
  sha256: z.string().regex(SHA256_HEX, "expected 64 lower-case hex digits"),
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** base64 of the Ed25519 signature of binaryStatementBytes. */
  signature: z.string().max(MAX_SIGNATURE_CHARS),
});
export type UpgradeBinary = z.infer<typeof upgradeBinarySchema>;

export const upgradeBody = {
  type: z.literal("upgrade"),
  format: z.literal(UPGRADE_FORMAT),
  rollout: z.string().min(1).max(64),
  version,
  allowDowngrade: z.boolean(),
  /** How long the new agent has to become Ready with every worker adopted. */
  timeoutSeconds: z.number().int().min(5).max(3600),
  keyId: z.string().max(MAX_KEY_ID_CHARS),
  binaries: z.array(upgradeBinarySchema).min(1).max(MAX_UPGRADE_BINARIES),
};

export const upgradeReportBody = {
  type: z.literal("upgrade-report"),
  rollout: z.string().min(1).max(64),
  state: z.enum(REPORTED_STATES),
  /** The version it runs now, and the one it was asked for. */
  from: z.string().max(64),
  to: z.string().max(64),
  reason: z.string().max(1024),
};

/** What the cloud signs for one binary. */
export interface BinaryStatement {
  target: string;
  version: string;
  sha256: string;
  size: number;
}

export function binaryStatementBytes(s: BinaryStatement): Buffer {
  const { target, version, sha256, size } = s;
  return Buffer.from(canonicalJson({ kind: "levee-binary", target, version, sha256, size }), "utf8");
}

export function signBinary(privateKey: KeyObject, s: BinaryStatement): string {
  return sign(null, binaryStatementBytes(s), privateKey).toString("base64");
}

/** Why the binary's signature does not hold under the node's key, or undefined when it does. */
export function binarySignatureProblem(
  key: PlanKey,
  keyId: string,
  s: BinaryStatement,
  signature: string,
): string | undefined {
  if (keyId !== key.keyId)
    return `the binary is signed with key ${JSON.stringify(keyId)}, not the cloud's key ${key.keyId}`;
  const ok = signatureVerifies(key, binaryStatementBytes(s), signature);
  return ok
    ? undefined
    : `the signature of the ${s.target} binary ${s.version} does not match (changed on the way?)`;
}

/**
 * Compares two versions `MAJOR.MINOR.PATCH[-PRE]`: negative when a is older, 0 when the same,
 * positive when newer; a pre-release is older than its release. Undefined when either is not one.
 */
export function compareVersions(a: string, b: string): number | undefined {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return undefined;
  for (let i = 0; i < 3; i++) {
    const d = (pa.core[i] ?? 0) - (pb.core[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === "") return 1;
  if (pb.pre === "") return -1;
  return pa.pre < pb.pre ? -1 : 1;
}

function parseVersion(v: string): { core: number[]; pre: string } | undefined {
  const m = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? "" };
}
