// For an edge that joined before plans were signed: GET /api/v1/plan-key with its own credentials
// (HTTP Basic: its MQTT username and password), once, retried with backoff until the cloud
// answers, then kept (src/node/plan-key.ts). Until then its plans are taken unverified, as before.

import type { NodeIdentity } from "../node/identity.ts";
import { planKeyOf, savePlanKey, storedPlanKey } from "../node/plan-key.ts";
import { type PlanKey, planKeyProblem } from "../protocol/plan-signature.ts";
import { Backoff } from "../runtime/backoff.ts";
import { readJsonAnswer } from "../runtime/bounded-read.ts";
import { describeError } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import type { Store } from "../store/store.ts";

/** One attempt: the key, or throws why not. */
export async function fetchPlanKey(
  cloudUrl: string,
  identity: NodeIdentity,
  fetcher: typeof fetch = fetch,
): Promise<PlanKey> {
  const authorization = `Basic ${Buffer.from(`${identity.username}:${identity.password}`).toString("base64")}`;
  const res = await fetcher(new URL("/api/v1/plan-key", cloudUrl), {
    headers: { authorization },
    signal: AbortSignal.timeout(10_000),
  });
  const answer = await readJsonAnswer(res, "the cloud's plan key");
  if (!res.ok)
    throw new Error(`HTTP ${res.status} ${typeof answer.error === "string" ? answer.error : ""}`.trim());
  const key = planKeyOf(answer);
  const problem = key ? planKeyProblem(key.publicKey) : "publicKey and keyId: required";
  if (!key || problem) throw new Error(`not a plan key: ${problem}`);
  return key;
}

/** Fetches and keeps the key when none is kept; stops when `stopped()` says so. */
export async function ensurePlanKey(options: {
  store: Store;
  cloudUrl: string;
  identity: NodeIdentity;
  log: Logger;
  stopped: () => boolean;
  backoff?: Backoff;
  fetch?: typeof fetch;
}): Promise<void> {
  const { store, log } = options;
  const backoff = options.backoff ?? new Backoff();
  while (!options.stopped() && !storedPlanKey(store)) {
    try {
      const key = await fetchPlanKey(options.cloudUrl, options.identity, options.fetch);
      savePlanKey(store, key);
      log.info("kept the cloud's plan-signing key: plans are verified from now on", { keyId: key.keyId });
      return;
    } catch (err) {
      const delay = backoff.next();
      log.warn("cannot fetch the cloud's plan-signing key yet", {
        error: describeError(err),
        retryMs: delay,
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
