// The cloud's plan-signing public key as this node keeps it (meta plan-key, plan-key-id): from the
// join answer, or, for a node that joined before plans were signed, fetched once from the cloud's
// API with the node's own credentials (src/edge/plan-key-fetch.ts); the cloud's own node is given
// it directly. Once a key is kept, every plan must carry a valid signature by it
// (handlers/plan.ts). Trust on first use over an authenticated channel: a key is never replaced
// by a later answer, only by a new join.
import { type PlanKey, planKeyProblem } from "../protocol/plan-signature.ts";
import type { Store } from "../store/store.ts";

const PEM_KEY = "plan-key";
const ID_KEY = "plan-key-id";

export function storedPlanKey(store: Store): PlanKey | undefined {
  const publicKey = store.getMeta(PEM_KEY);
  const keyId = store.getMeta(ID_KEY);
  return publicKey && keyId ? { publicKey, keyId } : undefined;
}

/** Keeps `key`; throws when it is not an Ed25519 public key (a bad answer is never kept). */
export function savePlanKey(store: Store, key: PlanKey): void {
  const problem = planKeyProblem(key.publicKey);
  if (problem) throw new Error(`the cloud's plan key: ${problem}`);
  if (!key.keyId || key.keyId.length > 64)
    throw new Error("the cloud's plan key: keyId: must be 1 to 64 characters");
  store.tx(() => {
    store.setMeta(PEM_KEY, key.publicKey);
    store.setMeta(ID_KEY, key.keyId);
  });
}

/** A plan key as an answer (the join's, GET /plan-key) carries it, or undefined when it is not one. */
export function planKeyOf(value: unknown): PlanKey | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { publicKey, keyId } = value as { publicKey?: unknown; keyId?: unknown };
  if (typeof publicKey !== "string" || typeof keyId !== "string") return undefined;
  return { publicKey, keyId };
}
