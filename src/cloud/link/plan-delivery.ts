// Sending a node its plan: read from the plans table and published, remembered as sent (when, by
// the cloud's clock) so a hello or heartbeat can tell a plan on its way from a lost one. Called
// while a batch is open, the send waits for the commit and happens once per node per batch, so
// what goes out is the plan as committed. With a signer, each plan message carries the cloud's
// signature of what the node will store (plan-signature.ts), made for that node. To a node that
// reads packed plans it goes in the smallest form (plan-packing.ts): deflated, or a delta against
// the plan the node acknowledged last, whose signature is still over the whole plan; lean (without
// node, id and ts: encodeMessage's lean form) to a node whose hello says it reads that.
import { PLAN_FORMAT } from "../../manifest/plan.ts";
import { encodeMessage, newMessage } from "../../protocol/messages.ts";
import { packPlan } from "../../protocol/plan-packing.ts";
import type { PlanSignature, SignedPlanFields } from "../../protocol/plan-signature.ts";
import { downTopic } from "../../protocol/topics.ts";
import type { Logger } from "../../runtime/log.ts";
import type { CloudLinkState } from "./cloud-link-state.ts";
import type { SyncRecords } from "./sync-records.ts";

export interface PlanDeliveryDeps {
  state: CloudLinkState;
  records: Pick<SyncRecords, "readPlan">;
  /** The batch, if one is open: GroupCommit (group-commit.ts). */
  commit: { readonly open: boolean; laterOnce(key: string, action: () => void): void };
  /** Whether the session is connected and subscribed. */
  isReady(): boolean;
  publish(topic: string, payload: Buffer): boolean;
  now(): number;
  log: Logger;
  /** Signs each plan (plan-signing-key.ts); without it plans go out unsigned. */
  sign?: ((fields: SignedPlanFields) => PlanSignature) | undefined;
}

export interface PlanDelivery {
  /** Sends the node its plan now, or after the open batch's commit; false when it cannot. */
  publishPlan(node: string): boolean;
}

export function planDelivery(deps: PlanDeliveryDeps): PlanDelivery {
  const { state, records, commit, log } = deps;

  /** Reads the node's plan and sends it (after the commit: the plan as committed). */
  const deliver = (node: string): boolean => {
    const row = records.readPlan(node);
    if (!row) return false;
    let plan: Record<string, unknown>;
    try {
      plan = JSON.parse(row.plan) as Record<string, unknown>;
    } catch (err) {
      log.error("stored plan is not JSON", { node, revision: row.revision, error: err });
      return false;
    }
    const body = {
      type: "plan" as const,
      epoch: state.epoch,
      revision: row.revision,
      hash: row.hash,
      format: PLAN_FORMAT,
      plan,
    };
    const signature = deps.sign?.({ node, ...body });
    const full = { ...body, ...signature };
    const { body: out, form } = state.nodeReads(node, "packedPlans")
      ? packPlan(full, state.bases.get(node))
      : { body: full, form: "plain" as const };
    try {
      const lean = out.type === "plan-packed" && state.nodeReads(node, "leanPlans");
      if (!deps.publish(downTopic(node), encodeMessage(newMessage(node, out), lean))) return false;
    } catch (err) {
      log.error("cannot send sync message", { node, type: out.type, error: err });
      return false;
    }
    state.plansSent.inc(form);
    state.offered.set(node, { revision: row.revision, hash: row.hash, plan: row.plan });
    state.markSent(node, { revision: row.revision, hash: row.hash, atMs: deps.now() });
    log.debug("plan sent", { node, revision: row.revision, form });
    return true;
  };

  return {
    publishPlan(node) {
      if (!deps.isReady()) return false;
      if (!commit.open) return deliver(node);
      // One plan per node per batch, read after the commit.
      commit.laterOnce(`plan:${node}`, () => deliver(node));
      return true;
    },
  };
}
