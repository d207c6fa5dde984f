// GET /api/v1/plan-key: the public key the cloud signs plans with (plan-signing-key.ts), for a
// node that joined before plans were signed and so did not get it in its join answer. Only a node
// (HTTP Basic with its MQTT credentials) or the admin may ask (`guard`): a node trusts the first
// key it gets over this authenticated route.
import type { Hono, MiddlewareHandler } from "hono";
import type { PlanKey } from "../../protocol/plan-signature.ts";
import type { PlanSigner } from "../plan-signing-key.ts";

export function mountPlanKeyRoute(api: Hono, signer: PlanSigner, guard: MiddlewareHandler): void {
  api.get("/plan-key", guard, (c) => c.json(signer.key satisfies PlanKey));
}
